"""The insights figures as CSV: each table and series of :class:`~bot.storage.insights.Insights`.

What the figures mean: bot/storage/insights.py; the insights store is opened with the others
(bot/storage/factory.py). :func:`csv_tables` turns every table and series into CSV text, one file
each, for the export.

Cells that a spreadsheet would run as a formula (text starting ``=``, ``+``, ``-``, ``@``) get a
leading ``'``: intents and agent names come from KB authors and agents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from bot.storage.insights import (
    SCORES,
    Count,
    Day,
    Insights,
    IntentThumbs,
    Outcomes,
    Satisfaction,
    Waits,
)

Cell = str | int | float | None


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """CSV text (RFC 4180, ``\\r\\n`` line ends) of ``rows`` under ``header``; None is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def overview_csv(overview: Outcomes) -> str:
    return to_csv(
        ("conversations", "engaged", "resolved", "resolved_share", "escalated", "rated_down", "abandoned"),
        [
            (
                overview.conversations,
                overview.engaged,
                overview.resolved,
                _share(overview.resolved_share),
                overview.escalated,
                overview.rated_down,
                overview.abandoned,
            )
        ],
    )


def counts_csv(name: str, counts: Sequence[Count]) -> str:
    """Handoff reasons or top intents: ``name`` is the first column's header."""
    return to_csv((name, "count"), [(c.name, c.count) for c in counts])


def waits_csv(waits: Waits) -> str:
    return to_csv(
        ("handoffs", "joined", "answered", "median_seconds_to_join", "median_seconds_to_first_message"),
        [
            (
                waits.handoffs,
                waits.joined,
                waits.answered,
                _seconds(waits.median_to_join),
                _seconds(waits.median_to_first_message),
            )
        ],
    )


def satisfaction_csv(satisfaction: Satisfaction) -> str:
    """How many surveys gave each score, then all of them with their average."""
    rows: list[Sequence[Cell]] = [(score, n, None) for score, n in zip(SCORES, satisfaction.distribution, strict=True)]
    rows.append(("all", satisfaction.surveys, _average(satisfaction.average)))
    return to_csv(("score", "surveys", "average"), rows)


def satisfaction_by_agent_csv(satisfaction: Satisfaction) -> str:
    """One row per agent (empty: surveys of conversations no agent joined)."""
    return to_csv(
        ("agent", "surveys", "average"), [(a.agent, a.surveys, _average(a.average)) for a in satisfaction.by_agent]
    )


def thumbs_csv(thumbs: Sequence[IntentThumbs]) -> str:
    return to_csv(("intent", "up", "down"), [(t.intent, t.up, t.down) for t in thumbs])


def daily_csv(days: Sequence[Day]) -> str:
    return to_csv(
        (
            "day",
            "conversations",
            "engaged",
            "resolved",
            "resolved_share",
            "handoffs",
            "thumbs_up",
            "thumbs_down",
            "surveys",
            "average_score",
        ),
        [
            (
                d.day,
                d.outcomes.conversations,
                d.outcomes.engaged,
                d.outcomes.resolved,
                _share(d.outcomes.resolved_share),
                d.handoffs,
                d.thumbs_up,
                d.thumbs_down,
                d.surveys,
                _average(d.average_score),
            )
            for d in days
        ],
    )


def csv_tables(insights: Insights) -> dict[str, str]:
    """Every figure of ``insights`` as CSV text, by file name."""
    return {
        "overview.csv": overview_csv(insights.overview),
        "handoff_reasons.csv": counts_csv("reason", insights.handoff_reasons),
        "waits.csv": waits_csv(insights.waits),
        "satisfaction.csv": satisfaction_csv(insights.satisfaction),
        "satisfaction_by_agent.csv": satisfaction_by_agent_csv(insights.satisfaction),
        "thumbs_by_intent.csv": thumbs_csv(insights.thumbs),
        "top_intents.csv": counts_csv("intent", insights.top_intents),
        "daily.csv": daily_csv(insights.daily),
    }


def _cell(value: Cell) -> Cell:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _average(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
