"""bot.generation.guard: sentences held back until complete, and each checked, with in-memory checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.generation.guard import ReplyGuard, SentenceGate, stream_checked


def test_the_gate_lets_out_complete_sentences_only() -> None:
    gate = SentenceGate()

    assert gate.feed("Yes, we ship ") == []
    assert gate.feed("there. It takes 4-8") == ["Yes, we ship there. "]
    assert gate.feed(" days! Costs £9.95 (or") == ["It takes 4-8 days! "]
    assert gate.feed(" free).") == []
    assert gate.flush() == "Costs £9.95 (or free)."
    assert gate.flush() is None


def test_decimals_and_versions_do_not_end_a_sentence() -> None:
    gate = SentenceGate()

    assert gate.feed("It costs £9.95 and v2.1 fits. Next") == ["It costs £9.95 and v2.1 fits. "]


@dataclass(frozen=True)
class Found:
    kind: str
    value: str


class Orders:
    def find(self, text: str) -> Sequence[Found]:
        return [Found("order_id", word.strip(".,")) for word in text.split() if word.startswith("PC-")]


@dataclass(frozen=True)
class Support:
    supported: bool
    reason: str


class Words:
    """Supported when every word of the sentence is in a passage."""

    def check(self, reply: str, passages: Sequence[str], *, question: str = "") -> Support:
        words = set(" ".join(passages).lower().replace(".", "").split())
        missing = [w for w in reply.lower().replace(".", "").split() if w not in words]
        return Support(not missing, f"not in the passages: {missing}" if missing else "")


GUARD = ReplyGuard(finder=Orders(), support=Words())
PASSAGES = ["{order_id} ships today", "we ship to germany"]


def check(sentence: str, *, slots: dict[str, str] | None = None, said: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return GUARD.check(sentence, passages=PASSAGES, question="q", slots=slots or {}, customer_said=said)


def test_a_supported_sentence_passes_with_its_placeholders_filled_from_this_conversation() -> None:
    verdict = check("{order_id} ships today.", slots={"order_id": "PC-998834"}, said=("it's PC-998834",))

    assert verdict.ok and verdict.text == "PC-998834 ships today."


def test_each_failure_says_what_failed() -> None:
    assert check("{order_id} ships today.").failure == "placeholder"
    assert "{order_id}" in check("{order_id} ships today.").reason
    assert check("I'm a support agent at the shop.").failure == "persona"
    assert check("PC-118834 ships today.", said=("PC-998834",)).failure == "personal_data"
    assert check("we ship to germany in winter.").failure == "unsupported"
    assert check("we ship to germany.").ok


def test_a_value_the_customer_gave_may_be_repeated() -> None:
    assert GUARD.check(
        "PC-998834 ships today.", passages=["pc-998834 ships today"], question="q", slots={}, customer_said=("pc-998834",)
    ).ok


async def _deltas(*parts: str):  # type: ignore[no-untyped-def]
    for part in parts:
        yield part


async def test_stream_checked_sends_each_passed_sentence_and_stops_at_the_first_failure() -> None:
    sent: list[str] = []

    async def send(sentence: str) -> None:
        sent.append(sentence)

    async def checking(sentence: str):  # type: ignore[no-untyped-def]
        return check(sentence.strip())

    checked = await stream_checked(
        _deltas("we ship ", "to germany. we ship ", "in winter. {order_id} ships today."),
        check=checking,
        send=send,
        finished=lambda: True,
    )

    assert sent == ["we ship to germany."] and checked.text == "we ship to germany."
    assert checked.failed is not None and checked.failed.failure == "unsupported"


async def test_a_cut_off_answers_tail_is_not_sent() -> None:
    sent: list[str] = []

    async def send(sentence: str) -> None:
        sent.append(sentence)

    async def checking(sentence: str):  # type: ignore[no-untyped-def]
        return check(sentence.strip())

    cut = await stream_checked(_deltas("we ship to germany. we ship"), check=checking, send=send, finished=lambda: False)
    whole = await stream_checked(_deltas("we ship to germany"), check=checking, send=send, finished=lambda: True)

    assert cut.sent == ["we ship to germany."] and cut.failed is None
    assert whole.sent == ["we ship to germany"]
