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


def counted_brain() -> tuple[Brain, CountingEmbedder]:
    counting = CountingEmbedder()
    classifier = InMemoryIntentClassifier({i.name: i.examples for i in KB.intents})
    return Brain.assemble(KB, classifier, Retriever.build(counting, PAIRS)), counting


def test_each_turn_is_encoded_once_and_a_mixed_batch_matches_one_by_one() -> None:
    b, counting = counted_brain()
    counting.calls.clear()
    context = ("my kettle leaks", "Shall I send a new lid?")

    lid, first = b.understand(["yes please", "when are you open"], [context, ()])

    # one encoding for the batch: its messages and the earlier turns not seen before
    assert counting.calls == [sorted({"yes please", "when are you open", *context})]
    counting.calls.clear()
    assert lid.retrieved == b.understand(["yes please"], [context])[0].retrieved
    assert first.retrieved == b.understand(["when are you open"])[0].retrieved
    assert counting.calls == []  # every turn already has its vector
    b.understand(["thanks", "hi"], [("yes please", "Lid posted."), ()])
    assert counting.calls == [["Lid posted.", "hi", "thanks"]]  # only what is new


def test_a_restarted_brain_encodes_the_stored_turns_again_and_answers_the_same() -> None:
    b, _ = counted_brain()
    context = ("my kettle leaks", "Shall I send a new lid?")
    (before,) = b.understand(["yes please"], [context])
    again, counting = counted_brain()  # a new process: an empty cache
    counting.calls.clear()

    (after,) = again.understand(["yes please"], [context])

    assert counting.calls == [sorted({"yes please", *context})]
    assert after.retrieved == before.retrieved


def test_a_retriever_of_joined_texts_still_gets_its_context() -> None:
    counting = CountingEmbedder()
    classifier = InMemoryIntentClassifier({i.name: i.examples for i in KB.intents})
    b = Brain.assemble(KB, classifier, Retriever.build(counting, PAIRS, turn_weights=None))
    counting.calls.clear()
    context = ("my kettle leaks", "Shall I send a new lid?")

    (lid,) = b.understand(["yes please"], [context])

    assert lid.retrieved[0].reply == "Lid posted."
    assert counting.calls[-1] == [join_context(context, "yes please")]
