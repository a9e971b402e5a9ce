"""Admin accounts on the admin websocket (``/ws/admin``), over real loopback sockets.

Signing in with an admin account (``login``), resuming its session (``auth`` with the session
token) and ending it (``logout``); a wrong password and an agent's account are refused with what to
do; the shared admin token still works; and every change names who made it (``admin:USERNAME``, or
``admin`` for the token). Fast: a cheap in-memory brain, cheap argon2 settings, no model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

import bot.web.admin
from bot.ops.config import DEMO_KB
from bot.service.accounts import Accounts
from bot.service.candidates import CandidateReview
from bot.service.reloader import ReloadResult
from bot.storage.accounts import InMemoryAccountStore
from bot.storage.candidates import InMemoryCandidateStore
from bot.storage.reloads import ReloadAction, ReloadOutcome, ReloadRecord
from bot.web.admin import AGENT_ACCOUNT, AdminConnection
from retrieval.embedder import HashingEmbedder
from tests.bot.service.test_brain import brain as cheap_brain
from tests.e2e.server import running_service

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "accounts-admin-token-0123456789"


def cheap_accounts() -> Accounts:
    return Accounts(InMemoryAccountStore(), hasher=PasswordHasher(time_cost=1, memory_cost=8192))


async def admin_and_agent() -> Accounts:
    accounts = cheap_accounts()
    await accounts.add("alice", PASSWORD, "admin", "Alice")
    await accounts.add("sam", PASSWORD, "agent", "Sam")
    return accounts


@pytest.fixture(autouse=True)
def no_auth_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin socket waits a second after a refused sign-in (against guessing); not in these tests."""
    monkeypatch.setattr(bot.web.admin, "FAILED_AUTH_DELAY", 0.0)


@dataclass
class Live:
    base: str
    accounts: Accounts


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """The real server (its admin socket wired with the accounts), with an admin token too."""
    kb = tmp_path_factory.mktemp("kb") / "kb"
    shutil.copytree(DEMO_KB, kb)
    accounts = await admin_and_agent()
    async with running_service(
        cheap_brain(),
        tmp_path_factory.mktemp("db") / "admin-accounts.sqlite3",
        kb_path=kb,
        builds_dir=tmp_path_factory.mktemp("builds"),
        embedder=HashingEmbedder(),
        admin_token=ADMIN_TOKEN,
        accounts=accounts,
    ) as (base, _):
        yield Live(base, accounts)


async def recv(ws: ClientConnection, *, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        frame: dict[str, Any] = json.loads(await ws.recv())
        return frame


async def first_answer(base: str, first: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The server's answer to a sign-in frame, and the close code if it then closed the connection."""
    async with connect(f"ws://{base}/ws/admin") as ws:
        await ws.send(json.dumps(first))
        answer = await recv(ws)
        if answer["type"] == "authed":
            return answer, None
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(10):
                await ws.recv()
        return answer, ws.close_code


async def test_an_admin_account_signs_in_resumes_its_session_and_signs_out(live: Live) -> None:
    async with connect(f"ws://{live.base}/ws/admin") as ws:
        await ws.send(json.dumps({"type": "login", "username": "Alice ", "password": PASSWORD}))
        authed = await recv(ws)
        assert authed["admin"] == {"username": "alice", "display_name": "Alice", "role": "admin"}
        token = authed["token"]
        await ws.send(json.dumps({"type": "versions", "id": "v1"}))
        assert (await recv(ws))["type"] == "versions"

        # a reload of the page: the same session, resumed on a second connection
        async with connect(f"ws://{live.base}/ws/admin") as again:
            await again.send(json.dumps({"type": "auth", "token": token}))
            resumed = await recv(again)
        assert resumed["type"] == "authed" and resumed["token"] == token
        assert resumed["admin"]["username"] == "alice"

        await ws.send(json.dumps({"type": "logout"}))
        with pytest.raises(ConnectionClosed):
            await recv(ws)
    assert ws.close_code == 1000
    assert await live.accounts.authenticate(token) is None  # ended on the server, not only forgotten

    refusal, code = await first_answer(live.base, {"type": "auth", "token": token})
    assert (refusal["type"], refusal["code"], code) == ("error", "unauthorized", 1008)


async def test_a_wrong_password_is_refused_and_the_connection_closed(live: Live) -> None:
    refusal, code = await first_answer(live.base, {"type": "login", "username": "alice", "password": "not it at all"})

    assert (refusal["type"], refusal["code"], code) == ("error", "unauthorized", 1008)
    assert refusal["message"] == "wrong username or password; check both and try again"


async def test_an_agent_account_is_refused_with_how_to_make_an_admin_one(live: Live) -> None:
    await live.accounts.store.end_sessions_of("sam")

    refusal, code = await first_answer(live.base, {"type": "login", "username": "sam", "password": PASSWORD})

    assert (refusal["type"], refusal["code"], code) == ("error", "unauthorized", 1008)
    assert refusal["message"] == AGENT_ACCOUNT
    assert "`deskmate users add NAME --role admin`" in refusal["message"]
    assert await live.accounts.store.end_sessions_of("sam") == 0  # the refused sign-in left no session


async def test_an_agent_session_token_is_refused_the_same_way(live: Live) -> None:
    token, _ = await live.accounts.login("sam", PASSWORD)  # as the console got it

    refusal, code = await first_answer(live.base, {"type": "auth", "token": token})

    assert (refusal["code"], refusal["message"], code) == ("unauthorized", AGENT_ACCOUNT, 1008)
    assert await live.accounts.authenticate(token) is not None  # the agent's console session goes on
    await live.accounts.logout(token)


async def test_the_admin_token_still_signs_in(live: Live) -> None:
    authed, _ = await first_answer(live.base, {"type": "auth", "token": ADMIN_TOKEN})
    assert authed == {"type": "authed", "admin": None}

    wrong, code = await first_answer(live.base, {"type": "auth", "token": "not-the-admin-token-0123"})
    assert (wrong["code"], code) == ("unauthorized", 1008)
    assert "admin token is wrong" in wrong["message"]


async def test_a_removed_account_is_signed_out_at_its_next_request(live: Live) -> None:
    await live.accounts.add("bo", PASSWORD, "admin", "Bo")
    async with connect(f"ws://{live.base}/ws/admin") as ws:
        await ws.send(json.dumps({"type": "login", "username": "bo", "password": PASSWORD}))
        assert (await recv(ws))["type"] == "authed"
        await live.accounts.remove("bo")
        await ws.send(json.dumps({"type": "versions", "id": "v1"}))
        ended = await recv(ws)
        with pytest.raises(ConnectionClosed):
            await recv(ws)
    assert (ended["code"], ended["ref"]) == ("session_expired", "v1")
    assert ws.close_code == 1008


async def test_without_a_token_or_an_admin_account_admin_says_what_to_do(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    accounts = cheap_accounts()
    await accounts.add("sam", PASSWORD, "agent", "Sam")
    async with running_service(
        cheap_brain(),
        tmp_path / "no-admin.sqlite3",
        kb_path=kb,
        builds_dir=tmp_path / "builds",
        embedder=HashingEmbedder(),
        accounts=accounts,
    ) as (base, _):
        refusal, code = await first_answer(base, {"type": "login", "username": "sam", "password": PASSWORD})
        assert (refusal["code"], code) == ("admin_disabled", 1008)
        assert "`deskmate users add NAME --role admin`" in refusal["message"]
        assert "`deskmate admin token`" in refusal["message"] and "DESKMATE_ADMIN_TOKEN" in refusal["message"]

        # an admin account alone turns admin on, no token and no restart needed
        await accounts.add("alice", PASSWORD, "admin", "Alice")
        authed, _ = await first_answer(base, {"type": "login", "username": "alice", "password": PASSWORD})
        assert authed["type"] == "authed"
        token_tried, _ = await first_answer(base, {"type": "auth", "token": "some-guessed-admin-token"})
        assert token_tried["code"] == "unauthorized"
        assert "sign in again with an admin account" in token_tried["message"]


# ---------------------------------------------------------------------------------------------
# who did it


class RecordingReloader:
    """Answers a reload or rollback at once, recording who asked."""

    busy = False

    async def reload(self, *, actor: str) -> ReloadResult:
        return self._done(actor, ReloadAction.RELOAD)

    async def rollback(self, build_id: str, *, actor: str) -> ReloadResult:
        return self._done(actor, ReloadAction.ROLLBACK)

    @staticmethod
    def _done(actor: str, action: ReloadAction) -> ReloadResult:
        return ReloadResult(ReloadRecord(time.time(), actor, action, ReloadOutcome.SERVING, "kb-1", "c0"))


@contextlib.asynccontextmanager
async def admin_socket(accounts: Accounts, review: CandidateReview) -> AsyncIterator[str]:
    async def handler(ws: ServerConnection) -> None:
        reloader: Any = RecordingReloader()
        await AdminConnection(ws, reloader, ADMIN_TOKEN, accounts=accounts, review=review).run()

    async with serve(handler, "127.0.0.1", 0) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "kb"
    shutil.copytree(DEMO_KB, folder)
    yield folder


@pytest.mark.parametrize(
    ("first", "actor", "by"),
    [
        ({"type": "login", "username": "alice", "password": PASSWORD}, "admin:alice", "alice"),
        ({"type": "auth", "token": ADMIN_TOKEN}, "admin", "admin"),
    ],
    ids=["account", "token"],
)
async def test_every_change_names_the_admin_who_made_it(kb: Path, first: dict[str, Any], actor: str, by: str) -> None:
    accounts = await admin_and_agent()
    review = CandidateReview(InMemoryCandidateStore(), kb)
    approved = await review.record(conversation_id="c_1", question="Is it waterproof?", answer="Yes.", agent="sam")
    discarded = await review.record(conversation_id="c_2", question="Do you sell hats?", answer="No.", agent="sam")
    assert approved is not None and discarded is not None

    async with admin_socket(accounts, review) as url, connect(url) as ws:
        await ws.send(json.dumps(first))
        assert (await recv(ws))["type"] == "authed"
        records = []
        for frame in ({"type": "reload", "id": "r1"}, {"type": "rollback", "id": "r2", "build": "kb-0"}):
            await ws.send(json.dumps(frame))
            while (answer := await recv(ws))["type"] != "reload_done":
                assert answer["type"] == "reload_started", answer
            records.append(answer["record"])
        for kind, candidate in (("approve", approved.id), ("discard", discarded.id)):
            await ws.send(json.dumps({"type": kind, "id": kind, "candidate": candidate}))
            assert (await recv(ws))["type"] == "decided"
            assert (await recv(ws))["type"] == "candidates"

    assert [r["actor"] for r in records] == [actor, actor]
    for candidate in (approved, discarded):
        decided = await review.store.get(candidate.id)
        assert decided is not None and decided.decided_by == by
