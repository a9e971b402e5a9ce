"""Brain.understand with in-memory twins: retrieval queries carry the conversation's context."""

from __future__ import annotations

from bot.service.brain import Brain
from kb.model import SYSTEM_DEFAULTS, Intent, KnowledgeBase
from retrieval.embedder import HashingEmbedder
from retrieval.pairs import Pair, join_context
from retrieval.retriever import Retriever
from training.memory import InMemoryIntentClassifier

KB = KnowledgeBase(
    name="Kettle Co",
    description="",
    language="en",
    system=dict(SYSTEM_DEFAULTS),
    intents=(Intent("leak", "Leak", ("my kettle leaks",)), Intent("hours", "Hours", ("when are you open",))),
    responses={"leak": ("We will replace it.",), "hours": ("Open 9 to 5.",)},
    faq=(),
    dialogues=(),
)

# The same customer words ("yes please") answered differently after different agent questions.
PAIRS = [
    Pair(join_context(["my kettle leaks", "Shall I send a new lid?"], "yes please"), "yes please", "Lid posted.", "d1"),
    Pair(join_context(["when are you open", "Want our holiday hours?"], "yes please"), "yes please", "9 to 1.", "d2"),
]


def brain() -> Brain:
    embedder = HashingEmbedder()
    classifier = InMemoryIntentClassifier({i.name: i.examples for i in KB.intents})
    return Brain.assemble(KB, classifier, Retriever.build(embedder, PAIRS))


def test_the_context_picks_the_past_reply_that_fits_the_conversation() -> None:
    b = brain()
    lid, hours = b.understand(
        ["yes please", "yes please"],
        [("my kettle leaks", "Shall I send a new lid?"), ("when are you open", "Want our holiday hours?")],
    )

    assert lid.retrieved[0].reply == "Lid posted."
    assert hours.retrieved[0].reply == "9 to 1."
    assert lid.prediction == hours.prediction  # the intent model sees the message alone


def test_without_context_the_message_alone_is_searched() -> None:
    (alone,) = brain().understand(["yes please"])
    (empty,) = brain().understand(["yes please"], [()])

    assert [r.reply for r in alone.retrieved] == [r.reply for r in empty.retrieved]


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return super().encode(texts)


def test_only_messages_with_context_are_encoded_again_and_a_mixed_batch_matches_one_by_one() -> None:
    b = brain()
    counting = CountingEmbedder()
    b.retriever.embedder = counting
    context = ("my kettle leaks", "Shall I send a new lid?")

    lid, first = b.understand(["yes please", "when are you open"], [context, ()])

    assert counting.calls == [["yes please", "when are you open"], [join_context(context, "yes please")]]
    assert lid.retrieved == b.understand(["yes please"], [context])[0].retrieved
    assert first.retrieved == b.understand(["when are you open"])[0].retrieved
    counting.calls.clear()
    b.understand(["hello", "hi"], [(), ()])
    assert counting.calls == [["hello", "hi"]]  # no context at all: one encoding
