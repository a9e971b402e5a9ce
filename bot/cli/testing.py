"""``deskmate test FILE...``: conversation tests played through the real chat service, in-process.

The files are read first (a bad one exits with 2 before any model loads); then the build is
found or made, the service assembled as ``deskmate serve`` does (minus the server, over an
in-memory store), and every conversation played in a fresh session. Exit code: 0 when every step
passed, 1 when any failed, 2 on a file or format error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.dialogue_tests import ConversationTest, load_tests, run_tests, text_report, write_json
from bot.dialogue_tests.kb_names import resolve_names
from bot.errors import BuildNotFoundError, ConversationFileError, KBValidationError
from bot.ops.logcontext import configure_cli_logging as _configure_logging

if TYPE_CHECKING:
    from bot.actions import ActionRunner
    from bot.ops.config import Settings
    from bot.service.brain import Brain
    from kb.build import BuildInfo
    from retrieval.embedder import Embedder

FILE_ERROR = 2


def add_commands(commands: Any) -> None:
    test = commands.add_parser(
        "test",
        help="play conversation tests (Deskmate's format or Rasa test stories) through the bot, in-process",
        description="Play each test conversation through the real chat service (no server) in a fresh session "
        "and check every step: the predicted intent, the replies (by response, custom action or form question), "
        "bot text, slots, the active form, handoffs. Prints each failing step, then a summary. Exits with 1 when "
        "any step failed, with 2 when a file is malformed (file:line and what to fix). See docs/testing.md.",
    )
    test.add_argument("files", nargs="+", type=Path, metavar="FILE", help="test files (.yml), or folders of them")
    source = test.add_mutually_exclusive_group()
    source.add_argument("--kb", type=Path, help="build this KB folder first (into --builds, else a temporary folder)")
    source.add_argument("--build", help="a KB build: its folder, or a build id in the builds folder")
    test.add_argument(
        "--builds", type=Path, help="builds folder (default: a temporary one with --kb, else ./var/builds)"
    )
    test.add_argument("--actions-url", help="a Rasa action server for custom actions (env DESKMATE_ACTION_SERVER_URL)")
    test.add_argument(
        "--actions-package", help="run the custom actions of this package in-process (default kb.demo.actions)"
    )
    test.add_argument("--out", type=Path, help="also write a JSON report of every conversation and step here")
    test.set_defaults(run=_test)


def _test(args: argparse.Namespace) -> int:
    from bot.ops.config import Settings
    from bot.service.brain import Brain
    from retrieval.embedder import MiniLMEmbedder

    _configure_logging("WARNING")
    try:
        tests = load_tests(args.files)
    except ConversationFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FILE_ERROR
    settings = Settings.from_env()
    embedder = MiniLMEmbedder()
    with contextlib.ExitStack() as stack:
        builds = args.builds
        if args.kb is not None and builds is None:
            builds = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deskmate-test-builds-")))
        try:
            info = find_or_build(settings, embedder, kb=args.kb, build=args.build, builds=builds)
        except (BuildNotFoundError, KBValidationError) as exc:  # nothing to test: not a failed step
            print(f"error: {exc}", file=sys.stderr)
            return FILE_ERROR
        print(f"Testing build {info.id} ({info.kb_name}): {len(tests)} conversations", file=sys.stderr, flush=True)
        policy = dataclasses.replace(settings.policy, generate=False)  # no generator: replies are reproducible
        brain = Brain.load(info, embedder, policy_config=policy, int8=settings.int8)
        url = args.actions_url or settings.action_server_url
        package = args.actions_package or (dataclasses.replace(settings, kb_path=args.kb) if args.kb else settings).actions
        return asyncio.run(_play(tests, brain, actions_url=url, actions_package=package, out=args.out))


def find_or_build(
    settings: Settings,
    embedder: Embedder,
    *,
    kb: Path | None = None,
    build: str | None = None,
    builds: Path | None = None,
) -> BuildInfo:
    """The build to test: ``build`` (a folder or an id), ``kb`` built now, else the served KB's build.

    Without either, the active build serves while the configured KB is unchanged, as on
    ``deskmate serve``; otherwise the KB is built (reusing an identical build) but not activated.
    """
    from kb.build import BuildInfo, build_kb, find_build
    from kb.loader import load_kb
    from kb.versions import active_build_for

    builds_dir = builds or settings.builds
    if build is not None:
        folder = Path(build)
        found = find_build(folder.parent, folder.name) if folder.is_dir() else find_build(builds_dir, build)
        if found is None and folder.is_dir():
            BuildInfo.read(folder)  # says what is missing when it is no build at all
            raise BuildNotFoundError(f"{folder} is a build of an older Deskmate; rebuild it with `deskmate kb build`")
        if found is None:
            raise BuildNotFoundError(
                f"no build {build!r} in {builds_dir}: pass a build folder or an id from `deskmate kb versions`"
            )
        return found
    if kb is not None:
        return build_kb(kb, builds_dir, embedder=embedder, progress=False)
    active = active_build_for(builds_dir, load_kb(settings.kb_path).content_hash())
    return active or build_kb(settings.kb_path, builds_dir, embedder=embedder, progress=False)


async def _play(
    tests: Sequence[ConversationTest], brain: Brain, *, actions_url: str | None, actions_package: str, out: Path | None
) -> int:
    from bot.actions import InProcessActionRunner, RemoteActionRunner

    actions: ActionRunner
    if actions_url:
        actions = RemoteActionRunner(actions_url)
    else:
        actions = await asyncio.to_thread(InProcessActionRunner, actions_package)
    try:
        return await play(tests, brain, actions=actions, out=out)
    finally:
        await actions.close()


async def play(
    tests: Sequence[ConversationTest], brain: Brain, *, actions: ActionRunner | None = None, out: Path | None = None
) -> int:
    """Play ``tests`` on ``brain``, print the report (and write ``out``); the exit code: 0 passed, 1 failed."""
    from bot.bus.inprocess import InProcessBus
    from bot.service.chat import ChatService
    from bot.storage.store import InMemoryStore

    result = await run_tests(
        resolve_names(tests, brain.kb),
        lambda: ChatService(store=InMemoryStore(), bus=InProcessBus(), brain=brain, actions=actions),
    )
    print(text_report(result))
    if out is not None:
        write_json(result, out, build=brain.build_id)
        print(f"report: {out}")
    return 0 if result.passed else 1


async def run_files(
    files: Sequence[Path], brain: Brain, *, actions: ActionRunner | None = None, out: Path | None = None
) -> int:
    """``deskmate test FILE...`` on an already loaded brain: 0 passed, 1 a step failed, 2 a file error."""
    try:
        tests = load_tests(files)
    except ConversationFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FILE_ERROR
    return await play(tests, brain, actions=actions, out=out)
