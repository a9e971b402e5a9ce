"""The admin websocket (``/ws/admin``): KB reload, versions and rollback for authenticated admins.

A thin adapter over :class:`KBReloader`. The first frame signs in, one of:

- ``{"type": "login", "username": ..., "password": ...}`` with an admin account (``deskmate users
  add NAME --role admin``), answered with ``authed`` carrying a session token, as for agents;
- ``{"type": "auth", "token": ...}`` with that session token (a page resuming), or with the shared
  admin token (``DESKMATE_ADMIN_TOKEN``, else the one ``deskmate admin token`` keeps) for scripts.

A wrong password or token, an agent's account, or a first frame that signs in neither way closes
the connection after a short delay with ``unauthorized`` and a message saying which it was. With
neither an admin token nor an admin account every request is refused with how to make one. Every
change is recorded as the admin's: ``admin:USERNAME`` for an account, ``admin`` for the token.
Then:

- ``{"type": "reload", "id": "r1"}`` -> ``reload_started``, later ``reload_done`` with the record
  (and the KB's issues when it was rejected);
- ``{"type": "rollback", "id": "r2", "build": "<build id>"}`` -> the same two frames;
- ``{"type": "versions", "id": "v1"}`` -> ``versions``: the builds (the served one marked) and
  the reload history;
- ``{"type": "candidates", "id": "c1"}`` -> ``candidates``: agent replies kept as KB candidates;
  ``approve`` / ``discard`` (with ``candidate`` and, to approve an edited answer, ``answer``) ->
  ``decided``, then the pending ``candidates`` again. Approved ones serve after the next reload;
- ``{"type": "logout"}`` ends the account's session (and closes the connection).

An account's session is checked before every request: once it ends (signed out elsewhere, account
removed, expired) the next request is answered with ``session_expired`` and the connection closed.
A reload runs in the background: the connection keeps answering ``versions`` meanwhile.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bot.errors import AuthenticationError, DeskmateError, ProtocolError, ReloadBusyError, StoreError
from bot.service.accounts import Accounts
from bot.service.candidates import CandidateReview
from bot.service.kb_inbox import KBInbox
from bot.service.reloader import KBReloader, ReloadResult, issue_dicts
from bot.storage.accounts import Account, Role
from bot.storage.candidates import Candidate, CandidateStatus
from bot.storage.insights import InsightsStore, gather
from bot.web.admin_inbox import InboxFrames
from bot.web.admin_insights import insights_frame, parse_period
from bot.web.agents import LOGINS
from bot.web.protocol import MAX_ID, MAX_TEXT, error_frame

logger = logging.getLogger(__name__)

AUTH_TIMEOUT = 30.0
FAILED_AUTH_DELAY = 1.0  # slows down guessing; the connection is closed after one wrong token
KINDS = ("reload", "rollback", "versions", "candidates", "approve", "discard")
INBOX_KINDS = ("inbox", "fix", "apply")  # bot/web/admin_inbox.py
BUILD_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")
ADMIN_DISABLED = (
    "admin is off: add an admin account with `deskmate users add NAME --role admin` on the server and sign in "
    "with it, or run `deskmate admin token` (it makes and shows a token) or set DESKMATE_ADMIN_TOKEN (16 or more "
    "characters) and restart deskmate serve"
)
WRONG_TOKEN = (
    "the admin token is wrong; check DESKMATE_ADMIN_TOKEN, or run `deskmate admin token` on the server "
    "to see the token it uses, and try again"
)
SESSION_UNKNOWN = "that session has ended or the token is unknown; sign in again with an admin account"
AUTH_FIRST = (
    'send {"type": "auth", "token": ...} first, with the admin token (DESKMATE_ADMIN_TOKEN), or '
    '{"type": "login", "username": ..., "password": ...} with an admin account'
)
LOGIN_FIELDS = 'a login needs "username" and "password", both strings'
AGENT_ACCOUNT = "this account is an agent; an admin account is needed: `deskmate users add NAME --role admin`"
NO_ACCOUNTS = "signing in with an account is off on this server; sign in with the admin token"
SESSION_ENDED = "your session has ended; sign in again"


@dataclass(frozen=True)
class AdminIdentity:
    """Who is signed in: an admin account (with its session token), or whoever holds the admin token."""

    username: str | None  # None: the shared admin token
    display_name: str = "admin token"
    session: str = ""  # the account's session token; "" for the admin token

    @property
    def actor(self) -> str:
        """As the reload history names it: ``admin:USERNAME``, or ``admin`` for the token."""
        return "admin" if self.username is None else f"admin:{self.username}"

    @property
    def by(self) -> str:
        """As a candidate decision names it."""
        return self.username or "admin"

    @classmethod
    def of(cls, account: Account, session: str) -> AdminIdentity:
        if account.role is not Role.ADMIN:
            raise AuthenticationError(AGENT_ACCOUNT)
        return cls(account.username, account.display_name, session)

    def authed_frame(self) -> dict[str, Any]:
        if self.username is None:
            return {"type": "authed", "admin": None}
        admin = {"username": self.username, "display_name": self.display_name, "role": Role.ADMIN.value}
        return {"type": "authed", "token": self.session, "admin": admin}


@dataclass(frozen=True)
class AdminRequest:
    type: str
    id: str
    build: str | None = None
    candidate: str | None = None
    answer: str | None = None


def parse_admin_frame(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("bad_json", "the frame is not valid JSON; send one JSON object per frame") from exc
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError("bad_frame", 'the frame must be a JSON object with a "type"')
    return frame


def parse_admin_request(frame: dict[str, Any]) -> AdminRequest:
    kind = frame["type"]
    if kind not in KINDS:
        kinds = ", ".join((*KINDS, *INBOX_KINDS, "insights", "logout"))
        raise ProtocolError("bad_frame", f"unknown frame type {kind!r}; expected one of {kinds}")
    request_id = frame.get("id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID:
        raise ProtocolError("bad_frame", f'a request needs an "id": a string of 1 to {MAX_ID} characters')
    if kind in ("approve", "discard"):
        candidate = frame.get("candidate")
        if not isinstance(candidate, str) or not 0 < len(candidate) <= MAX_ID:
            raise ProtocolError("bad_frame", f'"{kind}" needs "candidate": an id from "candidates"', ref=request_id)
        answer = frame.get("answer")
        if answer is not None and (not isinstance(answer, str) or not answer.strip() or len(answer) > MAX_TEXT):
            raise ProtocolError("bad_frame", f'"answer" must be 1 to {MAX_TEXT} characters', ref=request_id)
        return AdminRequest(kind, request_id, candidate=candidate, answer=answer)
    if kind != "rollback":
        return AdminRequest(kind, request_id)
    build = frame.get("build")
    if not isinstance(build, str) or not BUILD_ID.match(build):
        raise ProtocolError("bad_frame", 'a rollback needs "build": a build id from "versions"', ref=request_id)
    return AdminRequest(kind, request_id, build)


def token_matches(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def result_frame(request_id: str, result: ReloadResult) -> dict[str, Any]:
    return {
        "type": "reload_done",
        "id": request_id,
        "record": result.record.to_dict(),
        "issues": issue_dicts(result.issues),
    }


class AdminConnection:
    def __init__(
        self,
        ws: ServerConnection,
        reloader: KBReloader | None,
        admin_token: str | None,
        *,
        accounts: Accounts | None = None,
        review: CandidateReview | None = None,
        insights: InsightsStore | None = None,
    ) -> None:
        self.ws = ws
        self.reloader = reloader
        self.admin_token = admin_token
        self.accounts = accounts
        self.review = review
        self.insights = insights
        self._inbox_frames: InboxFrames | None = None  # made at the first inbox frame (see _inbox)
        self._identity: AdminIdentity | None = None  # set by a successful sign-in
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def identity(self) -> AdminIdentity:
        """Who signed in on this connection (only asked after the sign-in)."""
        assert self._identity is not None, "not signed in"
        return self._identity

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def run(self) -> None:
        try:
            if not await self._authenticate():
                return
            async for raw in self.ws:
                await self._on_frame(raw)
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            for task in self._tasks:
                task.cancel()  # the reload itself is shielded: it finishes and is recorded

    async def _authenticate(self) -> bool:
        raw = await asyncio.wait_for(self.ws.recv(), AUTH_TIMEOUT)
        if self.reloader is None or not await self._enabled():
            await self.send({"type": "error", "code": "admin_disabled", "ref": None, "message": ADMIN_DISABLED})
            await self.ws.close(1008, "admin disabled")
            return False
        try:
            self._identity = await self._sign_in(parse_admin_frame(raw))
        except AuthenticationError as exc:
            logger.warning("admin: refused a connection: %s", exc)
            await asyncio.sleep(FAILED_AUTH_DELAY)
            await self.send({"type": "error", "code": "unauthorized", "ref": None, "message": str(exc)})
            await self.ws.close(1008, "unauthorized")
            return False
        except ProtocolError as exc:
            await self.send(error_frame(exc))
            await self.ws.close(1008, "auth required")
            return False
        except DeskmateError as exc:  # the account store is away
            logger.error("admin: sign-in failed: %s", exc)
            message = "the account store is not answering; try again in a moment, or sign in with the admin token"
            await self.send({"type": "error", "code": "internal", "ref": None, "message": message})
            await self.ws.close(1011, "store unavailable")
            return False
        logger.info("admin: %s signed in", self.identity.actor)
        await self.send(self.identity.authed_frame())
        return True

    async def _enabled(self) -> bool:
        """Whether anyone can sign in: there is an admin token or at least one admin account."""
        if self.admin_token is not None:
            return True
        if self.accounts is None:
            return False
        try:
            return any(account.role is Role.ADMIN for account in await self.accounts.list())
        except DeskmateError:
            return True  # the store is away: the sign-in says so

    async def _sign_in(self, frame: dict[str, Any]) -> AdminIdentity:
        """Who the first frame signs in as; :class:`AuthenticationError` saying why not."""
        if frame["type"] == "login":
            username, password = frame.get("username"), frame.get("password")
            if not isinstance(username, str) or not isinstance(password, str):
                raise AuthenticationError(LOGIN_FIELDS)
            if self.accounts is None:
                raise AuthenticationError(NO_ACCOUNTS)
            async with LOGINS:  # argon2 is memory- and CPU-hungry: two at a time, agents' included
                session, account = await self.accounts.login(username, password)
            if account.role is not Role.ADMIN:
                await self.accounts.logout(session)  # an agent's sign-in here opens no session
            return AdminIdentity.of(account, session)
        token = frame.get("token") if frame["type"] == "auth" else None
        if not isinstance(token, str):
            raise AuthenticationError(AUTH_FIRST)
        if self.admin_token is not None and token_matches(token, self.admin_token):
            return AdminIdentity(None)
        found = await self.accounts.authenticate(token) if self.accounts is not None else None
        if found is not None:
            return AdminIdentity.of(found, token)
        raise AuthenticationError(WRONG_TOKEN if self.admin_token is not None else SESSION_UNKNOWN)

    async def _session_alive(self, ref: str | None) -> bool:
        """An account's session still holds; else say so and close (a token connection always holds)."""
        if not self.identity.session or self.accounts is None:
            return True
        try:
            if await self.accounts.authenticate(self.identity.session) is not None:
                return True
        except DeskmateError as exc:
            message = f"the account store is not answering ({exc}); try again in a moment"
            await self.send({"type": "error", "code": "internal", "ref": ref, "message": message})
            return False
        await self.send({"type": "error", "code": "session_expired", "ref": ref, "message": SESSION_ENDED})
        await self.ws.close(1008, "session ended")
        return False

    async def _logout(self) -> None:
        if self.identity.session and self.accounts is not None:
            await self.accounts.logout(self.identity.session)
            logger.info("admin: %s signed out", self.identity.actor)
        await self.ws.close(1000, "signed out")

    async def _on_frame(self, raw: str | bytes) -> None:
        assert self.reloader is not None
        try:
            frame = parse_admin_frame(raw)
            if frame["type"] == "logout":
                await self._logout()
                return
            if frame["type"] == "insights":
                await self._insights(frame)
                return
            if frame["type"] in INBOX_KINDS:
                await self._inbox(frame)
                return
            request = parse_admin_request(frame)
        except ProtocolError as exc:
            await self.send(error_frame(exc))
            return
        if not await self._session_alive(request.id):
            return
        if request.type == "versions":
            try:
                await self.send(await self._versions(request.id))
            except DeskmateError as exc:
                await self.send({"type": "error", "code": "internal", "ref": request.id, "message": str(exc)})
            return
        if request.type in ("candidates", "approve", "discard"):
            await self._candidates(request)
            return
        if self.reloader.busy:
            message = "a reload or rollback is already running; wait for it to finish and try again"
            await self.send({"type": "error", "code": "busy", "ref": request.id, "message": message})
            return
        task = asyncio.create_task(self._change(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _insights(self, frame: dict[str, Any]) -> None:
        """The figures of a period (bot/web/admin_insights.py), or an error frame saying why not."""
        request_id = frame.get("id") if isinstance(frame.get("id"), str) else None
        if not await self._session_alive(request_id):
            return
        period = parse_period(frame)
        if self.insights is None:
            raise ProtocolError("unavailable", "this server keeps no insights; see the server's log", ref=request_id)
        try:
            figures = await gather(self.insights, period)
        except StoreError as exc:
            logger.error("admin: insights failed: %s", exc)
            raise ProtocolError("internal", "the figures could not be read; try again in a moment", ref=request_id) from exc
        await self.send(insights_frame(request_id or "", figures))

    async def _inbox(self, frame: dict[str, Any]) -> None:
        """The inbox, a fix, or "apply and reload" (in the background, as a reload: it takes a while)."""
        request_id = frame.get("id") if isinstance(frame.get("id"), str) else None
        if not await self._session_alive(request_id):
            return
        assert self.reloader is not None
        if self._inbox_frames is None:  # what the bot gets wrong, and fixes written into the KB (bot/web/admin_inbox.py)
            self._inbox_frames = InboxFrames(KBInbox.for_reloader(self.reloader, review=self.review))
        inbox, actor = self._inbox_frames, self.identity.actor
        if frame["type"] != "apply":
            answer = await inbox.handle(frame, actor=actor)
            if answer.get("type") == "inbox":
                answer["intents"] = sorted(intent.name for intent in self.reloader.service.brain.kb.intents)
            await self.send(answer)
            return
        if self.reloader.busy:
            message = "a reload or rollback is already running; wait for it to finish and try again"
            await self.send({"type": "error", "code": "busy", "ref": request_id, "message": message})
            return

        async def apply() -> None:
            await self.send({"type": "reload_started", "id": request_id, "action": "reload"})
            await self.send(await inbox.handle(frame, actor=actor))

        task = asyncio.create_task(apply())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _change(self, request: AdminRequest) -> None:
        assert self.reloader is not None
        await self.send({"type": "reload_started", "id": request.id, "action": request.type})
        if request.type == "reload":
            work = self.reloader.reload(actor=self.identity.actor)
        else:
            assert request.build is not None
            work = self.reloader.rollback(request.build, actor=self.identity.actor)
        try:
            # shielded: an admin closing the page does not abandon a half-done reload
            result = await asyncio.shield(asyncio.ensure_future(work))
        except ReloadBusyError as exc:
            await self.send({"type": "error", "code": "busy", "ref": request.id, "message": str(exc)})
            return
        except Exception as exc:
            logger.exception("admin %s failed", request.type)
            message = f"the {request.type} failed: {exc}; the previous version keeps serving; see the server log"
            await self.send({"type": "error", "code": "internal", "ref": request.id, "message": message})
            return
        await self.send(result_frame(request.id, result))

    async def _versions(self, request_id: str) -> dict[str, Any]:
        assert self.reloader is not None
        versions = await asyncio.to_thread(self.reloader.versions)
        history = await self.reloader.service.store.reloads(limit=50)
        return {
            "type": "versions",
            "id": request_id,
            "serving": self.reloader.service.brain.build_id,
            "builds": [
                {
                    "id": v.build.id,
                    "kb_name": v.build.kb_name,
                    "content_hash": v.build.content_hash,
                    "created_at": v.build.created_at,
                    "active": v.active,
                }
                for v in versions
            ],
            "history": [record.to_dict() for record in history],
        }

    async def _candidates(self, request: AdminRequest) -> None:
        """Agent replies kept as KB candidates: list the pending ones, approve or discard one."""
        if self.review is None:
            message = "learning from agents is off on this server"
            await self.send({"type": "error", "code": "unavailable", "ref": request.id, "message": message})
            return
        try:
            if request.type == "approve":
                assert request.candidate is not None
                decided = await self.review.approve(request.candidate, by=self.identity.by, answer=request.answer)
                await self.send({"type": "decided", "id": request.id, "candidate": candidate_dict(decided)})
            elif request.type == "discard":
                assert request.candidate is not None
                decided = await self.review.discard(request.candidate, by=self.identity.by)
                await self.send({"type": "decided", "id": request.id, "candidate": candidate_dict(decided)})
            pending = await self.review.store.list(CandidateStatus.PENDING)
            await self.send({"type": "candidates", "id": request.id, "items": [candidate_dict(c) for c in pending]})
        except DeskmateError as exc:
            await self.send({"type": "error", "code": "refused", "ref": request.id, "message": str(exc)})


def candidate_dict(candidate: Candidate) -> dict[str, Any]:
    return {
        "id": candidate.id,
        "conversation_id": candidate.conversation_id,
        "question": candidate.question,
        "answer": candidate.answer,
        "agent": candidate.agent,
        "created_at": candidate.created_at,
        "status": candidate.status.value,
    }
