"""Start the real server on a loopback port for tests, and a small JSON websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from websockets.asyncio.client import ClientConnection, connect

from bot.actions import ActionRunner, InProcessActionRunner
from bot.bus.inprocess import InProcessBus
from bot.generation import Generator
from bot.ops.metrics import Metrics, ObservedStore
from bot.service.accounts import Accounts
from bot.service.brain import Brain
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.service.reloader import KBReloader
from bot.service.session_tokens import SessionSigner
from bot.storage.accounts import InMemoryAccountStore, Role
from bot.storage.sqlite.insights import SQLiteInsights
from bot.storage.sqlite.store import SQLiteStore
from bot.web.limits import AddressLimits
from bot.web.server import DeskmateServer, bound_port
from retrieval.embedder import Embedder


@contextlib.asynccontextmanager
async def running_server(brain: Brain, db_path: Path, *, signer: SessionSigner | None = None) -> AsyncIterator[str]:
    """Yield the base URL ``127.0.0.1:PORT`` of a real server over a real SQLite file."""
    async with running_service(brain, db_path, signer=signer) as (base, _):
        yield base


@contextlib.asynccontextmanager
async def running_service(
    brain: Brain,
    db_path: Path,
    *,
    kb_path: Path | None = None,
    builds_dir: Path | None = None,
    embedder: Embedder | None = None,
    admin_token: str | None = None,
    accounts: Accounts | None = None,
    review: CandidateReview | None = None,
    actions: ActionRunner | None = None,
    generator: Generator | None = None,
    signer: SessionSigner | None = None,
    origins: frozenset[str] = frozenset(),
    address_limits: AddressLimits | None = None,
    metrics_token: str | None = None,
) -> AsyncIterator[tuple[str, ChatService]]:
    """A real server and its service; with ``kb_path`` it can reload that KB live (admin API).

    Custom actions run in-process from the demo's package unless ``actions`` says otherwise, as in
    the app (the demo's forms validate and end with them).
    """
    own_actions = actions is None
    if actions is None:
        actions = await asyncio.to_thread(InProcessActionRunner, "kb.demo.actions")
    metrics = Metrics(build_id=brain.build_id)
    store = ObservedStore(await SQLiteStore(db_path).open(), metrics)  # as the app does: /metrics counts
    insights = await SQLiteInsights(db_path).open()  # the admin's figures, from the same file
    service = ChatService(
        store=store, bus=InProcessBus(), brain=brain, actions=actions, generator=generator, signer=signer
    )
    reloader = None
    if kb_path is not None:
        assert builds_dir is not None and embedder is not None
        reloader = KBReloader(service, kb_path=kb_path, builds_dir=builds_dir, embedder=embedder)
    app = DeskmateServer(
        service,
        rate=50.0,
        burst=50,
        reloader=reloader,
        admin_token=admin_token,
        accounts=accounts,
        review=review,
        insights=insights,
        origins=origins,
        address_limits=address_limits or AddressLimits(max_connections=200, rate=500.0, burst=500),
        metrics=metrics,
        metrics_token=metrics_token,
    )
    try:
        async with app.running("127.0.0.1", 0) as server:
            yield f"127.0.0.1:{bound_port(server)}", service
    finally:
        await service.close()
        await insights.close()
        await store.close()
        if own_actions:
            await actions.close()


async def agent_accounts(password: str, **display_names: str) -> Accounts:
    """In-memory agent accounts (username=display name), hashed with cheap argon2 settings for speed."""
    accounts = Accounts(InMemoryAccountStore(), hasher=PasswordHasher(time_cost=1, memory_cost=8192))
    for username, display_name in display_names.items():
        await accounts.add(username, password, "agent", display_name)
    return accounts


async def staff_accounts(password: str) -> Accounts:
    """An agent (sam, "Sam") and an admin (ana, "Ana") with ``password``, cheap to hash."""
    accounts = await agent_accounts(password, sam="Sam")
    await accounts.add("ana", password, Role.ADMIN, "Ana")
    return accounts


class Client:
    """A customer over a real websocket: send frames, wait for frames of a given type."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, kind: str, *, timeout: float = 30.0) -> dict[str, Any]:
        """The next frame of type ``kind`` (frames of other types are kept in ``seen``)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame["type"] == kind:
                    return frame

    async def expect_where(self, kind: str, check: Any, *, timeout: float = 30.0) -> dict[str, Any]:
        """The next frame of type ``kind`` for which ``check(frame)`` is true."""
        async with asyncio.timeout(timeout):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame["type"] == kind and check(frame):
                    return frame

    async def say(self, message_id: str, text: str, **extra: Any) -> dict[str, Any]:
        """Send a message; return the bot's answer frame (reply, clarify or handoff) to it."""
        await self.send({"type": "message", "id": message_id, "text": text, **extra})
        async with asyncio.timeout(30.0):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame["type"] in ("reply", "clarify", "handoff") and frame.get("reply_to") == message_id:
                    return frame


@contextlib.asynccontextmanager
async def customer(base: str, session: str | None = None) -> AsyncIterator[tuple[Client, dict[str, Any]]]:
    async with connect(f"ws://{base}/ws/customer") as ws:
        client = Client(ws)
        await client.send({"type": "hello", "session": session})
        welcome = await client.expect("welcome")
        yield client, welcome


class AgentClient(Client):
    """An agent console over a real websocket."""

    async def act(self, kind: str, frame_id: str, conversation_id: str, **extra: Any) -> dict[str, Any]:
        """Send an action; return its ack or its error frame."""
        await self.send({"type": kind, "id": frame_id, "conversation_id": conversation_id, **extra})
        async with asyncio.timeout(30.0):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame["type"] in ("ack", "error") and (frame.get("id") == frame_id or frame.get("ref") == frame_id):
                    return frame


@contextlib.asynccontextmanager
async def agent(base: str, username: str, password: str) -> AsyncIterator[tuple[AgentClient, dict[str, Any]]]:
    async with connect(f"ws://{base}/ws/agent") as ws:
        client = AgentClient(ws)
        await client.send({"type": "login", "username": username, "password": password})
        authed = await client.expect("authed")
        yield client, authed
