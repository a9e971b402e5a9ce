"""Customer session tokens: random, signed and expiring.

A token is ``<nonce>.<expires>.<signature>``: 32 random bytes, the expiry (unix seconds) and an
HMAC-SHA256 of both under the server's secret key (``DESKMATE_SECRET_KEY``, the same on every
replica). A forged, altered or expired token is refused before the store is asked; a valid one
still has to match the hash the store keeps for its conversation, so the token is the only way
into a conversation and the store never holds a usable token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from bot.errors import ProtocolError

SESSION_UNKNOWN = "this session is unknown or expired; send hello with session null to start a new conversation"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SessionSigner:
    def __init__(
        self, secret: str | None, *, lifetime_s: float = 30 * 86400, clock: Callable[[], float] = time.time
    ) -> None:
        # No secret configured: a random one, so tokens end with the process (single-server demo only).
        self._key = (secret or secrets.token_urlsafe(48)).encode("utf-8")
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self) -> str:
        body = f"{_b64(secrets.token_bytes(32))}.{int(self._clock() + self.lifetime_s)}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> None:
        """Raise ``ProtocolError("session_unknown")`` unless ``token`` is one this key issued and unexpired."""
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii() or not parts[1].isdigit():
            raise ProtocolError("session_unknown", SESSION_UNKNOWN)
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(body), parts[2]) or int(parts[1]) < self._clock():
            raise ProtocolError("session_unknown", SESSION_UNKNOWN)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())
