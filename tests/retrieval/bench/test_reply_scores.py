"""retrieval.bench.reply_scores: match rate, coverage, precision and wrong answers on hand-made outcomes."""

from __future__ import annotations

import pytest

from bot.core.policy import Action
from retrieval.bench.reply_scores import (
    Outcome,
    breakdown,
    format_breakdown,
    format_table,
    handled_view,
    ratios,
    score_outcomes,
)

GOLD = ["a", "b", "c", "d", "e"]
POLICY = [
    Outcome(Action.ANSWER, "a"),  # right
    Outcome(Action.RETRIEVED, "x"),  # wrong
    Outcome(Action.CLARIFY, options=("c", "z")),  # no reply, the right option offered
    Outcome(Action.HANDOFF),  # no reply
    Outcome(Action.RETRIEVED, "e"),  # right
]
ALONE = [Outcome(Action.RETRIEVED, label) for label in ["a", "b", "z", "d", None]]  # None: a free-text reply


def test_score_outcomes_by_hand() -> None:
    scores = score_outcomes("policy", POLICY, GOLD)

    assert (scores.queries, scores.replies, scores.right, scores.handoffs) == (5, 3, 2, 1)
    assert scores.match_rate == pytest.approx(2 / 5)
    assert scores.coverage == pytest.approx(3 / 5)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.wrong_rate == pytest.approx(1 / 5)
    assert (scores.wrong_retrieved, scores.wrong_from_retrieved) == (1, 1.0)  # the one wrong reply was retrieved


def test_retrieval_alone_always_replies_and_a_free_text_reply_is_wrong() -> None:
    scores = score_outcomes("alone", ALONE, GOLD)

    assert scores.coverage == 1.0
    assert scores.match_rate == pytest.approx(3 / 5)
    assert scores.precision == pytest.approx(3 / 5)
    assert scores.wrong_rate == pytest.approx(2 / 5)
    assert scores.wrong_from_retrieved == 1.0


def test_wrong_answers_are_split_by_where_they_came_from() -> None:
    outcomes = [Outcome(Action.ANSWER, "x"), Outcome(Action.ANSWER, "b"), Outcome(Action.RETRIEVED, None)]

    scores = score_outcomes("mixed", outcomes, ["a", "b", "c"])

    assert scores.wrong_retrieved == 1
    assert scores.wrong_from_retrieved == pytest.approx(1 / 2)
    assert score_outcomes("right", outcomes[1:2], ["b"]).wrong_from_retrieved is None  # no wrong reply


def test_handled_view_counts_a_handoff_as_covered_and_not_wrong() -> None:
    handled = handled_view(score_outcomes("policy", POLICY, GOLD), name="handled")

    assert handled.name == "handled"
    assert handled.coverage == pytest.approx(4 / 5)
    assert handled.precision == pytest.approx(3 / 4)
    assert handled.match_rate == pytest.approx(3 / 5)
    assert handled.wrong_rate == pytest.approx(1 / 5)  # the same wrong answers
    assert handled.wrong_from_retrieved == 1.0


def test_breakdown_by_decision_kind() -> None:
    rows = {r.kind: r for r in breakdown(POLICY, GOLD, ALONE)}

    assert list(rows) == ["answer", "retrieved", "clarify", "handoff", "fallback"]
    assert (rows["answer"].count, rows["answer"].right, rows["answer"].retrieval_alone_right) == (1, 1.0, 1.0)
    assert rows["retrieved"].count == 2
    assert rows["retrieved"].right == pytest.approx(1 / 2)
    assert rows["retrieved"].retrieval_alone_right == pytest.approx(1 / 2)  # b right, the free-text reply wrong
    assert (rows["clarify"].right, rows["clarify"].retrieval_alone_right) == (1.0, 0.0)  # "c" among the options
    assert (rows["handoff"].right, rows["handoff"].retrieval_alone_right) == (None, 1.0)
    assert (rows["fallback"].count, rows["fallback"].share, rows["fallback"].right) == (0, 0.0, None)
    assert sum(r.count for r in rows.values()) == len(GOLD)
    assert rows["retrieved"].share == pytest.approx(2 / 5)


def test_scores_need_one_gold_label_per_outcome() -> None:
    with pytest.raises(ValueError, match="pair up"):
        score_outcomes("x", POLICY, GOLD[:2])
    with pytest.raises(ValueError, match="pair up"):
        breakdown(POLICY, GOLD, ALONE[:1])
    empty = score_outcomes("x", [], [])
    assert (empty.match_rate, empty.coverage, empty.precision, empty.wrong_rate) == (0.0, 0.0, None, 0.0)


def test_ratios_and_tables() -> None:
    policy, alone = score_outcomes("policy", POLICY, GOLD), score_outcomes("alone", ALONE, GOLD)
    nothing = score_outcomes("silent", [Outcome(Action.FALLBACK)] * 5, GOLD)

    ratio = ratios(policy, alone)
    assert ratio["match_rate"] == pytest.approx((2 / 5) / (3 / 5))
    assert ratio["coverage"] == pytest.approx(3 / 5)
    assert ratio["precision"] == pytest.approx((2 / 3) / (3 / 5))
    assert ratio["wrong_rate"] == pytest.approx(1 / 2)
    assert ratios(nothing, alone)["precision"] is None  # no reply: no precision to compare

    table = format_table([alone, policy, nothing], alone).splitlines()
    assert table[0].split()[:3] == ["method", "match", "%"]
    assert table[0].split()[-3:] == ["wrong", "retrieved", "%"]
    assert table[2].split() == [
        "alone",
        *("60.00", "100.00", "60.00", "40.00"),
        *("1.00x", "1.00x", "1.00x", "1.00x"),
        "100.00",
    ]
    assert table[3].split()[:5] == ["policy", "40.00", "60.00", "66.67", "20.00"]
    assert table[4].split()[3] == "-"
    assert table[4].split()[-1] == "-"  # no wrong reply to split
    kinds = format_breakdown(breakdown(POLICY, GOLD, ALONE)).splitlines()
    assert kinds[2].split() == ["answer", "1", "20.00", "100.00", "100.00"]
    assert kinds[5].split() == ["handoff", "1", "20.00", "-", "100.00"]
