"""The websocket server: a thin adapter between frames and the chat service.

One port serves the customer, agent and admin websockets (``/ws/customer``, ``/ws/agent``,
``/ws/admin``: bot/web/customer.py, bot/web/agents.py, bot/web/admin.py), the widget files, the demo
page, the console and admin pages, their texts in each language (``/i18n/``), ``/site.json`` (the KB's
languages), ``/healthz`` and ``/metrics``. The adapters only decode frames, call the service and write
what comes back.

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
from collections.abc import AsyncIterator, Awaitable
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from bot.ops.metrics import Metrics
from bot.service.accounts import Accounts
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.service.desk import AgentDesk
from bot.service.reloader import KBReloader
from bot.storage.insights import InsightsStore
from bot.web.admin import AdminConnection
from bot.web.agents import AgentConnection
from bot.web.customer import CustomerConnection
from bot.web.limits import AddressLimits, TokenBucket
from bot.web.protocol import (
    MAX_FRAME,
)

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
    # the pages' texts, one catalogue per language, and the helper that reads them (i18n/i18n.js)
    **{
        f"/i18n/{file.name}": f"i18n/{file.name}"
        for pattern in ("*.js", "*.json")
        for file in sorted((WEB_DIR / "i18n").glob(pattern))
    },
}
# served to any origin, never cached: the widget embedded on a shop's site loads them from here, and a
# browser must not mix the files of two versions
SHARED = ("widget", "i18n/")
TYPES = {  # fixed, not guessed from the machine's MIME tables
    ".html": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".ico": "image/vnd.microsoft.icon",
    ".json": "application/json",
}
CUSTOMER_PATH = "/ws/customer"
ADMIN_PATH = "/ws/admin"
AGENT_PATH = "/ws/agent"


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

    def process_request(self, connection: ServerConnection, request: Request) -> Response | Awaitable[Response] | None:
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
                health["bus"] = (
                    "ok" if healthy else "degraded: Redis is unreachable; live updates resume when it is back"
                )
            return _response(HTTPStatus.OK, json.dumps(health).encode(), "application/json")
        if path == "/metrics":
            return self._metrics(request)
        if path == "/site.json":
            return self._site()
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
        shared = name.startswith(SHARED)
        return _response(
            HTTPStatus.OK, file.read_bytes(), content_type, cache=name != "index.html" and not shared, shared=shared
        )

    def _site(self) -> Response:
        """What the pages need to know of the KB: its name and languages (the default first).

        A page with no catalogue for the browser's language shows the KB's default one
        (bot/web/static/i18n/i18n.js); the widget on a shop's site reads it too, so it is shared.
        """
        kb = self.service.brain.kb
        site = {"kb": kb.name, "language": kb.language, "languages": list(kb.languages)}
        return _response(HTTPStatus.OK, json.dumps(site).encode(), "application/json", shared=True)

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
                HTTPStatus.FORBIDDEN,
                f"This page's origin may not connect: {hint}.\n".encode(),
                "text/plain; charset=utf-8",
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
