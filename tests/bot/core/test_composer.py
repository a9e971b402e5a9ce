"""bot.core.composer: reply texts from templates, retrieved replies and system messages."""

from __future__ import annotations

import pytest

from bot.core.composer import Composer
from bot.core.policy import Action, Decision, HandoffReason
from kb.model import SYSTEM_DEFAULTS, Intent, KnowledgeBase
from retrieval.retriever import RetrievedReply

VARIATIONS = ("First wording.", "Second wording.", "Third wording.")


def make_kb() -> KnowledgeBase:
    return KnowledgeBase(
        name="Kettle Co",
        description="",
        language="en",
        system={**SYSTEM_DEFAULTS, "clarify": "Which one did you mean?"},
        intents=(
            Intent("kettle_leak", "Report a leak", ("my kettle leaks",)),
            Intent("opening_hours", "Opening hours", ("when are you open",)),
            Intent("human", "Talk to a person", ("a person",), handoff=True),
        ),
        responses={"kettle_leak": VARIATIONS, "opening_hours": ("9 to 5.",)},
        faq=(),
        dialogues=(),
    )


@pytest.fixture
def composer() -> Composer:
    return Composer(make_kb())


def test_answer_rotates_variations(composer: Composer) -> None:
    decision = Decision(Action.ANSWER, "confident_intent", intent="kettle_leak", confidence=0.91234)

    texts = [composer.compose(decision, turn=turn).text for turn in range(5)]

    assert texts == [*VARIATIONS, VARIATIONS[0], VARIATIONS[1]]


def test_answer_metadata(composer: Composer) -> None:
    decision = Decision(
        Action.ANSWER,
        "confident_intent",
        intent="opening_hours",
        confidence=0.912345,
        notes={"top": 0.912345, "second": 0.0512},
    )

    reply = composer.compose(decision, turn=7)

    assert reply.kind == "bot_reply"
    assert reply.text == "9 to 5."
    assert reply.data == {
        "rule": "confident_intent",
        "intent": "opening_hours",
        "confidence": 0.9123,
        "notes": {"top": 0.9123, "second": 0.0512},
        "source": "template",
        "response": "opening_hours",
    }


def test_retrieved_reply(composer: Composer) -> None:
    hit = RetrievedReply("Descale it with vinegar.", "kettle is noisy", 0.87, "dialogue:d4#2")
    decision = Decision(Action.RETRIEVED, "good_retrieval", intent="kettle_leak", confidence=0.4, retrieved=hit)

    reply = composer.compose(decision, turn=0)

    assert reply.kind == "bot_reply"
    assert reply.text == "Descale it with vinegar."
    assert reply.data["source"] == "retrieved"
    assert reply.data["match"] == "dialogue:d4#2"


def test_clarify_offers_labelled_options(composer: Composer) -> None:
    decision = Decision(Action.CLARIFY, "ambiguous", intent="kettle_leak", options=("kettle_leak", "mystery_intent"))

    reply = composer.compose(decision, turn=0)

    assert reply.kind == "clarify"
    assert reply.text == "Which one did you mean?"
    assert reply.data["options"] == [
        {"intent": "kettle_leak", "label": "Report a leak"},
        {"intent": "mystery_intent", "label": "mystery intent"},  # unknown intents get a readable label
    ]


def test_handoff(composer: Composer) -> None:
    decision = Decision(Action.HANDOFF, "ambiguous_again", intent="kettle_leak", reason=HandoffReason.AMBIGUOUS)

    reply = composer.compose(decision, turn=0)

    assert reply.kind == "handoff"
    assert reply.text == SYSTEM_DEFAULTS["handoff"]
    assert reply.data["reason"] == "ambiguous"


def test_fallback(composer: Composer) -> None:
    reply = composer.compose(Decision(Action.FALLBACK, "unsure", intent="kettle_leak"), turn=3)

    assert reply.kind == "bot_reply"
    assert reply.text == SYSTEM_DEFAULTS["fallback"]
    assert reply.data["source"] == "fallback"


def test_answer_for_intent_without_template_falls_back(composer: Composer) -> None:
    reply = composer.compose(Decision(Action.ANSWER, "chosen_option", intent="human", confidence=1.0), turn=0)

    assert reply.data["source"] == "fallback"


def test_greeting_and_labels(composer: Composer) -> None:
    greeting = composer.greeting()

    assert greeting.kind == "bot_reply"
    assert greeting.text == SYSTEM_DEFAULTS["greeting"]
    assert greeting.data == {"source": "system"}
    assert composer.label("human") == "Talk to a person"
    assert composer.label("track_my_order") == "track my order"


def test_a_retrieved_reply_is_filled_from_this_conversations_slots_only(composer: Composer) -> None:
    hit = RetrievedReply("{order_id} can be cancelled under Account > Orders.", "cancel?", 0.9, "dialogue:d1#0")
    decision = Decision(Action.RETRIEVED, "good_retrieval", intent="x", confidence=0.3, retrieved=hit)

    filled = composer.compose(decision, turn=0, slots={"order_id": "PC-998834"})
    unfilled = composer.compose(decision, turn=0, slots={})

    assert filled.text == "PC-998834 can be cancelled under Account > Orders."
    assert filled.data["source"] == "retrieved" and filled.data["slots"] == ["order_id"]
    assert "{order_id}" not in unfilled.text and unfilled.data["source"] == "fallback"
    assert unfilled.data["withheld"] == "dialogue:d1#0"


def test_a_case_specific_reply_is_never_composed_as_the_bots_own(composer: Composer) -> None:
    hit = RetrievedReply("I've cancelled it for you.", "cancel", 0.95, "dialogue:d1#1", case_specific=True)
    decision = Decision(Action.RETRIEVED, "good_retrieval", intent="x", confidence=0.3, retrieved=hit)

    assert composer.compose(decision, turn=0).data["source"] == "fallback"
