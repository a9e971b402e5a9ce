"""A client for the admin websocket, used by ``deskmate kb reload|rollback`` (see bot/web/admin.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bot.errors import DeskmateError

RELOAD_TIMEOUT = 1800.0  # a reload that retrains the classifier takes minutes on a small CPU


class ServerUnreachableError(DeskmateError):
    """No Deskmate server answered at the given address."""


async def admin_change(
    server: str, token: str, frame: dict[str, Any], *, timeout: float = RELOAD_TIMEOUT
) -> dict[str, Any]:
    """Send a ``reload`` or ``rollback`` frame and return the server's ``reload_done`` frame."""
    return await _exchange(server, token, frame, "reload_done", timeout)


async def admin_versions(server: str, token: str, *, timeout: float = 30.0) -> dict[str, Any]:
    return await _exchange(server, token, {"type": "versions", "id": "cli-versions"}, "versions", timeout)


async def _exchange(server: str, token: str, frame: dict[str, Any], answer: str, timeout: float) -> dict[str, Any]:
    url = f"ws://{server}/ws/admin"
    try:
        async with asyncio.timeout(timeout), connect(url, open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            authed = json.loads(await ws.recv())
            if authed.get("type") != "authed":  # the server's message says what to check
                code = authed.get("code", "error")
                raise DeskmateError(f"{server} refused the admin token ({code}): {authed.get('message', authed)}")
            await ws.send(json.dumps(frame))
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("type") == "error":
                    raise DeskmateError(f"the server refused the request: {reply.get('message')}")
                if reply.get("type") == answer:
                    return dict(reply)
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise ServerUnreachableError(
            f"no Deskmate server at {url} ({exc}); start it with `deskmate serve` or pass --server HOST:PORT"
        ) from exc
    except ConnectionClosed as exc:
        raise DeskmateError(f"the server closed the admin connection ({exc}); check its log") from exc
    except TimeoutError as exc:
        raise DeskmateError(f"no answer from {url} within {timeout:.0f} s; check the server's log") from exc
