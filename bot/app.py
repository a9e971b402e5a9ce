"""Assembling and running the service: KB build (trained on first start), store, bus, server."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import sys
import time

from bot.accounts import Accounts
from bot.actions import ActionRunner, InProcessActionRunner, RemoteActionRunner
from bot.brain import Brain
from bot.bus import InProcessBus
from bot.candidates import CandidateReview
from bot.config import Settings
from bot.errors import ConfigError
from bot.generation import Generator, LocalSmolLM2Generator, OpenAICompatibleGenerator
from bot.reloader import KBReloader
from bot.reloads import ReloadAction, ReloadOutcome, ReloadRecord
from bot.server import DeskmateServer, bound_port
from bot.service import ChatService
from bot.sqlite_accounts import SQLiteAccountStore
from bot.sqlite_candidates import SQLiteCandidateStore
from bot.sqlite_store import SQLiteStore
from kb.build import BuildInfo, build_kb
from kb.loader import load_kb
from kb.versions import ActiveBuild, active_build_for, write_active
from retrieval.embedder import Embedder, MiniLMEmbedder

logger = logging.getLogger(__name__)


def prepare_build(settings: Settings, embedder: Embedder, *, progress: bool = True) -> BuildInfo:
    """The build to serve: the active one while the KB folder is unchanged, else the folder built now.

    A rollback made on a running service thus survives a restart, until the KB files change.
    """
    print(f"Preparing the knowledge base {settings.kb_path} ...", file=sys.stderr, flush=True)
    source_hash = load_kb(settings.kb_path).content_hash()
    info = active_build_for(settings.builds, source_hash)
    if info is None:
        info = build_kb(settings.kb_path, settings.builds, embedder=embedder, progress=progress)
        write_active(settings.builds, ActiveBuild(info.id, source_hash))
    print(f"Knowledge base ready: build {info.id}", file=sys.stderr, flush=True)
    return info


def make_generator(settings: Settings) -> Generator | None:
    """The configured generator (docs/reply-policy.md), or None when generation is off."""
    if settings.generator == "openai":
        if not settings.llm_url or not settings.llm_model:
            raise ConfigError("DESKMATE_GENERATOR=openai needs DESKMATE_LLM_URL and DESKMATE_LLM_MODEL")
        return OpenAICompatibleGenerator(
            settings.llm_url, settings.llm_model, api_key=settings.llm_api_key, timeout=settings.generation_timeout
        )
    if settings.generator == "local":
        return LocalSmolLM2Generator(settings.data_dir / "models" / "smollm2", timeout=settings.generation_timeout)
    return None


async def serve(settings: Settings) -> None:
    embedder = MiniLMEmbedder()
    info = await asyncio.to_thread(prepare_build, settings, embedder)
    generator = make_generator(settings)
    if isinstance(generator, LocalSmolLM2Generator):
        print("Loading the local generator (SmolLM2) ...", file=sys.stderr, flush=True)
        await asyncio.to_thread(generator.load)  # the first start converts the model (about 30 s)
    policy = dataclasses.replace(settings.policy, generate=generator is not None)
    brain = await asyncio.to_thread(Brain.load, info, embedder, policy_config=policy, int8=settings.int8)
    store = await SQLiteStore(settings.database).open()
    account_store = await SQLiteAccountStore(settings.database).open()
    accounts = Accounts(account_store, session_hours=settings.session_hours)
    candidate_store = await SQLiteCandidateStore(settings.database).open()
    review = CandidateReview(candidate_store, settings.kb_path)
    actions: ActionRunner
    if settings.action_server_url:
        actions = RemoteActionRunner(settings.action_server_url)
    else:
        actions = await asyncio.to_thread(InProcessActionRunner, settings.actions_package)
    service = ChatService(
        store=store,
        bus=InProcessBus(),
        brain=brain,
        actions=actions,
        generator=generator,
    )
    await store.record_reload(
        ReloadRecord(time.time(), "startup", ReloadAction.START, ReloadOutcome.SERVING, info.id, info.content_hash)
    )
    reloader = KBReloader(
        service,
        kb_path=settings.kb_path,
        builds_dir=settings.builds,
        embedder=embedder,
        policy_config=policy,
        int8=settings.int8,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        server_app = DeskmateServer(
            service, reloader=reloader, admin_token=settings.admin_token, accounts=accounts, review=review
        )
        async with server_app.running(settings.host, settings.port) as server:
            port = bound_port(server)
            print(f"Deskmate is running: open http://{settings.host}:{port}/ (Ctrl+C to stop)", flush=True)
            if not await accounts.list():
                print("Agent console: add an agent with `deskmate users add NAME --role agent`, then open /console")
            else:
                print(f"Agent console: http://{settings.host}:{port}/console", flush=True)
            if settings.admin_token is None:
                print("Admin (KB reload) is off: set DESKMATE_ADMIN_TOKEN to turn it on.", flush=True)
            else:
                print(f"Admin: http://{settings.host}:{port}/admin", flush=True)
            await stop.wait()
    finally:
        await service.close()
        await actions.close()
        await account_store.close()
        await candidate_store.close()
        await store.close()
        logger.info("stopped")
