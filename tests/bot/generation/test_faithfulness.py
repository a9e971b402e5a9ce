"""bot.generation.faithfulness: sentence splitting, the lexical rules (with the hashing embedder and
the similarity floor off), the real MiniLM on the Ridgeline example, and the labelled set's floors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.bench.faithfulness import DEFAULT_DATA, load_set, run_faithfulness_benchmark, score
from bot.errors import ConfigError
from bot.generation.faithfulness import FaithfulnessCheck, split_sentences
from retrieval.embedder import HashingEmbedder

RETURNS = (
    "You can return unused items in their original condition, with tags, within 30 days of delivery. UK returns "
    "are free with our prepaid label; EU customers return by any tracked service at their own cost."
)
DELIVERY = (
    "UK standard delivery is £4.95 and free on orders over £50 (after discounts). Next-day delivery is £6.95. "
    "EU delivery is £9.95 and free on orders over £120."
)
COUNTRIES = (
    "We ship from the UK to the whole of the UK (including Northern Ireland), the Isle of Man, the Channel Islands "
    "and all 27 EU countries. We don't currently ship to the US, Canada, Norway, Switzerland or other countries "
    "outside the EU."
)
RIDGELINE = (
    "The Ridgeline is our three-season backpacking tent: it sleeps two, weighs 1.9 kg and is made for spring, "
    "summer and autumn trips."
)


@pytest.fixture
def lexical() -> FaithfulnessCheck:
    """The rules alone: hashed words for embeddings and no similarity floor."""
    return FaithfulnessCheck(HashingEmbedder(), min_similarity=0.0)


def test_split_sentences_keeps_prices_urls_and_placeholders_whole() -> None:
    text = (
        "Delivery is £4.95. Check pinecone-outfitters.example/giftcards for the balance! "
        "Is {order_id} yours?\n- Visa\n- Mastercard"
    )
    assert split_sentences(text) == [
        "Delivery is £4.95.",
        "Check pinecone-outfitters.example/giftcards for the balance!",
        "Is {order_id} yours?",
        "Visa",
        "Mastercard",
    ]


@pytest.mark.parametrize(
    "reply",
    [
        "Happy to help!",
        "Is there anything else I can help you with today?",
        "Sorry about that.",
        "I'm sorry, I don't know whether the Ridgeline is suitable for winter camping.",
        "I can pass you to a colleague who can help.",
        "Would you like me to pass you to a member of our team?",
    ],
)
def test_pleasantries_and_admissions_are_always_fine(lexical: FaithfulnessCheck, reply: str) -> None:
    verdict = lexical.check(reply, [RETURNS], question="Is the Ridgeline good for winter camping?")
    assert verdict.supported, verdict.reason
    assert all(s.kind != "claim" for s in verdict.sentences)


def test_an_admission_followed_by_a_claim_checks_the_claim(lexical: FaithfulnessCheck) -> None:
    verdict = lexical.check("I'm not sure, but the Ridgeline should be fine in snow.", [RIDGELINE])
    assert not verdict.supported
    assert "snow" in verdict.sentences[0].unsupported_words


@pytest.mark.parametrize(
    ("reply", "missing"),
    [
        ("You can return unused items within 14 days of delivery.", "14 day"),
        ("UK standard delivery is £3.95.", "£3.95"),
        ("Next-day delivery is £6.95 and free on orders over £100.", "£100"),
        ("Next-day delivery is available if you order by 3pm.", "3 pm"),
    ],
)
def test_numbers_must_match_the_passages(lexical: FaithfulnessCheck, reply: str, missing: str) -> None:
    verdict = lexical.check(reply, [RETURNS, DELIVERY, "Order next-day delivery by 1pm Monday to Friday."])
    assert not verdict.supported
    assert missing in verdict.sentences[0].unsupported_words
    assert f'"{missing}"' in verdict.reason


def test_number_words_and_ranges_match_their_digits(lexical: FaithfulnessCheck) -> None:
    passage = "We refund within 5-7 working days; banks can take a further 3-5 working days."
    assert lexical.check("We refund within five to seven working days.", [passage]).supported
    assert not lexical.check("We refund within 3-7 working days.", [passage]).supported


def test_words_only_in_the_question_are_not_support(lexical: FaithfulnessCheck) -> None:
    question = "Is the Ridgeline good for winter camping?"
    verdict = lexical.check("Yes, the Ridgeline is good for winter camping.", [RIDGELINE], question=question)
    assert not verdict.supported
    assert "winter" in verdict.sentences[0].unsupported_words
    assert '"winter" (only in the question)' in verdict.reason


def test_placeholders_are_opaque_tokens(lexical: FaithfulnessCheck) -> None:
    passage = "Thanks, I have your order number {order_id}. Its status is under Account > Orders."
    assert lexical.check("The status of {order_id} is under Account > Orders.", [passage]).supported
    other = lexical.check("The status of {return_id} is under Account > Orders.", [passage])
    assert not other.supported
    assert "{return_id}" in other.sentences[0].unsupported_words


def test_a_claim_the_passages_negate_is_unsupported(lexical: FaithfulnessCheck) -> None:
    verdict = lexical.check("Yes, we ship to Switzerland and all 27 EU countries.", [COUNTRIES])
    assert not verdict.supported
    assert "opposite" in verdict.reason
    assert lexical.check("Sorry, we don't currently ship to Switzerland.", [COUNTRIES]).supported
    assert lexical.check("We ship to all 27 EU countries.", [COUNTRIES]).supported


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("No, I'm a support agent at Pinecone Outfitters.", "claims to be a person"),
        ("My name is Sarah and I'm here to help.", "claims to be a person"),
        ("I've cancelled your order for you.", "reports what it did not do"),
        ("I can see your return has arrived.", "reports what it did not do"),
        ("Good news, your order has already been dispatched!", "states the customer's order"),
    ],
)
def test_the_bot_never_claims_a_person_an_action_or_the_order(lexical: FaithfulnessCheck, reply: str, why: str) -> None:
    verdict = lexical.check(reply, ["Orders are dispatched the same day. I've cancelled your order for you."])
    assert not verdict.supported
    assert why in verdict.reason


def test_a_conditional_about_the_order_is_not_a_claim_about_it(lexical: FaithfulnessCheck) -> None:
    passage = "If the option has gone, the parcel is already on its way and you can return it free within 30 days."
    assert lexical.check("If the option has gone, your parcel is already on its way.", [passage]).supported


def test_allowed_terms_are_always_supported() -> None:
    check = FaithfulnessCheck(HashingEmbedder(), min_similarity=0.0, allowed_terms=["Pinecone Outfitters"])
    assert check.check("Thanks for contacting Pinecone Outfitters!", [RETURNS]).supported


def test_bad_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="min_similarity"):
        FaithfulnessCheck(HashingEmbedder(), min_similarity=1.5)
    with pytest.raises(ValueError, match="max_unsupported_words"):
        FaithfulnessCheck(HashingEmbedder(), max_unsupported_words=-1)


def test_an_empty_reply_or_no_passages(lexical: FaithfulnessCheck) -> None:
    assert lexical.check("", [RETURNS]).supported
    assert not lexical.check("Returns are free within 30 days.", []).supported


def test_ridgeline_in_winter_is_unsupported_with_minilm(embedder: Any) -> None:
    check = FaithfulnessCheck(embedder)
    verdict = check.check(
        "The Ridgeline is a great choice for winter camping, as it's designed to withstand the elements.",
        [RIDGELINE],
        question="is the Ridgeline tent good for winter camping",
    )
    assert not verdict.supported
    assert {"winter", "withstand", "elements"} <= set(verdict.sentences[0].unsupported_words)
    assert verdict.reason.startswith('not in the passages: "winter" (only in the question)')
    assert '"withstand"' in verdict.reason


def test_a_faithful_paraphrase_is_supported_with_minilm(embedder: Any) -> None:
    check = FaithfulnessCheck(embedder)
    reply = (
        "Happy to help! The Ridgeline is a three-season tent for spring, summer and autumn trips. "
        "It sleeps two and weighs 1.9 kg."
    )
    verdict = check.check(reply, [RIDGELINE], question="is the Ridgeline tent good for winter camping")
    assert verdict.supported, verdict.reason
    assert [s.kind for s in verdict.sentences] == ["pleasantry", "claim", "claim"]
    assert all(s.score >= check.min_similarity for s in verdict.sentences[1:])


def test_load_set_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    good = {"question": "q", "passages": ["p"], "reply": "r", "supported": True}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "supported": "yes"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"set\.jsonl:2: .*true or false"):
        load_set(path)


def test_scores_count_unsupported_as_the_positive_class() -> None:
    result = score("x", unsupported=[True, True, False, False], flagged=[True, False, True, False])
    counts = (result.true_positives, result.false_positives, result.false_negatives, result.true_negatives)
    assert counts == (1, 1, 1, 1)
    assert result.precision == result.recall == result.f1 == result.accuracy == 0.5


def test_the_bundled_set_is_large_balanced_and_grounded_in_the_demo_kb() -> None:
    items = load_set(DEFAULT_DATA)
    unsupported = sum(not i.supported for i in items)
    assert len(items) >= 100
    assert 0.4 <= unsupported / len(items) <= 0.6
    assert {i.split for i in items} == {"dev", "test", "smollm2"}
    assert all(i.passages and i.reply and i.note for i in items)


def test_the_labelled_set_floors_with_minilm(embedder: Any, tmp_path: Path) -> None:
    """Measured: precision 0.990, recall 0.962 overall; held-out test split 1.000 / 0.950; SmolLM2 0.933 / 0.933."""
    report = run_faithfulness_benchmark(embedder=embedder, out=tmp_path / "faithfulness.json")
    ours, accept_all, cosine = report["results"]
    assert ours["precision"] >= 0.95
    assert ours["recall"] >= 0.9
    for split in ("test", "smollm2"):
        assert report["check_by_split"][split]["precision"] >= 0.85, split
        assert report["check_by_split"][split]["recall"] >= 0.85, split
    assert accept_all["recall"] == 0.0
    assert ours["f1"] > cosine["f1"] + 0.1
    assert json.loads((tmp_path / "faithfulness.json").read_text())["dataset"]["items"] == len(load_set(DEFAULT_DATA))
