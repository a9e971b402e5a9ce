"""How well a method's replies match the human agent's: one :class:`Outcome` per query in, numbers out.

A method either sends a reply (the policy's ANSWER with a template, or a retrieved past reply), or
sends none (CLARIFY, HANDOFF, FALLBACK). A reply is right when its action label equals the gold
label, the label of what the human agent did next. Over all queries:

* match rate: right replies / queries (no reply is a miss);
* coverage: replies / queries; precision: right / replies;
* wrong-answer rate: wrong replies / queries, what a support team pays for;
* wrong from retrieval: the share of the wrong replies that were retrieved past replies.

:func:`handled_view` counts a handoff as a handled message (covered and not wrong), and
:func:`breakdown` splits a method's outcomes by decision kind. No model, no dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.policy import Action

KINDS = (Action.ANSWER, Action.RETRIEVED, Action.CLARIFY, Action.HANDOFF, Action.FALLBACK)
REPLIES = frozenset({Action.ANSWER, Action.RETRIEVED})


@dataclass(frozen=True)
class Outcome:
    """What a method did with one query: its decision and the label of the reply it sent, if any."""

    action: Action
    label: str | None = None  # None: nothing sent, or a free-text reply
    reply: str | None = None  # the text that would be sent (kept in memory, never written out)
    options: tuple[str, ...] = ()  # the intents a clarification offered
    rule: str = ""

    @property
    def answered(self) -> bool:
        return self.action in REPLIES


@dataclass(frozen=True)
class ReplyScores:
    name: str
    queries: int
    replies: int
    right: int
    handoffs: int
    match_rate: float  # right / queries
    coverage: float  # replies / queries
    precision: float | None  # right / replies (None: no reply)
    wrong_rate: float  # wrong replies / queries
    wrong_retrieved: int = 0  # wrong replies that were retrieved past replies
    wrong_from_retrieved: float | None = None  # wrong_retrieved / wrong replies (None: no wrong reply)

    @classmethod
    def of(
        cls, name: str, *, queries: int, replies: int, right: int, handoffs: int, wrong: int, wrong_retrieved: int = 0
    ) -> ReplyScores:
        """Scores from counts over ``queries`` messages."""

        def share(count: int) -> float:
            return count / queries if queries else 0.0

        precision = _divide(right, replies)
        return cls(
            name,
            queries,
            replies,
            right,
            handoffs,
            share(right),
            share(replies),
            precision,
            share(wrong),
            wrong_retrieved,
            _divide(wrong_retrieved, wrong),
        )


@dataclass(frozen=True)
class KindScores:
    kind: str
    count: int
    share: float
    right: float | None  # reply right (answers), gold among the options (clarify), None otherwise
    retrieval_alone_right: float | None  # retrieval alone's precision on the same queries


def _divide(a: float, b: float) -> float | None:
    return a / b if b else None


def _check(outcomes: Sequence[Any], gold: Sequence[str]) -> None:
    if len(outcomes) != len(gold):
        raise ValueError(f"{len(outcomes)} outcomes but {len(gold)} gold labels; they must pair up")


def score_outcomes(name: str, outcomes: Sequence[Outcome], gold: Sequence[str]) -> ReplyScores:
    """Match rate, coverage, precision, wrong-answer rate and where the wrong replies came from."""
    _check(outcomes, gold)
    replies = sum(o.answered for o in outcomes)
    right = sum(o.answered and o.label == g for o, g in zip(outcomes, gold, strict=True))
    handoffs = sum(o.action is Action.HANDOFF for o in outcomes)
    wrong_retrieved = sum(o.action is Action.RETRIEVED and o.label != g for o, g in zip(outcomes, gold, strict=True))
    return ReplyScores.of(
        name,
        queries=len(gold),
        replies=replies,
        right=right,
        handoffs=handoffs,
        wrong=replies - right,
        wrong_retrieved=wrong_retrieved,
    )


def handled_view(scores: ReplyScores, *, name: str) -> ReplyScores:
    """The same outcomes with a handoff counted as a handled message: covered, and not wrong."""
    return ReplyScores.of(
        name,
        queries=scores.queries,
        replies=scores.replies + scores.handoffs,
        right=scores.right + scores.handoffs,
        handoffs=scores.handoffs,
        wrong=scores.replies - scores.right,
        wrong_retrieved=scores.wrong_retrieved,
    )


def breakdown(outcomes: Sequence[Outcome], gold: Sequence[str], baseline: Sequence[Outcome]) -> list[KindScores]:
    """Per decision kind: count, share, how often it was right, and retrieval alone on the same queries."""
    _check(outcomes, gold)
    _check(baseline, gold)
    rows = []
    for kind in KINDS:
        picked = [i for i, o in enumerate(outcomes) if o.action is kind]
        right: float | None = None
        if kind in REPLIES:
            right = _divide(sum(outcomes[i].label == gold[i] for i in picked), len(picked))
        elif kind is Action.CLARIFY:
            right = _divide(sum(gold[i] in outcomes[i].options for i in picked), len(picked))
        alone = _divide(sum(baseline[i].label == gold[i] for i in picked), len(picked))
        rows.append(KindScores(kind.value, len(picked), _divide(len(picked), len(gold)) or 0.0, right, alone))
    return rows


def ratios(scores: ReplyScores, baseline: ReplyScores) -> dict[str, float | None]:
    """scores / baseline for match rate, coverage, precision and wrong-answer rate (None where undefined)."""
    return {
        "match_rate": _divide(scores.match_rate, baseline.match_rate),
        "coverage": _divide(scores.coverage, baseline.coverage),
        "precision": None
        if scores.precision is None or baseline.precision is None
        else _divide(scores.precision, baseline.precision),
        "wrong_rate": _divide(scores.wrong_rate, baseline.wrong_rate),
    }


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([cells[0].ljust(widths[0]), *rest])

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_table(results: Sequence[ReplyScores], baseline: ReplyScores) -> str:
    """One row per method: match, coverage, precision, wrong-answer rate, their ratios to ``baseline``, and
    the share of the wrong replies that were retrieved ones."""
    headers = [
        "method",
        "match %",
        "cover %",
        "prec %",
        "wrong %",
        "match /R",
        "cover /R",
        "prec /R",
        "wrong /R",
        "wrong retrieved %",
    ]
    rows = []
    for r in results:
        ratio = ratios(r, baseline)
        rows.append(
            [
                r.name,
                percent(r.match_rate),
                percent(r.coverage),
                percent(r.precision),
                percent(r.wrong_rate),
                *(_times(ratio[k]) for k in ("match_rate", "coverage", "precision", "wrong_rate")),
                percent(r.wrong_from_retrieved),
            ]
        )
    return _table(headers, rows)


def format_breakdown(rows: Sequence[KindScores]) -> str:
    headers = ["decision", "count", "share %", "right %", "retrieval alone right %"]
    return _table(
        headers,
        [[r.kind, str(r.count), percent(r.share), percent(r.right), percent(r.retrieval_alone_right)] for r in rows],
    )
