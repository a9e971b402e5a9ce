"""Assembling and running the service: KB build (trained on first start), store, bus, server.

Embedded defaults: SQLite and the in-process bus. With ``DESKMATE_DATABASE_URL`` and
``DESKMATE_REDIS_URL`` the same service runs as one of several replicas on PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import time

from bot.actions import ActionRunner, InProcessActionRunner, RemoteActionRunner
from bot.bus.base import Bus, Signal
from bot.bus.inprocess import InProcessBus
from bot.bus.redis_bus import RedisBus
from bot.errors import ConfigError
from bot.generation import Generator, LocalSmolLM2Generator, OpenAICompatibleGenerator
from bot.ops.config import Settings
from bot.ops.metrics import Metrics, ObservedStore
from bot.service.accounts import Accounts
from bot.service.brain import Brain
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.service.reloader import SYSTEM_TOPIC, KBReloader
from bot.service.session_tokens import SessionSigner
from bot.storage.factory import open_stores
from bot.storage.reloads import ReloadAction, ReloadOutcome, ReloadRecord
from bot.web.limits import AddressLimits
from bot.web.server import DeskmateServer, bound_port
from kb.build import BuildInfo, build_kb, list_builds
from kb.loader import load_kb
from kb.versions import ActiveBuild, active_build_for, write_active
from retrieval.embedder import Embedder, MiniLMEmbedder

logger = logging.getLogger(__name__)


def prepare_build(settings: Settings, embedder: Embedder, *, progress: bool = True) -> BuildInfo:
    """The build to serve: the active one while the KB folder is unchanged, else the folder built now.

    A rollback made on a running service thus survives a restart, until the KB files change.
    """
    print(f"Preparing the knowledge base {settings.kb_path} ...", file=sys.stderr, flush=True)
    kb = load_kb(settings.kb_path)
    source_hash = kb.content_hash()
    info = active_build_for(settings.builds, source_hash)
    if info is None:
        if all(build.training_hash != kb.training_hash() for build in list_builds(settings.builds)):
            print(
                "First start with these intents: training the intent model that tells them apart. It is done "
                "once; later starts reuse it (the progress below says how long is left).",
                file=sys.stderr,
                flush=True,
            )
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


def check_replica_settings(settings: Settings) -> None:
    """Settings that several replicas must share, checked before anything loads."""
    if settings.database_url and not settings.secret_key:
        raise ConfigError(
            "DESKMATE_DATABASE_URL is set but DESKMATE_SECRET_KEY is not: replicas sign customer sessions with "
            "one shared key; set it (32+ characters) to the same value on every replica"
        )
    if settings.redis_url and not settings.database_url:
        raise ConfigError(
            "DESKMATE_REDIS_URL is set without DESKMATE_DATABASE_URL: replicas must share one PostgreSQL "
            "database; set DESKMATE_DATABASE_URL too (or unset DESKMATE_REDIS_URL for a single server)"
        )


def resolve_secrets(settings: Settings) -> Settings:
    """The settings with the secrets kept in the data folder filled in, saying where each comes from.

    Replica settings are checked first: with ``DESKMATE_DATABASE_URL`` the session key must come from
    the environment. The secrets themselves are never logged.
    """
    check_replica_settings(settings)
    resolved = settings.with_stored_secrets()
    if settings.admin_token is None and resolved.admin_token is not None:
        logger.info(
            "admin sign-in uses the token kept in %s; `deskmate admin token` shows it", settings.admin_token_file
        )
    if settings.secret_key is None and resolved.secret_key is not None:
        logger.info(
            "customer sessions are signed with the key kept in %s (made on the first start, so returning "
            "customers keep their conversation across restarts); DESKMATE_SECRET_KEY overrides it",
            settings.secret_key_file,
        )
    return resolved


async def make_bus(settings: Settings) -> Bus:
    if settings.redis_url is None:
        return InProcessBus()
    bus = RedisBus(settings.redis_url)
    await bus.start()
    return bus


async def serve(settings: Settings) -> None:
    settings = resolve_secrets(settings)
    embedder = MiniLMEmbedder()
    info = await asyncio.to_thread(prepare_build, settings, embedder)
    generator = make_generator(settings)
    if isinstance(generator, LocalSmolLM2Generator):
        print("Loading the local generator (SmolLM2) ...", file=sys.stderr, flush=True)
        await asyncio.to_thread(generator.load)  # the first start converts the model (about 30 s)
    policy = dataclasses.replace(settings.policy, generate=generator is not None)
    # The models load in a thread (ONNX Runtime releases the interpreter) while the stores open
    # and the actions import: a start takes the longer of the two, not their sum.
    loading = asyncio.ensure_future(
        asyncio.to_thread(Brain.load, info, embedder, policy_config=policy, int8=settings.int8)
    )
    async with contextlib.AsyncExitStack() as resources:  # whatever opened is closed, however startup ends
        resources.push_async_callback(_settled, loading)
        stores = await open_stores(settings)
        resources.push_async_callback(stores.close)
        metrics = Metrics(build_id=info.id)
        store = ObservedStore(stores.store, metrics)  # counts what is stored: messages, replies, handoffs, latency
        accounts = Accounts(stores.accounts, session_hours=settings.session_hours)
        bus = await make_bus(settings)
        if isinstance(bus, RedisBus):
            resources.push_async_callback(bus.close)
        actions: ActionRunner
        if settings.action_server_url:
            actions = RemoteActionRunner(settings.action_server_url)
        else:
            actions = await asyncio.to_thread(InProcessActionRunner, settings.actions)
        resources.push_async_callback(actions.close)
        brain = await loading
        service = ChatService(
            store=store,
            bus=bus,
            brain=brain,
            actions=actions,
            generator=generator,
            signer=SessionSigner(settings.secret_key, lifetime_s=settings.customer_session_days * 86400),
        )
        resources.push_async_callback(service.close)
        # candidates are de-identified like the build being served, reloads included
        review = CandidateReview(stores.candidates, settings.kb_path, current=lambda: service.brain.deidentifier)
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
        following = asyncio.create_task(reloader.follow())  # builds other replicas activate
        resources.push_async_callback(_cancelled, following)
        if settings.redis_url is not None:  # a replica restarted on an edited KB: the others serve it too
            await bus.signal(SYSTEM_TOPIC, Signal("build_activated", {"build": info.id}))
        server_app = DeskmateServer(
            service,
            rate=settings.customer_rate,
            burst=settings.customer_burst,
            reloader=reloader,
            admin_token=settings.admin_token,
            accounts=accounts,
            review=review,
            insights=stores.insights,
            origins=settings.origins,
            address_limits=AddressLimits(
                max_connections=settings.max_connections_per_address,
                rate=settings.address_rate,
                burst=settings.address_burst,
            ),
            trust_proxy=settings.trust_proxy,
            metrics=metrics,
            metrics_token=settings.metrics_token,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with server_app.running(settings.host, settings.port) as server:
            port = bound_port(server)
            print(f"Deskmate is running: open http://{settings.host}:{port}/ (Ctrl+C to stop)", flush=True)
            if not await accounts.list():
                print("Agent console: add an agent with `deskmate users add NAME --role agent`, then open /console")
            else:
                print(f"Agent console: http://{settings.host}:{port}/console", flush=True)
            print(f"Admin: http://{settings.host}:{port}/admin", flush=True)
            if settings.admin_token is None:
                print(
                    "  sign in with an admin account (`deskmate users add NAME --role admin`), or run "
                    "`deskmate admin token` and restart for a token that scripts can use",
                    flush=True,
                )
            await stop.wait()
    logger.info("stopped")


async def _settled(future: asyncio.Future[Brain]) -> None:
    """Wait for a load still running when startup fails (its thread cannot be interrupted)."""
    with contextlib.suppress(Exception):
        await future


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
