"""The websocket server: a thin adapter between frames and the chat service.

One port serves the customer websocket (``/ws/customer``), the agent and admin websockets
(``/ws/agent``, ``/ws/admin``: bot/web/agents.py, bot/web/admin.py), the widget files, the demo
page, the console and admin pages, ``/healthz`` and ``/metrics``. The adapter only decodes frames,
calls the service and writes what comes back.

Before a websocket handshake it checks the page's origin (this server's own pages, plus
``DESKMATE_ALLOWED_ORIGINS`` for the customer widget embedded on a shop's site; a request with no
Origin header is not a browser page and passes) and how many connections the client address
already holds. Customer messages are rate-limited per connection and per address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bot.bus.base import Signal, Subscription
from bot.core.conversation import State
from bot.core.events import CONTACT_REQUEST, CUSTOMER_MESSAGE, STATE_CHANGED, StoredEvent
from bot.errors import ConversationError, DeskmateError, ProtocolError, StoreError
from bot.ops.logcontext import set_conversation
from bot.ops.metrics import Metrics
from bot.service.accounts import Accounts
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService, Session
from bot.service.desk import AgentDesk
from bot.service.feedback import answer_survey, end_chat, rate_answer
from bot.service.reloader import KBReloader
from bot.storage.insights import InsightsStore
from bot.web.admin import AdminConnection
from bot.web.agents import AgentConnection
from bot.web.limits import AddressLimits, TokenBucket
from bot.web.protocol import (
    MAX_FRAME,
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

WEB_DIR = Path(__file__).resolve().parent / "static"
STATIC = {
    "/": "index.html",
    "/index.html": "index.html",
    "/widget.js": "widget.js",
    "/widget.css": "widget.css",
    "/admin": "admin.html",
    "/admin.js": "admin.js",
    "/admin.css": "admin.css",
    "/console": "console.html",
    "/console.js": "console.js",
    "/console.css": "console.css",
    "/favicon.ico": "favicon.ico",
    "/favicon.svg": "favicon.svg",
    # the widget's and the admin page's ES modules (a build-free split: see widget.js), and front-end
    # libraries installed from the npm registry (bot/web/vendor/fetch.sh)
    **{
        f"/{folder}/{module.name}": f"{folder}/{module.name}"
        for folder in ("widget", "admin", "vendor")
        for module in sorted((WEB_DIR / folder).glob("*.js"))
    },
}
TYPES = {  # fixed, not guessed from the machine's MIME tables
    ".html": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".ico": "image/vnd.microsoft.icon",
}
CUSTOMER_PATH = "/ws/customer"
ADMIN_PATH = "/ws/admin"
AGENT_PATH = "/ws/agent"
HELLO_TIMEOUT = 30.0
TYPING_INTERVAL = 1.0


def _response(
    status: HTTPStatus, body: bytes, content_type: str, *, cache: bool = False, shared: bool = False
) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cache-Control"] = "public, max-age=300" if cache else "no-store"
    if content_type.startswith("text/html"):  # the pages must not be framed by another site
        headers["X-Frame-Options"] = "DENY"
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    if shared:  # a module script loaded by a shop's page on another origin needs CORS; it is public code
        headers["Access-Control-Allow-Origin"] = "*"
    return Response(status.value, status.phrase, headers, body)


class DeskmateServer:
    def __init__(
        self,
        service: ChatService,
        *,
        rate: float = 1.0,
        burst: int = 10,
        reloader: KBReloader | None = None,
        admin_token: str | None = None,
        accounts: Accounts | None = None,
        review: CandidateReview | None = None,
        insights: InsightsStore | None = None,
        origins: frozenset[str] = frozenset(),
        address_limits: AddressLimits | None = None,
        trust_proxy: bool = False,
        metrics: Metrics | None = None,
        metrics_token: str | None = None,
    ) -> None:
        self.service = service
        self.rate = rate
        self.burst = burst
        self.reloader = reloader
        self.admin_token = admin_token
        self.accounts = accounts
        self.insights = insights  # the admin's figures (None: the admin page says they are unavailable)
        self.desk = AgentDesk(service, review=review)
        self.origins = origins  # pages of other sites that may embed the widget ("*": any)
        self.address_limits = address_limits or AddressLimits(max_connections=30, rate=10.0, burst=60)
        self.trust_proxy = trust_proxy  # behind a reverse proxy: the client is in X-Forwarded-For
        self.metrics = metrics or Metrics(build_id=service.brain.build_id)
        self.metrics_token = metrics_token  # None: /metrics is open (keep the port private)

    # HTTP --------------------------------------------------------------------------------------

    def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | Awaitable[Response] | None:
        path = request.path.split("?", 1)[0]
        if path in (CUSTOMER_PATH, ADMIN_PATH, AGENT_PATH):
            refusal = self._refuse_handshake(path, request, self.client_address(connection, request))
            if refusal is not None:
                return refusal
            return None  # go on with the websocket handshake
        if path == "/healthz":
            health = {"status": "ok", "kb": self.service.brain.kb.name, "build": self.service.brain.build_id}
            healthy = getattr(self.service.bus, "healthy", None)
            if healthy is not None:  # the Redis bus: live updates between replicas wait while it is down
                health["bus"] = "ok" if healthy else "degraded: Redis is unreachable; live updates resume when it is back"
            return _response(HTTPStatus.OK, json.dumps(health).encode(), "application/json")
        if path == "/metrics":
            return self._metrics(request)
        name = STATIC.get(path)
        if name is None:
            return _response(
                HTTPStatus.NOT_FOUND, b"Not found. The chat widget is at /widget.js.\n", "text/plain; charset=utf-8"
            )
        file = WEB_DIR / name
        # set here, not guessed: browsers refuse a module script served with any other type
        content_type = "text/javascript" if name.endswith(".js") else TYPES.get(file.suffix) or "text/plain"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return _response(
            HTTPStatus.OK,
            file.read_bytes(),
            content_type,
            # never cached: a browser must not mix the widget's modules of two versions
            cache=name != "index.html" and not name.startswith("widget"),
            shared=name.startswith("widget"),
        )

    async def _metrics(self, request: Request) -> Response:
        if self.metrics_token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.metrics_token}".encode()):
                return _response(
                    HTTPStatus.UNAUTHORIZED,
                    b"Send the metrics token: Authorization: Bearer <DESKMATE_METRICS_TOKEN>.\n",
                    "text/plain; charset=utf-8",
                )
        self.metrics.set_build(self.service.brain.build_id)
        body, content_type = await self.metrics.render(self.service.store, accept=request.headers.get("Accept", ""))
        return _response(HTTPStatus.OK, body, content_type)

    def client_address(self, connection: ServerConnection, request: Request) -> str:
        if self.trust_proxy:
            forwarded = request.headers.get("X-Forwarded-For")
            if forwarded:
                return forwarded.split(",")[-1].strip()  # what our proxy saw; earlier hops can be forged
        remote = connection.remote_address
        return str(remote[0]) if remote else "unknown"

    def _refuse_handshake(self, path: str, request: Request, address: str) -> Response | None:
        origin = request.headers.get("Origin")
        if origin is not None and not self._origin_allowed(path, origin, request.headers.get("Host", "")):
            logger.warning("refused a %s websocket from origin %s", path, origin[:100])
            hint = "add it to DESKMATE_ALLOWED_ORIGINS" if path == CUSTOMER_PATH else "use this server's own page"
            return _response(
                HTTPStatus.FORBIDDEN, f"This page's origin may not connect: {hint}.\n".encode(), "text/plain; charset=utf-8"
            )
        if self.address_limits.full(address):
            return _response(
                HTTPStatus.TOO_MANY_REQUESTS,
                b"Too many open chat connections from your address; close some and try again.\n",
                "text/plain; charset=utf-8",
            )
        return None

    def _origin_allowed(self, path: str, origin: str, host: str) -> bool:
        if urlsplit(origin).netloc.lower() == host.lower():
            return True  # this server's own pages
        # only the customer widget may be embedded elsewhere; the consoles are served from here
        return path == CUSTOMER_PATH and ("*" in self.origins or origin.rstrip("/").lower() in self.origins)

    # Websocket ---------------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path.split("?", 1)[0]
        address = self.client_address(ws, ws.request)
        if not self.address_limits.opened(address):
            await ws.close(1013, "too many connections from this address; try again later")
            return
        role = "admin" if path == ADMIN_PATH else "agent" if path == AGENT_PATH else "customer"
        try:
            with self.metrics.connection(role):
                if path == ADMIN_PATH:
                    await AdminConnection(
                        ws,
                        self.reloader,
                        self.admin_token,
                        accounts=self.accounts,
                        review=self.desk.review,
                        insights=self.insights,
                    ).run()
                elif path == AGENT_PATH:
                    await AgentConnection(ws, self.desk, self.accounts, TokenBucket(rate=5.0, burst=30)).run()
                else:
                    bucket = TokenBucket(rate=self.rate, burst=self.burst)
                    await CustomerConnection(
                        ws, self.service, self.desk, bucket, address=address, limits=self.address_limits
                    ).run()
        finally:
            self.address_limits.closed(address)

    @contextlib.asynccontextmanager
    async def running(self, host: str, port: int) -> AsyncIterator[Server]:
        async with serve(
            self.handle,
            host,
            port,
            process_request=self.process_request,
            max_size=MAX_FRAME,
            ping_interval=20,
            ping_timeout=20,
        ) as server:
            presence = asyncio.create_task(self.desk.presence.run())  # agents on the other replicas
            try:
                yield server
            finally:
                presence.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await presence


def bound_port(server: Server) -> int:
    for sock in server.sockets:
        return int(sock.getsockname()[1])
    raise RuntimeError("the server has no listening socket")


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
                await self._open(frame["session"], frame["page"])
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

    async def _open(self, token: str | None, page: str | None) -> None:
        session = await self.service.open_session(token, page=page)
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
