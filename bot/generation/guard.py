"""What a generated reply must pass before a customer sees it, sentence by sentence.

A small model writes fluent text that may be untrue for this customer. Each sentence is held back
until it is complete and checked; the first one that fails stops the reply, and the caller lets
the policy's next rules answer instead (clarify, hand off, rephrase). A sentence fails when:

- **placeholder**: it holds a ``{placeholder}`` this conversation has no value for (the passages
  are de-identified; a model may copy ``{order_id}`` from them). Known ones are filled from this
  conversation's slots, never from anywhere else;
- **personal_data**: it holds a personal value (an order number, an address, a name...) that the
  customer did not give in this conversation and the KB does not hold as its own;
- **persona**: it says the bot is a person ("I'm a support agent at ...");
- **unsupported**: the faithfulness check finds it is not supported by the grounding passages.

::

    checked = await stream_checked(deltas, check=..., send=..., finished=...)
    checked.failed          # the first sentence that failed (None: every one passed and was sent)

:func:`stream_checked` cuts the deltas into sentences (:class:`SentenceGate`), checks each one
(:meth:`ReplyGuard.check`, off the event loop) and sends it only when it passed.

Pure apart from the checks it is given (seams: :class:`PersonalDataFinder`, :class:`SupportCheck`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kb.placeholders import fill_known, known_slots, placeholder_names
from retrieval.persona import claims_to_be_person
from retrieval.privacy.pii import occurs

# A sentence ends at . ! ? or … (closing quotes and brackets kept), followed by white space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+")


class Found(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...


class PersonalDataFinder(Protocol):
    """Finds personal values in a text (the KB's de-identifier: retrieval/privacy/masking.py)."""

    def find(self, text: str) -> Sequence[Found]: ...


class Support(Protocol):
    @property
    def supported(self) -> bool: ...

    @property
    def reason(self) -> str: ...


class SupportCheck(Protocol):
    """Whether a text says only what the passages support (bot/generation/faithfulness.py)."""

    def check(self, reply: str, passages: Sequence[str], *, question: str = "") -> Support: ...


@dataclass(frozen=True)
class Verdict:
    """A checked sentence: ``text`` is what may be sent (placeholders filled) when ``ok``."""

    ok: bool
    text: str
    failure: str | None = None  # placeholder | personal_data | persona | unsupported
    reason: str = ""  # for the agent console, e.g. 'not in the passages: "winter"'


class SentenceGate:
    """Cuts streamed text into complete sentences; what is left waits for more text or :meth:`flush`."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, delta: str) -> list[str]:
        self._pending += delta
        sentences: list[str] = []
        while True:
            match = _SENTENCE_END.search(self._pending)
            if match is None:
                return sentences
            sentence, self._pending = self._pending[: match.end()], self._pending[match.end() :]
            if sentence.strip():
                sentences.append(sentence)

    def flush(self) -> str | None:
        rest, self._pending = self._pending, ""
        return rest if rest.strip() else None


class ReplyGuard:
    """Checks one sentence of a generated reply; see the module docstring for the failures."""

    def __init__(self, *, finder: PersonalDataFinder | None, support: SupportCheck | None) -> None:
        self.finder = finder
        self.support = support

    def check(
        self,
        sentence: str,
        *,
        passages: Sequence[str],
        question: str,
        slots: Mapping[str, str],
        customer_said: Collection[str],
    ) -> Verdict:
        """``customer_said``: what the customer wrote in this conversation (their own values may be repeated)."""
        known = known_slots(slots)
        missing = [name for name in placeholder_names(sentence) if name not in known]
        if missing:
            names = ", ".join(f"{{{name}}}" for name in missing)
            return Verdict(False, sentence, "placeholder", f"needs {names}, which this customer has not given")
        filled = fill_known(sentence, known)
        persona = claims_to_be_person(filled)
        if persona:
            return Verdict(False, filled, "persona", "the reply says it is a person")
        if self.finder is not None:
            said = " ".join(customer_said)
            foreign = [f for f in self.finder.find(filled) if not occurs(f.value, said)]
            if foreign:
                kinds = ", ".join(sorted({f.kind for f in foreign}))
                return Verdict(False, filled, "personal_data", f"holds personal data the customer did not give ({kinds})")
        if self.support is not None:
            support = self.support.check(sentence, passages, question=question)
            if not support.supported:
                return Verdict(False, filled, "unsupported", support.reason or "not supported by the passages")
        return Verdict(True, filled)


@dataclass
class Checked:
    """What :func:`stream_checked` let through: the sentences sent, and the first that failed."""

    sent: list[str] = field(default_factory=list)
    failed: Verdict | None = None

    @property
    def text(self) -> str:
        return "".join(self.sent).strip()


async def stream_checked(
    deltas: AsyncIterable[str],
    *,
    check: Callable[[str], Awaitable[Verdict]],
    send: Callable[[str], Awaitable[None]],
    finished: Callable[[], bool],
) -> Checked:
    """Send each complete sentence of ``deltas`` once ``check`` passed it; stop at the first that fails.

    The text left when the deltas end is the last sentence, checked the same way, but only when
    ``finished()`` says the generation completed (a cut-off answer's tail is not sent).
    """
    gate = SentenceGate()
    checked = Checked()

    async def take(sentence: str) -> bool:
        verdict = await check(sentence)
        if not verdict.ok:
            checked.failed = verdict
            return False
        checked.sent.append(verdict.text)
        await send(verdict.text)
        return True

    stream = aiter(deltas)
    try:
        async for delta in stream:
            for sentence in gate.feed(delta):
                if not await take(sentence):
                    return checked  # the generator is closed below: no more tokens for nothing
        tail = gate.flush()
        if tail is not None and finished():
            await take(tail)
        return checked
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()

