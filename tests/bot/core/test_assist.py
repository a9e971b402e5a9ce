"""Agent assist: suggestions from templates and retrieved replies, best first, no repeats."""

from __future__ import annotations

from bot.core.assist import suggest
from bot.core.policy import Understanding
from kb.model import SYSTEM_DEFAULTS, Intent, KnowledgeBase
from retrieval.retriever import RetrievedReply
from training.prediction import rank

KB = KnowledgeBase(
    name="Kettle Co",
    description="",
    language="en",
    system=dict(SYSTEM_DEFAULTS),
    intents=(
        Intent("leak", "Leak", ("it leaks",)),
        Intent("hours", "Hours", ("when open",)),
        Intent("human", "Person", ("a person",), handoff=True),
    ),
    responses={"leak": ("We will replace it.", "Sorry, a new one is coming."), "hours": ("Open 9 to 5.",)},
    faq=(),
    dialogues=(),
)


def understood(probs: dict[str, float], retrieved: list[tuple[str, float]]) -> Understanding:
    hits = tuple(RetrievedReply(text, "q", score, f"dialogue:d{i}#0") for i, (text, score) in enumerate(retrieved))
    return Understanding(rank(list(probs), list(probs.values())), hits)


def test_templates_and_retrieved_replies_are_ranked_by_score() -> None:
    understanding = understood(
        {"leak": 0.7, "human": 0.2, "hours": 0.1}, [("Check the seal under the lid.", 0.85), ("Try descaling.", 0.3)]
    )
    suggestions = suggest(understanding, KB)

    assert [s.text for s in suggestions] == ["Check the seal under the lid.", "We will replace it.", "Try descaling."]
    assert [s.source for s in suggestions] == ["retrieved", "template", "retrieved"]
    assert suggestions[1].intent == "leak" and suggestions[0].match == "dialogue:d0#0"


def test_handoff_intents_have_no_template_and_the_same_text_is_offered_once() -> None:
    understanding = understood({"human": 0.9, "leak": 0.1}, [("we will replace it.", 0.5), ("Open 9 to 5.", 0.2)])
    suggestions = suggest(understanding, KB, limit=3)

    texts = [s.text.lower() for s in suggestions]
    assert len(texts) == len(set(texts))
    assert all(s.intent != "human" for s in suggestions)
    assert suggest(understood({"human": 1.0}, []), KB) == []


def test_a_template_needing_an_unknown_slot_is_not_suggested_until_the_slot_is_known() -> None:
    from dataclasses import replace

    from kb.model import Template

    kb = replace(
        KB,
        responses={**KB.responses, "hours": ("We open at 9; your order {order_id} ships today.",)},
        templates={**KB.templates, "hours": (Template("We open at 9; your order {order_id} ships today."),)},
    )
    understanding = understood({"hours": 0.9, "leak": 0.1}, [])

    assert [s.intent for s in suggest(understanding, kb)] == ["leak"]
    filled = suggest(understanding, kb, slots={"order_id": "PC-123456"})
    assert filled[0].text == "We open at 9; your order PC-123456 ships today."


def test_a_past_reply_shows_its_placeholders_filled_only_from_this_conversation() -> None:
    hit = RetrievedReply("I've sent a returns link for {order_id} to {email}.", "q", 0.9, "dialogue:d1#1", case_specific=True)
    understanding = Understanding(rank(["greet"], [0.2]), (hit,))

    (unknown,) = [s for s in suggest(understanding, KB) if s.source == "retrieved"]
    (known,) = [s for s in suggest(understanding, KB, slots={"order_id": "PC-998834"}) if s.source == "retrieved"]

    assert unknown.text == "I've sent a returns link for {order_id} to {email}."
    assert unknown.placeholders == ("email", "order_id") and unknown.case_specific
    assert known.text == "I've sent a returns link for PC-998834 to {email}."
    assert known.to_dict()["placeholders"] == ["email"] and known.to_dict()["case_specific"] is True
