"""Calling a separate Rasa action server over its webhook protocol.

``POST <url>/webhook`` with the JSON payload of :meth:`ActionCall.payload`; the server answers
``200 {"events": [...], "responses": [...]}``, or an error: ``404 {"error", "action_name"}`` for
an unknown action, ``400`` when the action rejected the call, ``449`` when it wants the domain,
``500 {"error"}`` when the action raised. Start one with
``python -m rasa_sdk --actions kb.demo.actions --port 5055`` (``SANIC_HOST`` sets the address it
binds, 0.0.0.0 by default).

The request runs in a worker thread with ``urllib`` (no extra HTTP dependency).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from bot.actions.calls import ActionCall
from bot.actions.results import ActionResult, parse_result
from bot.actions.runners import DEFAULT_TIMEOUT
from bot.errors import ActionError

logger = logging.getLogger(__name__)

START_HINT = "start it with `python -m rasa_sdk --actions <package> --port <port>`"


class RemoteActionRunner:
    """Runs actions on the Rasa action server at ``url`` (e.g. ``http://localhost:5055``)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not url.startswith(("http://", "https://")):
            raise ActionError(
                f"action server URL {url!r} is not an http(s) URL; give one like http://localhost:5055",
                reason="unreachable",
            )
        base = url.rstrip("/")
        self.url = base
        self.webhook = base if base.endswith("/webhook") else base + "/webhook"
        self.timeout = timeout

    async def run(self, call: ActionCall) -> ActionResult:
        body = json.dumps(call.payload()).encode("utf-8")
        try:
            status, raw = await asyncio.wait_for(asyncio.to_thread(self._post, body), self.timeout + 1.0)
        except TimeoutError as exc:  # the socket's timeout, or the overall bound (DNS and the rest)
            raise self._timeout(call) from exc
        try:
            data = json.loads(raw) if raw else None
        except ValueError as exc:
            raise ActionError(
                f"the action server at {self.url} answered action `{call.name}` with HTTP {status} and a body "
                "that is not JSON; check that the URL points at a Rasa action server",
                action=call.name,
                reason="bad_response",
            ) from exc
        if status != 200:
            raise self._http_error(call, status, data)
        logger.debug("conversation %s: action %s ran on %s", call.sender_id, call.name, self.url)
        return parse_result(data, action=call.name, source=f"the action server at {self.url}")

    async def close(self) -> None:
        return None

    def _post(self, body: bytes) -> tuple[int, bytes]:
        """One POST; HTTP error statuses are returned, not raised (their JSON says what went wrong)."""
        request = urllib.request.Request(
            self.webhook, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return int(exc.code), bytes(exc.read())
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise TimeoutError(str(exc.reason)) from exc
            raise ActionError(
                f"cannot reach the action server at {self.url} ({exc.reason}); check that it is running and "
                f"the URL is right, or {START_HINT}",
                reason="unreachable",
            ) from exc
        except TimeoutError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise ActionError(
                f"the connection to the action server at {self.url} failed ({exc}); check that it is running, "
                f"or {START_HINT}",
                reason="unreachable",
            ) from exc

    def _timeout(self, call: ActionCall) -> ActionError:
        return ActionError(
            f"action `{call.name}` got no answer from {self.url} within {self.timeout:g} s; check that the action "
            "server is up and the action is not stuck (its log says), or give the runner a longer timeout",
            action=call.name,
            reason="timeout",
        )

    def _http_error(self, call: ActionCall, status: int, data: Any) -> ActionError:
        said = data.get("error") if isinstance(data, dict) else None
        detail = f": {said}" if said else ""
        if status == 404 and isinstance(data, dict) and "action_name" in data:
            message = (
                f"the action server at {self.url} has no action `{call.name}`{detail}; check the action name, and "
                "that the server was started with the package that defines it (`--actions <package>`)"
            )
            reason = "not_found"
        elif status == 404:
            message = (
                f"{self.webhook} was not found (HTTP 404); give the action server's base URL, such as "
                "http://localhost:5055, and check that it is a Rasa action server"
            )
            reason = "http"
        elif status in (400, 449):
            message = f"action `{call.name}` refused to run on {self.url} (HTTP {status}){detail}"
            reason = "rejected"
        elif status >= 500:
            message = (
                f"action `{call.name}` failed on the action server at {self.url} (HTTP {status}){detail}; "
                "see the action server's log for the traceback and fix the action"
            )
            reason = "failed"
        else:
            message = f"the action server at {self.url} answered action `{call.name}` with HTTP {status}{detail}"
            reason = "http"
        return ActionError(message, action=call.name, reason=reason)
