"""Generation with a way out: stream deltas while they come, and on failure stop and say how it ended.

::

    guarded = with_fallback(generator, messages, fallback_text=best_reply, timeout=Timeout(3, 20))
    async for delta in guarded:          # never raises GenerationError
        send_partial(delta)
    outcome = guarded.outcome
    if outcome.status is GenerationStatus.FAILED_MID_STREAM:
        retract_partial()                # the customer saw part of an answer: replace it
    send_final(outcome.reply)            # the generated text, or fallback_text after a failure

Leading whitespace is held back, so the first delta a caller sees is real text; an answer that is
empty or only whitespace counts as a failure before any text.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bot.errors import GenerationError
from bot.generation.base import DEFAULT_MAX_TOKENS, ChatMessage, Generator, Timeout


class GenerationStatus(enum.Enum):
    PENDING = "pending"  # not run to its end yet
    COMPLETED = "completed"  # the whole answer arrived
    FAILED_BEFORE_TEXT = "failed_before_text"  # nothing was streamed: send fallback_text as usual
    FAILED_MID_STREAM = "failed_mid_stream"  # part of an answer was streamed, then it failed


@dataclass
class GenerationOutcome:
    status: GenerationStatus
    text: str  # what was streamed (the whole answer when completed), without surrounding whitespace
    fallback_text: str
    error: GenerationError | None = None

    @property
    def failed(self) -> bool:
        return self.status in (GenerationStatus.FAILED_BEFORE_TEXT, GenerationStatus.FAILED_MID_STREAM)

    @property
    def reply(self) -> str:
        """The text to keep: the generated answer, or ``fallback_text`` after a failure."""
        if self.status is GenerationStatus.PENDING:
            raise RuntimeError("the generation has not finished: iterate the stream (or await run()) first")
        return self.text if self.status is GenerationStatus.COMPLETED else self.fallback_text


class GuardedStream:
    """One guarded generation: iterate it once for the deltas, then read :attr:`outcome`."""

    def __init__(
        self,
        generator: Generator,
        messages: Sequence[ChatMessage],
        *,
        fallback_text: str,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | Timeout | None = None,
    ) -> None:
        self.outcome = GenerationOutcome(GenerationStatus.PENDING, "", fallback_text)
        self._generator = generator
        self._messages = list(messages)
        self._max_tokens = max_tokens
        self._timeout = timeout
        self._started = False

    def __aiter__(self) -> AsyncIterator[str]:
        if self._started:
            raise RuntimeError("a GuardedStream can be iterated only once")
        self._started = True
        return self._deltas()

    async def run(self) -> GenerationOutcome:
        """Consume the whole stream without looking at the deltas; the outcome."""
        async for _ in self:
            pass
        return self.outcome

    async def _deltas(self) -> AsyncIterator[str]:
        parts: list[str] = []
        source = self._generator.stream(self._messages, max_tokens=self._max_tokens, timeout=self._timeout)
        try:
            async for delta in source:
                if not parts:
                    delta = delta.lstrip()
                    if not delta:
                        continue
                parts.append(delta)
                yield delta
        except GenerationError as exc:
            status = GenerationStatus.FAILED_MID_STREAM if parts else GenerationStatus.FAILED_BEFORE_TEXT
            self._finish(status, parts, exc)
            return
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        if parts:
            self._finish(GenerationStatus.COMPLETED, parts, None)
        else:
            self._finish(
                GenerationStatus.FAILED_BEFORE_TEXT,
                parts,
                GenerationError("the model returned an empty answer", reason="empty"),
            )

    def _finish(self, status: GenerationStatus, parts: list[str], error: GenerationError | None) -> None:
        self.outcome = GenerationOutcome(status, "".join(parts).strip(), self.outcome.fallback_text, error)


def with_fallback(
    generator: Generator,
    messages: Sequence[ChatMessage],
    *,
    fallback_text: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    timeout: float | Timeout | None = None,
) -> GuardedStream:
    """Stream ``generator``'s answer to ``messages``; on any GenerationError stop quietly.

    Read the returned stream's ``outcome`` afterwards: ``COMPLETED``, ``FAILED_BEFORE_TEXT`` or
    ``FAILED_MID_STREAM``, with the error, and ``reply``, the text to keep.
    """
    return GuardedStream(generator, messages, fallback_text=fallback_text, max_tokens=max_tokens, timeout=timeout)
