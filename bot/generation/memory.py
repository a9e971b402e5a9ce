"""The in-memory twin of a generator: scripted deltas, optional pauses and failures, no model.

For tests of whatever sits above the generator seam (composer, conversation, server), and for
running the demo with generation switched on but no model at hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bot.errors import GenerationError
from bot.generation.base import DEFAULT_MAX_TOKENS, ChatMessage, Generator, Timeout, within_deadline


@dataclass(frozen=True)
class GenerationCall:
    messages: list[ChatMessage]
    max_tokens: int


class ScriptedGenerator(Generator):
    """Streams ``deltas`` (cut to ``max_tokens`` of them) and records every call in ``calls``.

    ``first_delay`` and ``delay`` pause before the first and each later delta (seconds);
    ``fail_after=n`` raises ``error`` after n deltas (0: before any).
    """

    def __init__(
        self,
        deltas: Sequence[str],
        *,
        first_delay: float = 0.0,
        delay: float = 0.0,
        fail_after: int | None = None,
        error: GenerationError | None = None,
        timeout: float | Timeout = 30.0,
    ) -> None:
        self.deltas = list(deltas)
        self.first_delay = first_delay
        self.delay = delay
        self.fail_after = fail_after
        self.error = error or GenerationError("scripted failure", reason="failed")
        self.timeout = Timeout.of(timeout)
        self.calls: list[GenerationCall] = []

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | Timeout | None = None,
    ) -> AsyncIterator[str]:
        self.calls.append(GenerationCall(list(messages), max_tokens))
        limits = self.timeout if timeout is None else Timeout.of(timeout)
        return within_deadline(self._stream(max_tokens), limits, what="the scripted generator")

    async def _stream(self, max_tokens: int) -> AsyncIterator[str]:
        for n, delta in enumerate(self.deltas[:max_tokens]):
            if n == self.fail_after:
                raise self.error
            await asyncio.sleep(self.first_delay if n == 0 else self.delay)
            yield delta
        if self.fail_after is not None and self.fail_after >= min(len(self.deltas), max_tokens):
            raise self.error
