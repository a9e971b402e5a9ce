"""A Rasa project of our own, imported whole, keeps its behaviour: it answers every intent Rasa
answers, and its own test stories (tests/test_conversations.yml: two forms, a FormValidationAction
with required_slots and extract_<slot>, an action_ask_ action, retrieval intents, a stop story)
pass with `deskmate test`, its custom actions running on a real `python -m rasa_sdk` server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.actions import RemoteActionRunner
from bot.cli.testing import run_files
from bot.service.brain import Brain
from kb.build import build_kb
from kb.rasa.importer import import_rasa_project
from tests.bot.test_actions import free_port

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "rasa_helpdesk"
STORIES = PROJECT / "tests" / "test_conversations.yml"


@pytest.fixture(scope="module")
def helpdesk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project's own action server: ``python -m rasa_sdk --actions actions`` run in the project folder."""
    log = tmp_path_factory.mktemp("helpdesk_actions") / "stderr.log"
    port = free_port()
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=PROJECT,
            env={**os.environ, "SANIC_HOST": "127.0.0.1"},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the action server exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no action server on {url} after 60 s:\n{log.read_text()[-4000:]}"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> tuple[Any, Brain]:
    """The project imported with `deskmate kb import-rasa PROJECT_DIR`, built for real."""
    root = tmp_path_factory.mktemp("helpdesk")
    summary = import_rasa_project(PROJECT, root / "kb")
    build = build_kb(root / "kb", root / "builds", embedder=embedder, progress=False)
    return summary, Brain.load(build, embedder)


def test_every_intent_rasa_answers_is_answered(helpdesk: tuple[Any, Brain]) -> None:
    summary, brain = helpdesk
    assert summary.handoff == ()  # no rule or story of this project hands off
    for intent in brain.kb.intents:
        assert brain.kb.responses.get(intent.name) or intent.action or intent.form, intent.name
    assert set(brain.kb.forms) == {"password_reset_form", "ticket_form"}


async def test_its_own_test_stories_pass_on_its_action_server(
    helpdesk: tuple[Any, Brain], helpdesk_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, brain = helpdesk
    actions = RemoteActionRunner(helpdesk_server)
    try:
        code = await run_files([STORIES], brain, actions=actions)
    finally:
        await actions.close()
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "6 conversations" in printed and "0 failed" in printed
