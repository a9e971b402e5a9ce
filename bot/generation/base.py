"""The generator seam: chat messages in, text deltas out, within a deadline.

Every backend (an OpenAI-compatible endpoint, the local SmolLM2 model, the in-memory twin) has
``stream(messages, *, max_tokens, timeout)``, an async iterator of text deltas, and ``complete``,
the joined text. Failures are :class:`~bot.errors.GenerationError`; timeouts are enforced here,
once, by :func:`within_deadline`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict

from bot.errors import GenerationError

DEFAULT_MAX_TOKENS = 128  # one to three sentences, with room to spare


class ChatMessage(TypedDict):
    """One chat-completions message, as sent on the wire."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Timeout:
    """How long a generation may take: until its first text, and in all (seconds)."""

    first_token: float
    total: float

    def __post_init__(self) -> None:
        for name in ("first_token", "total"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Timeout.{name} must be a positive number of seconds, not {value!r}")

    @classmethod
    def of(cls, value: float | Timeout) -> Timeout:
        """``value`` as a Timeout: a plain number bounds both the first text and the whole answer."""
        return value if isinstance(value, Timeout) else cls(first_token=float(value), total=float(value))


class Generator(Protocol):
    """A text generator. Subclass it to inherit ``complete``; implement ``stream``."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | Timeout | None = None,
    ) -> AsyncIterator[str]:
        """Text deltas of the answer to ``messages``, in order (``timeout=None``: the generator's own).

        Raises GenerationError when the backend fails, including past either deadline; closing
        the iterator early stops the generation.
        """
        ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | Timeout | None = None,
    ) -> str:
        """The whole answer to ``messages``: the joined deltas of ``stream``."""
        parts: list[str] = []
        stream = self.stream(messages, max_tokens=max_tokens, timeout=timeout)
        try:
            async for delta in stream:
                parts.append(delta)
        finally:
            await _aclose(stream)
        return "".join(parts)


async def within_deadline(source: AsyncIterator[str], timeout: Timeout, *, what: str) -> AsyncIterator[str]:
    """Pass ``source``'s deltas through, raising GenerationError(reason="timeout") past a deadline.

    The first-token deadline holds until the first non-empty delta; the total deadline covers the
    whole stream. ``what`` names the backend in the message. ``source`` is closed in every case.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    first_seen = False
    try:
        while True:
            elapsed = loop.time() - started
            left = timeout.total - elapsed
            if not first_seen:
                left = min(left, timeout.first_token - elapsed)
            try:
                async with asyncio.timeout(max(left, 0.0)) as scope:
                    delta = await anext(source)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if not scope.expired():
                    raise
                if first_seen:
                    message = f"{what} did not finish its answer within {timeout.total:g} s"
                else:
                    message = f"{what} sent no text within {min(timeout.first_token, timeout.total):g} s"
                raise GenerationError(
                    message + "; the model server may be overloaded: raise the timeout or use a smaller model",
                    reason="timeout",
                ) from None
            if delta:
                first_seen = True
                yield delta
    finally:
        await _aclose(source)


async def _aclose(stream: AsyncIterator[str]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
