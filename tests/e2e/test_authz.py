"""Authorization over real websockets: every privileged frame is refused without valid credentials.

Fast (a cheap in-memory brain, no model, no browser). The frame lists are checked against the
servers' own lists, so a new agent or admin frame type without a refusal test fails here:

- ``/ws/agent``: every frame type is refused before a login or a valid session token, with a
  wrong password, an unknown user, a forged, logged-out or expired token, a customer's session
  token or the admin token; a refused frame changes nothing and reveals nothing.
- ``/ws/admin``: every admin frame type is refused without the admin token, with a wrong one or
  with an agent's session token or password; the connection is closed and nothing is done.
- ``/ws/customer``: a session token (from a welcome) is the only way into a conversation; a forged
  or altered one is refused with ``session_unknown``; frames carry no usable conversation id, and
  the agents' frames are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import bot.web.admin
from bot.core.events import StoredEvent
from bot.ops.config import DEMO_KB
from bot.service.accounts import Accounts
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.storage.accounts import InMemoryAccountStore
from bot.storage.candidates import CandidateStatus, InMemoryCandidateStore
from bot.web import agents as agent_server
from bot.web.admin import KINDS as ADMIN_KINDS
from bot.web.agents import ACTIONS, AgentConnection
from retrieval.embedder import HashingEmbedder
from tests.bot.service.test_brain import brain as cheap_brain
from tests.e2e.server import Client, customer, running_service

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "authz-admin-token-0123456789"
ASK_PERSON = "I want to talk to a real person"


class Clock:
    """The accounts' clock: a test moves it past a session's expiry."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Live:
    base: str
    service: ChatService
    accounts: Accounts
    clock: Clock
    review: CandidateReview
    kb: Path
    candidate: str  # a pending candidate's id
    waiting: str  # a conversation waiting for an agent
    waiting_token: str  # its customer's session token


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    kb = tmp_path_factory.mktemp("kb") / "kb"
    shutil.copytree(DEMO_KB, kb)
    clock = Clock()
    accounts = Accounts(InMemoryAccountStore(), hasher=PasswordHasher(time_cost=1, memory_cost=8192), clock=clock)
    await accounts.add("sam", PASSWORD, "agent", "Sam")
    review = CandidateReview(InMemoryCandidateStore(), kb)
    db = tmp_path_factory.mktemp("db") / "authz.sqlite3"
    async with running_service(
        cheap_brain(),
        db,
        kb_path=kb,
        builds_dir=tmp_path_factory.mktemp("builds"),
        embedder=HashingEmbedder(),
        admin_token=ADMIN_TOKEN,
        accounts=accounts,
        review=review,
    ) as (base, service):
        async with customer(base) as (client, hello):
            assert (await client.say("m1", ASK_PERSON))["type"] == "handoff"
        candidate = await review.record(
            conversation_id=hello["conversation_id"], question="Is it waterproof?", answer="Yes.", agent="sam"
        )
        assert candidate is not None
        yield Live(base, service, accounts, clock, review, kb, candidate.id, hello["conversation_id"], hello["session"])


@pytest.fixture
def no_auth_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin socket waits a second after a wrong token (against guessing); not in these tests."""
    monkeypatch.setattr(bot.web.admin, "FAILED_AUTH_DELAY", 0.0)


async def recv(ws: ClientConnection, *, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        frame: dict[str, Any] = json.loads(await ws.recv())
        return frame


async def until_closed(ws: ClientConnection, *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every frame the server sends until it closes the connection."""
    frames: list[dict[str, Any]] = []
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(timeout):
            async for raw in ws:
                frames.append(json.loads(raw))
    return frames


async def send_quietly(ws: ClientConnection, frame: dict[str, Any]) -> None:
    """Send, unless the server already closed the connection (it may, right after a refusal)."""
    with contextlib.suppress(ConnectionClosed):
        await ws.send(json.dumps(frame))


async def events_of(live: Live, conversation_id: str) -> list[StoredEvent]:
    return await live.service.store.events(conversation_id)


# ---------------------------------------------------------------------------------------------
# /ws/agent

AgentFrame = Callable[[str], dict[str, Any]]
AGENT_FRAMES: dict[str, AgentFrame] = {
    "queue": lambda c: {"type": "queue"},
    "open": lambda c: {"type": "open", "conversation_id": c},
    "claim": lambda c: {"type": "claim", "id": "k1", "conversation_id": c},
    "reply": lambda c: {"type": "reply", "id": "r1", "conversation_id": c, "text": "an unauthorized reply"},
    "hand_back": lambda c: {"type": "hand_back", "id": "b1", "conversation_id": c},
    "close": lambda c: {"type": "close", "id": "x1", "conversation_id": c},
    "typing": lambda c: {"type": "typing", "conversation_id": c, "on": True},
    "inbox": lambda c: {"type": "inbox"},
    "export": lambda c: {"type": "export", "conversation_id": c},
    "logout": lambda c: {"type": "logout"},
}


def test_every_agent_frame_type_has_a_refusal_test() -> None:
    handled = set(re.findall(r'kind == "(\w+)"', inspect.getsource(AgentConnection._on_frame))) | set(ACTIONS)
    assert handled == set(AGENT_FRAMES), "add the new /ws/agent frame types to AGENT_FRAMES (refused before sign-in)"


async def _agent_refuses_everything(live: Live, ws: ClientConnection) -> None:
    """Every privileged frame gets exactly one ``unauthorized`` error, and the conversation is untouched."""
    before = await events_of(live, live.waiting)
    for kind, build in AGENT_FRAMES.items():
        await ws.send(json.dumps(build(live.waiting)))
        answer = await recv(ws)
        assert (answer["type"], answer["code"], answer["ref"]) == ("error", "unauthorized", None), (kind, answer)
    assert await events_of(live, live.waiting) == before
    assert (await live.service.state_of(live.waiting)).state.value == "WAITING_FOR_AGENT"


@pytest.mark.parametrize("kind", list(AGENT_FRAMES))
async def test_agent_frames_before_sign_in_are_refused_and_do_nothing(live: Live, kind: str) -> None:
    before = await events_of(live, live.waiting)
    async with connect(f"ws://{live.base}/ws/agent") as ws:
        await ws.send(json.dumps(AGENT_FRAMES[kind](live.waiting)))
        refusal = await recv(ws)
        assert refusal["type"] == "error" and refusal["code"] == "unauthorized", refusal
        assert "sign in" in refusal["message"]
        # nothing else was sent for the refused frame (no queue, transcript, inbox or export):
        # the very next frame answers the login
        await ws.send(json.dumps({"type": "login", "username": "sam", "password": PASSWORD}))
        assert (await recv(ws))["type"] == "authed"
    assert await events_of(live, live.waiting) == before
    assert (await live.service.state_of(live.waiting)).state.value == "WAITING_FOR_AGENT"


async def _logged_out_token(live: Live) -> dict[str, Any]:
    async with connect(f"ws://{live.base}/ws/agent") as ws:
        await ws.send(json.dumps({"type": "login", "username": "sam", "password": PASSWORD}))
        token = (await recv(ws))["token"]
        await ws.send(json.dumps({"type": "logout"}))
        await until_closed(ws)
        assert ws.close_code == 1000
    return {"type": "auth", "token": token}


async def _expired_token(live: Live) -> dict[str, Any]:
    token, _ = await live.accounts.login("sam", PASSWORD)
    live.clock.offset += live.accounts.session_seconds + 60  # later logins get sessions from then on
    return {"type": "auth", "token": token}


async def _static(frame: dict[str, Any]) -> dict[str, Any]:
    return frame


AGENT_CREDENTIALS: dict[str, Callable[[Live], Any]] = {
    "wrong password": lambda live: _static({"type": "login", "username": "sam", "password": "not the password!"}),
    "unknown user": lambda live: _static({"type": "login", "username": "mallory", "password": PASSWORD}),
    "forged token": lambda live: _static({"type": "auth", "token": secrets.token_urlsafe(32)}),
    "empty token": lambda live: _static({"type": "auth", "token": ""}),
    "token not a string": lambda live: _static({"type": "auth", "token": ["x"]}),
    "logged-out token": _logged_out_token,
    "expired token": _expired_token,
    "customer session token": lambda live: _static({"type": "auth", "token": live.waiting_token}),
    "admin token": lambda live: _static({"type": "auth", "token": ADMIN_TOKEN}),
}


@pytest.mark.parametrize("credential", list(AGENT_CREDENTIALS))
async def test_agent_socket_refuses_bad_credentials_and_then_every_frame(live: Live, credential: str) -> None:
    first = await AGENT_CREDENTIALS[credential](live)
    async with connect(f"ws://{live.base}/ws/agent") as ws:
        await ws.send(json.dumps(first))
        refusal = await recv(ws)
        expected = "unauthorized" if first["type"] == "login" else "session_expired"
        assert refusal["type"] == "error" and refusal["code"] == expected, refusal
        await _agent_refuses_everything(live, ws)


async def test_agent_socket_closes_after_five_failed_sign_ins(live: Live) -> None:
    async with connect(f"ws://{live.base}/ws/agent") as ws:
        for _ in range(5):
            await send_quietly(ws, {"type": "login", "username": "sam", "password": "not the password!"})
        frames = await until_closed(ws, timeout=20)
    assert [f["code"] for f in frames] == ["unauthorized"] * 5
    assert ws.close_code == 1008


async def test_signing_out_ends_the_session_for_every_open_console(live: Live) -> None:
    async with connect(f"ws://{live.base}/ws/agent") as first, connect(f"ws://{live.base}/ws/agent") as second:
        await first.send(json.dumps({"type": "login", "username": "sam", "password": PASSWORD}))
        token = (await recv(first))["token"]
        await second.send(json.dumps({"type": "auth", "token": token}))
        assert (await recv(second))["type"] == "authed"
        await first.send(json.dumps({"type": "logout"}))
        await until_closed(first)
        await send_quietly(second, {"type": "inbox"})
        answer = {"type": "queue"}
        with contextlib.suppress(ConnectionClosed):
            while answer["type"] == "queue":
                answer = await recv(second)
    assert answer["type"] == "error" and answer["code"] in ("session_expired", "unauthorized"), answer


async def test_an_idle_console_is_closed_when_its_session_ends(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_server, "SESSION_CHECK_INTERVAL", 0.2)
    async with connect(f"ws://{live.base}/ws/agent") as first, connect(f"ws://{live.base}/ws/agent") as idle:
        await first.send(json.dumps({"type": "login", "username": "sam", "password": PASSWORD}))
        token = (await recv(first))["token"]
        await idle.send(json.dumps({"type": "auth", "token": token}))
        assert (await recv(idle))["type"] == "authed"
        await first.send(json.dumps({"type": "logout"}))
        await until_closed(first)
        frames = []
        with contextlib.suppress(ConnectionClosed):  # the idle console sends nothing, yet is closed
            while True:
                frames.append(await recv(idle))
    assert frames and frames[-1]["code"] == "session_expired", frames
    assert idle.close_code == 1008


# ---------------------------------------------------------------------------------------------
# /ws/admin

ADMIN_FRAMES: dict[str, Callable[[str], dict[str, Any]]] = {
    "reload": lambda cand: {"type": "reload", "id": "r1"},
    "rollback": lambda cand: {"type": "rollback", "id": "r2", "build": "some-earlier-build"},
    "versions": lambda cand: {"type": "versions", "id": "v1"},
    "candidates": lambda cand: {"type": "candidates", "id": "c1"},
    "approve": lambda cand: {"type": "approve", "id": "a1", "candidate": cand, "answer": "an unauthorized answer"},
    "discard": lambda cand: {"type": "discard", "id": "d1", "candidate": cand},
}


async def _agent_session(live: Live) -> dict[str, Any]:
    token, _ = await live.accounts.login("sam", PASSWORD)
    return {"type": "auth", "token": token}


ADMIN_CREDENTIALS: dict[str, Callable[[Live], Any] | None] = {
    "no auth frame": None,  # the privileged frame comes first
    "wrong token": lambda live: _static({"type": "auth", "token": "not-the-admin-token-at-all"}),
    "almost the token": lambda live: _static({"type": "auth", "token": ADMIN_TOKEN[:-1] + "X"}),
    "token prefix": lambda live: _static({"type": "auth", "token": ADMIN_TOKEN[:16]}),
    "empty token": lambda live: _static({"type": "auth", "token": ""}),
    "token not a string": lambda live: _static({"type": "auth", "token": {"token": ADMIN_TOKEN}}),
    "agent session token": _agent_session,
    "agent password": lambda live: _static({"type": "login", "username": "sam", "password": PASSWORD}),
}


@pytest.mark.parametrize("credential", list(ADMIN_CREDENTIALS))
@pytest.mark.parametrize("kind", ADMIN_KINDS)
async def test_admin_socket_refuses_every_frame_type_without_the_admin_token(
    live: Live, kind: str, credential: str, no_auth_delay: None
) -> None:
    assert kind in ADMIN_FRAMES, f"add the new /ws/admin frame type {kind!r} to ADMIN_FRAMES"
    privileged = ADMIN_FRAMES[kind](live.candidate)
    make = ADMIN_CREDENTIALS[credential]
    first = None if make is None else await make(live)
    async with connect(f"ws://{live.base}/ws/admin") as ws:
        if first is not None:
            await ws.send(json.dumps(first))
        await send_quietly(ws, privileged)  # sent at once, before the refusal arrives
        frames = await until_closed(ws)
    assert [(f["type"], f["code"]) for f in frames] == [("error", "unauthorized")], frames
    assert ws.close_code == 1008
    # and nothing was done
    assert await live.service.store.reloads() == []
    assert (await live.review.store.get(live.candidate)).status is CandidateStatus.PENDING  # type: ignore[union-attr]
    assert not (live.kb / "approved.jsonl").exists()


async def test_the_admin_token_opens_the_admin_socket(live: Live) -> None:
    """The control for the refusals above: the same frames with the right token are answered."""
    async with connect(f"ws://{live.base}/ws/admin") as ws:
        await ws.send(json.dumps({"type": "auth", "token": ADMIN_TOKEN}))
        assert (await recv(ws))["type"] == "authed"
        await ws.send(json.dumps(ADMIN_FRAMES["candidates"](live.candidate)))
        listed = await recv(ws)
    assert [c["id"] for c in listed["items"]] == [live.candidate]


# ---------------------------------------------------------------------------------------------
# /ws/customer


def _altered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _later_expiry(token: str) -> str:
    nonce, expires, signature = token.split(".")
    return f"{nonce}.{int(expires) + 86400}.{signature}"


FORGED_SESSIONS: dict[str, Callable[[Live], str]] = {
    "random": lambda live: secrets.token_urlsafe(32),
    "the conversation id": lambda live: live.waiting,
    "the stored token hash": lambda live: hashlib.sha256(live.waiting_token.encode()).hexdigest(),
    "one character altered": lambda live: _altered(live.waiting_token),
    "expiry pushed back": lambda live: _later_expiry(live.waiting_token),
    "the admin token": lambda live: ADMIN_TOKEN,
}


@pytest.mark.parametrize("forged", list(FORGED_SESSIONS))
async def test_a_forged_session_token_is_refused(live: Live, forged: str) -> None:
    before = await events_of(live, live.waiting)
    async with connect(f"ws://{live.base}/ws/customer") as ws:
        await ws.send(json.dumps({"type": "hello", "session": FORGED_SESSIONS[forged](live)}))
        refusal = await recv(ws)
        assert (refusal["type"], refusal["code"]) == ("error", "session_unknown"), refusal
        await ws.send(json.dumps({"type": "message", "id": "m1", "text": "let me in"}))
        assert (await recv(ws))["code"] == "hello_required"  # still no conversation
    assert await events_of(live, live.waiting) == before


async def test_an_agents_session_token_is_no_customer_session(live: Live) -> None:
    token, _ = await live.accounts.login("sam", PASSWORD)
    async with connect(f"ws://{live.base}/ws/customer") as ws:
        await ws.send(json.dumps({"type": "hello", "session": token}))
        assert (await recv(ws))["code"] == "session_unknown"


async def test_the_session_token_is_the_only_way_in(live: Live) -> None:
    async with customer(live.base, live.waiting_token) as (_, welcome):
        assert welcome["conversation_id"] == live.waiting  # the token (a bearer secret) opens it


async def test_frames_cannot_name_another_conversation(live: Live) -> None:
    async with customer(live.base) as (mine, hello):
        other_before = await events_of(live, live.waiting)
        elsewhere = {"conversation_id": live.waiting, "session": live.waiting_token, "conversation": live.waiting}
        await mine.send({"type": "message", "id": "m1", "text": "Where is my order?", **elsewhere})
        await mine.expect("ack")
        await mine.send({"type": "contact", "id": "c1", "email": "a@example.com", "text": "call me", **elsewhere})
        await mine.expect("ack")
        # a second hello cannot switch conversations, not even with a valid token
        await mine.send({"type": "hello", "session": live.waiting_token})
        assert (await mine.expect("error"))["code"] == "bad_frame"
        await mine.send({"type": "message", "id": "m2", "text": "still me", **elsewhere})
        await mine.expect("ack")
        mine_after = await events_of(live, hello["conversation_id"])
    assert {e.client_id for e in mine_after} >= {"m1", "c1", "m2"}
    assert await events_of(live, live.waiting) == other_before


@pytest.mark.parametrize("kind", [k for k in AGENT_FRAMES if k != "typing"])  # typing is a customer frame too
async def test_agent_frames_on_the_customer_socket_are_refused(live: Live, kind: str) -> None:
    async with customer(live.base) as (mine, _):
        other_before = await events_of(live, live.waiting)
        await mine.send(AGENT_FRAMES[kind](live.waiting))
        refusal = await mine.expect("error")
        assert refusal["code"] == "bad_frame", refusal
        await mine.send({"type": "message", "id": "m1", "text": "hello"})
        await mine.expect("ack")
        kinds = [f["type"] for f in mine.seen]
    assert not {"queue", "transcript", "event", "inbox", "export", "authed"} & set(kinds)
    assert await events_of(live, live.waiting) == other_before
    assert (await live.service.state_of(live.waiting)).state.value == "WAITING_FOR_AGENT"


async def test_customer_typing_with_another_conversation_id_stays_in_its_own(live: Live) -> None:
    """``typing`` is a customer frame: a conversation id in it is ignored, not obeyed."""
    async with customer(live.base) as (mine, _), _agent_watching(live) as sam:
        await mine.send({"type": "typing", "conversation_id": live.waiting, "on": True})
        await mine.send({"type": "message", "id": "m1", "text": "hello"})
        await mine.expect("ack")
        with pytest.raises(TimeoutError):
            await sam.expect_where("typing", lambda f: f["conversation_id"] == live.waiting, timeout=1.0)


@contextlib.asynccontextmanager
async def _agent_watching(live: Live) -> AsyncIterator[Client]:
    async with connect(f"ws://{live.base}/ws/agent") as ws:
        sam = Client(ws)
        await sam.send({"type": "login", "username": "sam", "password": PASSWORD})
        await sam.expect("authed")
        await sam.send({"type": "open", "conversation_id": live.waiting})
        await sam.expect("transcript")
        yield sam
