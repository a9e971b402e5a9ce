"""Assembling and running the service: KB build (trained on first start), store, bus, server."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.brain import Brain
from bot.bus import InProcessBus
from bot.config import Settings
from bot.server import DeskmateServer, bound_port
from bot.service import ChatService
from bot.sqlite_store import SQLiteStore
from kb.build import BuildInfo, build_kb
from retrieval.embedder import Embedder, MiniLMEmbedder

logger = logging.getLogger(__name__)


def prepare_build(settings: Settings, embedder: Embedder, *, progress: bool = True) -> BuildInfo:
    """The build of the configured KB, trained now if it does not exist yet."""
    print(f"Preparing the knowledge base {settings.kb_path} ...", file=sys.stderr, flush=True)
    info = build_kb(settings.kb_path, settings.builds, embedder=embedder, progress=progress)
    print(f"Knowledge base ready: build {info.id}", file=sys.stderr, flush=True)
    return info


async def serve(settings: Settings) -> None:
    embedder = MiniLMEmbedder()
    info = await asyncio.to_thread(prepare_build, settings, embedder)
    brain = await asyncio.to_thread(Brain.load, info, embedder, policy_config=settings.policy, int8=settings.int8)
    store = await SQLiteStore(settings.database).open()
    service = ChatService(store=store, bus=InProcessBus(), brain=brain)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with DeskmateServer(service).running(settings.host, settings.port) as server:
            port = bound_port(server)
            print(f"Deskmate is running: open http://{settings.host}:{port}/ (Ctrl+C to stop)", flush=True)
            await stop.wait()
    finally:
        await service.close()
        await store.close()
        logger.info("stopped")
