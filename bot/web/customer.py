"""The customer websocket (``/ws/customer``): hello, then messages, feedback and typing; bus events out.

A thin adapter over :class:`~bot.service.chat.ChatService` (docs/protocol.md, "Customer websocket protocol"):
it decodes frames (bot/web/protocol.py), rate-limits them per connection and per address, calls the
service, and forwards the conversation's stored events and live signals as frames. Nothing is lost
when the store is away: the customer's message stays queued in the widget and is resent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bot.bus.base import Signal, Subscription
from bot.core.conversation import State
from bot.core.events import CONTACT_REQUEST, CUSTOMER_MESSAGE, STATE_CHANGED, StoredEvent
from bot.errors import ConversationError, DeskmateError, ProtocolError, StoreError
from bot.ops.logcontext import set_conversation
from bot.service.chat import ChatService, Session
from bot.service.desk import AgentDesk
from bot.service.feedback import answer_survey, end_chat, rate_answer
from bot.web.limits import AddressLimits, TokenBucket
from bot.web.protocol import (
    End,
    Feedback,
    Survey,
    error_frame,
    event_frame,
    parse_client_frame,
    signal_frame,
)
from bot.web.protocol import history as welcome_history

logger = logging.getLogger(__name__)


HELLO_TIMEOUT = 30.0
TYPING_INTERVAL = 1.0


class CustomerConnection:
    """One customer's websocket: hello, then messages; bus events forwarded as frames."""

    def __init__(
        self,
        ws: ServerConnection,
        service: ChatService,
        desk: AgentDesk,
        bucket: TokenBucket,
        *,
        address: str = "unknown",
        limits: AddressLimits | None = None,
    ) -> None:
        self.ws = ws
        self.service = service
        self.desk = desk
        self.bucket = bucket
        self.address = address
        self.limits = limits
        self.session: Session | None = None
        self.subscription: Subscription | None = None
        self._last_seq = 0
        self._typing = False
        self._typing_at = 0.0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def run(self) -> None:
        forwarder: asyncio.Task[None] | None = None
        try:
            await self._await_hello()
            forwarder = asyncio.create_task(self._forward())
            async for raw in self.ws:
                await self._on_frame(raw)
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            if forwarder is not None:
                forwarder.cancel()
            if self.subscription is not None:
                self.subscription.close()

    async def _await_hello(self) -> None:
        while self.session is None:
            raw = await asyncio.wait_for(self.ws.recv(), HELLO_TIMEOUT)
            try:
                frame = parse_client_frame(raw)
                if frame["type"] != "hello":
                    raise ProtocolError("hello_required", 'send {"type": "hello", "session": null} first')
                if frame["session"] is None and self.limits is not None and not self.limits.allow(self.address):
                    # a new conversation costs a message: opening many is rate-limited like sending many
                    raise ProtocolError("rate_limited", "too many new conversations; wait a moment and try again")
                await self._open(frame["session"], frame["page"], frame["language"])
            except ProtocolError as exc:
                await self.send(error_frame(exc))
            except DeskmateError as exc:
                logger.error("cannot open a session: %s", exc)
                await self.send(
                    {
                        "type": "error",
                        "code": "internal",
                        "ref": None,
                        "message": "the chat is unavailable right now; please try again in a minute",
                    }
                )

    async def _open(self, token: str | None, page: str | None, language: str | None = None) -> None:
        session = await self.service.open_session(token, page=page, language=language)
        set_conversation(session.conversation_id)  # this connection's log lines (and its forwarder's) carry it
        subscription = self.service.bus.subscribe(session.conversation_id)
        try:
            # Events stored between open_session and subscribe are fetched again so none is missed.
            events = await self.service.store.events(session.conversation_id)
        except BaseException:
            subscription.close()  # the client may send hello again: no orphaned subscription
            raise
        self.session, self.subscription = session, subscription
        self._last_seq = events[-1].seq if events else 0
        history = welcome_history(events)
        await self.send(
            {
                "type": "welcome",
                "session": session.token,
                "conversation_id": session.conversation_id,
                "state": session.state,
                "history": history,
            }
        )
        if session.state == State.WAITING_FOR_AGENT.value:
            position = await self.desk.position(session.conversation_id)
            await self.send({"type": "queue", "position": position, "agents_online": self.desk.agents_online})

    async def _forward(self) -> None:
        try:
            await self._forward_events()
        except (ConnectionClosed, asyncio.CancelledError):
            raise
        except Exception:  # never a silent half-dead connection: the widget reconnects and resumes
            logger.exception("customer connection: forwarding failed")
            await self.ws.close(1011, "internal error; reconnect")

    async def _forward_events(self) -> None:
        assert self.subscription is not None
        while True:
            item = await self.subscription.get()
            if isinstance(item, Signal):
                if item.kind == "resync":  # the bus was away: send what other replicas stored meanwhile
                    await self._catch_up()
                    continue
                frame = signal_frame(item)
                if frame is not None:
                    await self.send(frame)
                continue
            if item.seq <= self._last_seq:
                continue
            if item.seq > self._last_seq + 1:  # some never reached us (another replica's): from the store
                await self._catch_up()
                continue
            self._last_seq = item.seq
            await self._send_event(item)

    async def _catch_up(self) -> None:
        assert self.session is not None
        try:
            events = await self.service.store.events(self.session.conversation_id)
        except StoreError as exc:  # the next resync or a reconnect brings them
            logger.warning("conversation %s: catching up failed: %s", self.session.conversation_id, exc)
            return
        for event in events:
            if event.seq > self._last_seq:
                self._last_seq = event.seq
                await self._send_event(event)

    async def _send_event(self, event: StoredEvent) -> None:
        if event.kind in (CUSTOMER_MESSAGE, CONTACT_REQUEST):
            await self.send({"type": "ack", "id": event.client_id})
            return
        frame = event_frame(event)
        if frame is not None:
            await self.send(frame)

    async def _feedback(self, frame: Feedback | Survey | End) -> None:
        """Thumbs on an answer, a survey score or "end chat": stored, then acknowledged."""
        assert self.session is not None
        conversation_id = self.session.conversation_id
        if frame["type"] == "feedback":
            await rate_answer(
                self.service,
                conversation_id,
                client_id=frame["id"],
                reply=frame["reply"],
                value=frame["value"],
                comment=frame["comment"],
            )
        elif frame["type"] == "survey":
            await answer_survey(
                self.service, conversation_id, client_id=frame["id"], score=frame["score"], comment=frame["comment"]
            )
        elif await end_chat(self.service, conversation_id):
            try:
                await self.desk.notify_queue()  # it may have been waiting for an agent
            except DeskmateError as exc:
                logger.warning("conversation %s: queue update failed: %s", conversation_id, exc)
        await self.send({"type": "ack", "id": frame["id"]})

    async def _on_frame(self, raw: str | bytes) -> None:
        assert self.session is not None
        ref = None
        try:
            frame = parse_client_frame(raw)
            if frame["type"] == "hello":
                raise ProtocolError("bad_frame", "this connection already has a session; send messages")
            if frame["type"] == "typing":
                now = time.monotonic()
                # a repeat at most once a second, a change at most four times a second
                if now - self._typing_at >= (TYPING_INTERVAL if frame["on"] == self._typing else 0.25):
                    self._typing, self._typing_at = frame["on"], now
                    await self.desk.typing(
                        self.session.conversation_id, who="customer", role="customer", on=frame["on"]
                    )
                return
            ref = frame["id"]
            if not self.bucket.allow() or (self.limits is not None and not self.limits.allow(self.address)):
                raise ProtocolError(
                    "rate_limited", "you are sending messages too fast; wait a moment and resend", ref=ref
                )
            if frame["type"] == "contact":
                email, text, client_id = frame["email"], frame["text"], frame["id"]
                await self.service.change(
                    self.session.conversation_id, lambda c: c.leave_contact(email, text, client_id=client_id)
                )
                await self.send({"type": "ack", "id": client_id})  # also for a resend stored before
                return
            if frame["type"] == "feedback" or frame["type"] == "survey" or frame["type"] == "end":
                await self._feedback(frame)
                return
            duplicate, events = await self.service.customer_message(
                self.session.conversation_id, client_id=frame["id"], text=frame["text"], intent=frame.get("intent")
            )
            if duplicate:
                for event in events:
                    await self._send_event(event)
            elif any(e.kind == STATE_CHANGED for e in events):
                try:
                    await self.desk.notify_queue()  # a handoff: agents see it, the customer their position
                except DeskmateError as exc:  # the message and the handoff are stored; agents see it on refresh
                    logger.warning("conversation %s: queue update failed: %s", self.session.conversation_id, exc)
        except ProtocolError as exc:
            await self.send(error_frame(exc))
        except StoreError as exc:
            logger.error("conversation %s: store failed: %s", self.session.conversation_id, exc)
            # ref stays null: the client keeps the message queued and resends it shortly (and on reconnect).
            await self.send(
                {
                    "type": "error",
                    "code": "internal",
                    "ref": None,
                    "message": "your message could not be saved yet; it will be resent automatically in a moment",
                }
            )
        except ConversationError:  # closed by an agent: the widget starts a new conversation
            await self.send(
                {
                    "type": "error",
                    "code": "closed",
                    "ref": None,
                    "message": "this conversation was closed; your message will start a new one",
                }
            )
        except DeskmateError as exc:
            logger.error("conversation %s: %s", self.session.conversation_id, exc)
            await self.send({"type": "error", "code": "internal", "ref": ref, "message": str(exc)})
        except Exception:
            logger.exception("conversation %s: unexpected error", self.session.conversation_id)
            await self.send(
                {
                    "type": "error",
                    "code": "internal",
                    "ref": ref,
                    "message": "something went wrong on our side; please resend your message",
                }
            )
