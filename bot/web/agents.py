"""The agent console's websocket (``/ws/agent``): a thin adapter over :class:`AgentDesk`.

Sign in with ``{"type": "login", "username", "password"}`` (answered with a session token) or
resume with ``{"type": "auth", "token"}``. Then the console asks for the ``queue``, ``open``s
conversations (their transcript, then every new event live, and their form and slots whenever
they change: bot/core/task_view.py), and ``claim``s, ``reply``s, ``hand_back``s and ``close``s them.
Each of those carries an ``id`` and is acknowledged with ``{"type": "ack", "id"}``; a resent
``reply`` (same id) is stored once. Frames are in docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bot.bus.base import QUEUE_TOPIC, Signal, Subscription
from bot.core.conversation import Agent
from bot.core.task_view import TaskView, task_after, task_frame, task_view
from bot.errors import AuthenticationError, ConversationError, DeskmateError, ProtocolError, StoreError
from bot.ops.logcontext import set_conversation
from bot.service.accounts import Accounts
from bot.service.desk import AgentDesk, transcript_item
from bot.storage.accounts import Account
from bot.web.limits import TokenBucket
from bot.web.protocol import MAX_ID, MAX_TEXT, error_frame

logger = logging.getLogger(__name__)

SESSION_CHECK_INTERVAL = 30.0  # seconds between session checks of an idle console

AUTH_TIMEOUT = 60.0
MAX_OPEN = 50  # conversations one console watches at once; the oldest is dropped beyond that
MAX_LOGIN_FAILURES = 5  # per connection, then it is closed
LOGINS = asyncio.Semaphore(2)
ACTIONS = ("claim", "reply", "hand_back", "close")


def parse_agent_frame(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("bad_json", "the frame is not valid JSON; send one JSON object per frame") from exc
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError("bad_frame", 'the frame must be a JSON object with a "type"')
    kind = frame["type"]
    ref = frame.get("id") if isinstance(frame.get("id"), str) else None
    if kind in (*ACTIONS, "open", "typing", "export") and not _is_conversation_id(frame.get("conversation_id")):
        raise ProtocolError("bad_frame", '"conversation_id" must be the id of a conversation in the queue', ref=ref)
    if kind in ACTIONS and (ref is None or not 0 < len(ref) <= MAX_ID):
        raise ProtocolError("bad_frame", f'"{kind}" needs an "id": a string of 1 to {MAX_ID} characters')
    if kind == "reply":
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError("bad_frame", 'a reply needs a non-empty "text"', ref=ref)
        if len(text) > MAX_TEXT:
            raise ProtocolError("too_long", f"the reply is {len(text)} characters; the limit is {MAX_TEXT}", ref=ref)
    if kind == "typing" and not isinstance(frame.get("on"), bool):
        raise ProtocolError("bad_frame", '"on" must be true or false')
    return frame


def _is_conversation_id(value: object) -> bool:
    return isinstance(value, str) and value.startswith("c_") and 2 < len(value) <= 64


class AgentConnection:
    def __init__(self, ws: ServerConnection, desk: AgentDesk, accounts: Accounts | None, bucket: TokenBucket) -> None:
        self.ws = ws
        self.desk = desk
        self.accounts = accounts
        self.bucket = bucket
        self.account: Account | None = None
        self._token = ""
        self._present = False  # counted as online (agent_connected ran)
        self._failures = 0
        self._watching: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        self._tasks: dict[str, TaskView] = {}  # per watched conversation: its form and slots, as last sent
        self._send_lock = asyncio.Lock()

    @property
    def agent(self) -> Agent:
        assert self.account is not None
        return Agent(self.account.username, self.account.display_name)

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def run(self) -> None:
        queue_task: asyncio.Task[None] | None = None
        session_task: asyncio.Task[None] | None = None
        try:
            if not await self._authenticate():
                return
            await self.desk.agent_connected(self.agent)
            self._present = True
            queue = self.desk.service.bus.subscribe(QUEUE_TOPIC)
            queue_task = asyncio.create_task(self._forward_queue(queue))
            session_task = asyncio.create_task(self._watch_session())
            await self._send_queue()
            async for raw in self.ws:
                await self._on_frame(raw)
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            if queue_task is not None:
                queue_task.cancel()
            if session_task is not None:
                session_task.cancel()
            for subscription, task in self._watching.values():
                task.cancel()
                subscription.close()
            if self._present:
                with contextlib.suppress(Exception):
                    await self.desk.agent_disconnected(self.agent)

    async def _authenticate(self) -> bool:
        if self.accounts is None:
            await asyncio.wait_for(self.ws.recv(), AUTH_TIMEOUT)  # answer the first frame, whatever it is
            await self.send(
                {
                    "type": "error",
                    "code": "console_disabled",
                    "ref": None,
                    "message": "the agent console is off: add an account with `deskmate users add NAME --role agent`",
                }
            )
            return False
        while self.account is None:
            raw = await asyncio.wait_for(self.ws.recv(), AUTH_TIMEOUT)
            try:
                frame = parse_agent_frame(raw)
                if frame["type"] == "login":
                    username, password = frame.get("username"), frame.get("password")
                    if not isinstance(username, str) or not isinstance(password, str):
                        raise ProtocolError("bad_frame", 'login needs "username" and "password"')
                    async with LOGINS:  # argon2 is memory- and CPU-hungry: two at a time
                        token, account = await self.accounts.login(username, password)
                elif frame["type"] == "auth":
                    given = frame.get("token")
                    found = await self.accounts.authenticate(given) if isinstance(given, str) else None
                    if found is None or not isinstance(given, str):
                        raise ProtocolError("session_expired", "your session has expired; sign in again")
                    token, account = given, found
                else:
                    raise ProtocolError("unauthorized", "sign in first")
            except AuthenticationError as exc:
                self._failures += 1
                await asyncio.sleep(0.5)  # slows down guessing
                await self.send({"type": "error", "code": "unauthorized", "ref": None, "message": str(exc)})
                if self._failures >= MAX_LOGIN_FAILURES:
                    await self.ws.close(1008, "too many failed sign-ins")
                    return False
                continue
            except ProtocolError as exc:
                await self.send(error_frame(exc))
                continue
            self.account, self._token = account, token
            await self.send(
                {
                    "type": "authed",
                    "token": token,
                    "agent": {
                        "username": account.username,
                        "display_name": account.display_name,
                        "role": account.role.value,
                    },
                }
            )
        return True

    async def _watch_session(self) -> None:
        """An idle console, too, stops receiving once its session ends (sign-out elsewhere, removal, expiry)."""
        assert self.accounts is not None
        while True:
            await asyncio.sleep(SESSION_CHECK_INTERVAL)
            try:
                alive = await self.accounts.authenticate(self._token) is not None
            except DeskmateError:
                continue  # the store is away: check again later
            if not alive:
                await self._session_ended(None)
                return

    async def _session_ended(self, ref: str | None) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.send(
                {
                    "type": "error",
                    "code": "session_expired",
                    "ref": ref,
                    "message": "your session has ended; sign in again",
                }
            )
        await self.ws.close(1008, "session ended")

    async def _send_queue(self) -> None:
        now = time.time()
        items = await self.desk.queue()
        await self.send(
            {"type": "queue", "items": [i.to_dict(now) for i in items], "agents_online": self.desk.agents_online}
        )

    async def _forward_queue(self, subscription: Subscription) -> None:
        try:
            while True:
                item = await subscription.get()
                if isinstance(item, Signal) and item.kind in ("queue_changed", "resync"):
                    try:
                        await self._send_queue()
                    except DeskmateError as exc:  # the next change sends the queue again
                        logger.warning("agent %s: queue update failed: %s", self.agent.username, exc)
        finally:
            subscription.close()

    async def _forward(self, conversation_id: str, subscription: Subscription, after: int) -> None:
        last = after
        while True:
            item = await subscription.get()
            if isinstance(item, Signal):
                if item.kind == "typing" and item.data.get("role") == "customer":
                    await self.send({"type": "typing", "conversation_id": conversation_id, "on": item.data["on"]})
                elif item.kind == "resync":  # the bus was away: what other replicas stored meanwhile
                    last = await self._catch_up(conversation_id, last)
                continue
            if item.seq <= last:
                continue
            if item.seq > last + 1:  # some never reached us (another replica's): from the store
                last = await self._catch_up(conversation_id, last)
                continue
            last = item.seq
            await self._send_event(conversation_id, transcript_item(item))

    async def _catch_up(self, conversation_id: str, last: int) -> int:
        """Send the conversation's stored events after ``last``; returns the new last one sent."""
        try:
            missed = [e for e in await self.desk.service.store.events(conversation_id) if e.seq > last]
        except DeskmateError as exc:  # the next event or resync tries again
            logger.warning("agent %s: catching up failed: %s", self.agent.username, exc)
            return last
        for event in missed:
            last = event.seq
            await self._send_event(conversation_id, transcript_item(event))
        return last

    async def _send_event(self, conversation_id: str, item: dict[str, Any]) -> None:
        """One new event; then the conversation's task, whole, if the event changed it."""
        await self.send({"type": "event", "conversation_id": conversation_id, "event": item})
        task = self._tasks.get(conversation_id)
        if task is not None:
            updated = task_after(task, item)
            if updated != task:
                self._tasks[conversation_id] = updated
                await self.send(task_frame(conversation_id, updated))

    async def _open(self, conversation_id: str) -> None:
        if conversation_id not in self._watching:
            if len(self._watching) >= MAX_OPEN:
                oldest = next(iter(self._watching))
                old_subscription, old_task = self._watching.pop(oldest)
                old_task.cancel()
                old_subscription.close()
                self._tasks.pop(oldest, None)
            subscription = self.desk.service.bus.subscribe(conversation_id)
            try:
                transcript = await self.desk.transcript(conversation_id)
            except BaseException:
                subscription.close()
                raise
            after = transcript["events"][-1]["seq"] if transcript["events"] else 0
            task = asyncio.create_task(self._forward(conversation_id, subscription, after))
            self._watching[conversation_id] = (subscription, task)
        else:
            transcript = await self.desk.transcript(conversation_id)
        view = task_view(transcript["events"])
        self._tasks[conversation_id] = view
        await self.send({"type": "transcript", **transcript, "task": view})

    async def _on_frame(self, raw: str | bytes) -> None:
        ref = None
        try:
            frame = parse_agent_frame(raw)
            ref = frame.get("id") if isinstance(frame.get("id"), str) else None
            kind = frame["type"]
            if not self.bucket.allow():
                raise ProtocolError("rate_limited", "too many requests; wait a moment and retry", ref=ref)
            # every frame: a session ended elsewhere (sign-out, account removed, expiry) ends here too
            if self.accounts is not None and await self.accounts.authenticate(self._token) is None:
                await self._session_ended(ref)
                return
            conversation_id = frame.get("conversation_id", "")
            set_conversation(conversation_id or None)  # this connection's task: log lines of this frame carry it
            if kind == "queue":
                await self._send_queue()
            elif kind == "open":
                await self._open(conversation_id)
            elif kind == "claim":
                await self.desk.claim(self.agent, conversation_id)
            elif kind == "reply":
                await self.desk.reply(self.agent, conversation_id, frame["text"].strip(), frame_id=frame["id"])
            elif kind == "hand_back":
                await self.desk.hand_back(self.agent, conversation_id)
            elif kind == "close":
                await self.desk.close(self.agent, conversation_id)
            elif kind == "typing":
                await self.desk.typing(conversation_id, who=self.agent.display_name, role="agent", on=frame["on"])
            elif kind == "inbox":
                items = await self.desk.inbox()
                await self.send(
                    {
                        "type": "inbox",
                        "items": [transcript_item(e) | {"conversation_id": e.conversation_id} for e in items],
                    }
                )
            elif kind == "export":
                await self.send({"type": "export", "transcript": await self.desk.transcript(conversation_id)})
            elif kind == "logout":
                assert self.accounts is not None
                await self.accounts.logout(self._token)
                await self.ws.close(1000, "signed out")
            else:
                raise ProtocolError("bad_frame", f"unknown frame type {kind!r}")
            if kind in ACTIONS:
                await self.send({"type": "ack", "id": ref})
        except ProtocolError as exc:
            await self.send(error_frame(exc))
        except ConversationError as exc:
            await self.send({"type": "error", "code": "conflict", "ref": ref, "message": str(exc)})
        except StoreError as exc:
            logger.error("agent %s: store failed: %s", self.agent.username, exc)
            await self.send(
                {
                    "type": "error",
                    "code": "internal",
                    "ref": None,
                    "message": "the database is busy or down; actions are resent when you reconnect",
                }
            )
        except DeskmateError as exc:
            await self.send({"type": "error", "code": "internal", "ref": ref, "message": str(exc)})
        except Exception:
            logger.exception("agent %s: unexpected error", self.agent.username)
            await self.send(
                {"type": "error", "code": "internal", "ref": ref, "message": "something went wrong on our side; retry"}
            )
