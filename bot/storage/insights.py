"""Insights: the figures an admin reads to improve the bot, computed from the stored events.

::

    InsightsStore               the seam: one method per figure, each for a Period [since, until)
    ├── InMemoryInsights          the twin: plain Python over whole conversations (insights_memory.py)
    ├── SQLiteInsights            bot/storage/sqlite/insights.py
    └── PostgresInsights          bot/storage/postgres/insights.py

Definitions (every store computes exactly these; tests/bot/storage/test_insights.py checks it):

* Only events stored before ``until`` count: a figure says what was known at ``until``.
* **Conversations** of a period are those *started* in it (``created_at`` in [since, until)).
  Of those, **engaged** ones hold at least one customer message (a visitor who only saw the
  greeting is not a conversation the bot could resolve).
* A conversation was **escalated** when it holds a ``handoff`` or an ``agent_joined`` (an agent
  stepping in on the bot counts too), and **rated down** when it holds a ``feedback`` with value
  ``down``.
* An engaged conversation was **abandoned** when the bot's last turn (its last ``bot_reply`` or
  ``clarify``) came after the customer's last message, was a ``clarify`` or a fallback (a ``bot_reply`` with source
  ``fallback``), and the customer wrote nothing for :data:`ABANDONED_AFTER` (30 minutes) after
  it: the turn is at least that much older than ``until``. Closing the chat is not writing.
* It was **resolved** by the bot when engaged and not escalated, rated down or abandoned. The
  resolved share is resolved / engaged (None when nobody wrote).
* Event figures count the events stored in [since, until), whichever conversation they are in:
  **handoffs** by ``reason``; **waits**, for each handoff, until the first ``agent_joined`` and the
  first ``agent_message`` after it (handoffs without one yet are left out of that median);
  **satisfaction** from ``survey`` scores 1-5, each credited to the agent who last joined the
  conversation before the survey (None: no agent ever joined); **thumbs** from ``feedback``, by
  the ``intent`` of the answer it rates (``reply`` is the answer's wire id, ``e`` + its seq);
  **top intents** from ``bot_reply`` events with an intent, fallbacks and system messages excluded.
* The **daily** series has one row per UTC day in the period (days without any activity too):
  conversations, engaged and resolved by the day they started; handoffs, thumbs and surveys by
  the day the event was stored.
* Survey scores count when they are JSON integers from 1 to 5, thumbs when ``up`` or ``down``
  (bot/core/feedback.py refuses anything else before it is stored).

The SQL relies on what the stores stamp: an event is never older than its conversation, and a
conversation's events are in time order (their seq order).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

DAY = 86_400.0
ABANDONED_AFTER = 30 * 60.0  # seconds without a customer message after a clarify or a fallback
DEFAULT_TOP = 10
SCORES = (1, 2, 3, 4, 5)
THUMBS = ("up", "down")
NOT_AN_INTENT_SOURCE = ("fallback", "system")  # bot replies left out of the top intents


@dataclass(frozen=True)
class Period:
    """[since, until) in unix seconds."""

    since: float
    until: float

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ValueError(f"a period must end after it starts (since {self.since}, until {self.until})")

    @classmethod
    def last_days(cls, days: int, *, now: float) -> Period:
        """The ``days`` days before ``now``."""
        return cls(now - days * DAY, now)

    def day_numbers(self) -> range:
        """The UTC days the period touches, as days since 1970-01-01."""
        return range(day_number(self.since), day_number(self.until - 1e-6) + 1)


def day_number(timestamp: float) -> int:
    return int(timestamp // DAY)


def day_label(number: int) -> str:
    return datetime.fromtimestamp(number * DAY, tz=UTC).date().isoformat()


@dataclass(frozen=True)
class Outcomes:
    """What became of the conversations started in a period (or on one day of it)."""

    conversations: int = 0
    engaged: int = 0
    escalated: int = 0
    rated_down: int = 0
    abandoned: int = 0
    resolved: int = 0

    @property
    def resolved_share(self) -> float | None:
        return self.resolved / self.engaged if self.engaged else None

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.conversations + other.conversations,
            self.engaged + other.engaged,
            self.escalated + other.escalated,
            self.rated_down + other.rated_down,
            self.abandoned + other.abandoned,
            self.resolved + other.resolved,
        )


@dataclass(frozen=True)
class Count:
    name: str | None  # a handoff reason or an intent; None where the event named none
    count: int


@dataclass(frozen=True)
class Waits:
    handoffs: int  # handoffs in the period
    joined: int  # of those, how many an agent joined
    answered: int  # of those, how many an agent wrote after
    median_to_join: float | None  # seconds from the handoff to the agent joining
    median_to_first_message: float | None  # seconds from the handoff to the agent's first message


@dataclass(frozen=True)
class AgentScore:
    agent: str | None  # the agent who last joined before the survey; None: the bot alone
    surveys: int
    average: float


@dataclass(frozen=True)
class Satisfaction:
    surveys: int
    average: float | None
    distribution: tuple[int, ...]  # how many surveys scored 1, 2, 3, 4, 5
    by_agent: tuple[AgentScore, ...] = ()


@dataclass(frozen=True)
class IntentThumbs:
    intent: str | None  # the rated answer's intent; None: it had none
    up: int
    down: int


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD, UTC
    outcomes: Outcomes  # of the conversations started that day
    handoffs: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    surveys: int = 0
    average_score: float | None = None


@dataclass(frozen=True)
class Insights:
    period: Period
    overview: Outcomes
    handoff_reasons: list[Count]
    waits: Waits
    satisfaction: Satisfaction
    thumbs: list[IntentThumbs]
    top_intents: list[Count]
    daily: list[Day] = field(default_factory=list)


class InsightsStore(Protocol):
    async def overview(self, period: Period) -> Outcomes: ...

    async def handoff_reasons(self, period: Period) -> list[Count]: ...

    async def waits(self, period: Period) -> Waits: ...

    async def satisfaction(self, period: Period) -> Satisfaction: ...

    async def thumbs_by_intent(self, period: Period) -> list[IntentThumbs]: ...

    async def top_intents(self, period: Period, limit: int = DEFAULT_TOP) -> list[Count]: ...

    async def daily(self, period: Period) -> list[Day]: ...

    async def close(self) -> None: ...


async def gather(store: InsightsStore, period: Period, *, top: int = DEFAULT_TOP) -> Insights:
    """Every figure of ``period``, one query after the other."""
    return Insights(
        period,
        await store.overview(period),
        await store.handoff_reasons(period),
        await store.waits(period),
        await store.satisfaction(period),
        await store.thumbs_by_intent(period),
        await store.top_intents(period, top),
        await store.daily(period),
    )


# Shared by every store, so that they order and round alike -------------------------------------


def _name_key(name: str | None) -> tuple[bool, str]:
    return (name is None, name or "")


def ranked(counts: Mapping[str | None, int], limit: int | None = None) -> list[Count]:
    """Counts, largest first, then by name (None last)."""
    rows = sorted(counts.items(), key=lambda item: (-item[1], *_name_key(item[0])))
    return [Count(name, n) for name, n in rows[:limit]]


def thumbs_rows(thumbs: Mapping[str | None, tuple[int, int]]) -> list[IntentThumbs]:
    """Thumbs by intent, most rated first, then by intent (None last)."""
    rows = sorted(thumbs.items(), key=lambda item: (-sum(item[1]), *_name_key(item[0])))
    return [IntentThumbs(intent, up, down) for intent, (up, down) in rows]


def is_score(value: object) -> bool:
    """A survey score as the figures count it: a JSON integer from 1 to 5."""
    return type(value) is int and value in SCORES


def median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def satisfaction_of(distribution: Mapping[int, int], by_agent: Mapping[str | None, tuple[int, int]]) -> Satisfaction:
    """From the count of each score and, per agent, (surveys, sum of scores)."""
    surveys = sum(distribution.values())
    total = sum(score * n for score, n in distribution.items())
    agents = sorted(by_agent.items(), key=lambda item: _name_key(item[0]))
    return Satisfaction(
        surveys,
        total / surveys if surveys else None,
        tuple(distribution.get(score, 0) for score in SCORES),
        tuple(AgentScore(agent, n, total_score / n) for agent, (n, total_score) in agents if n),
    )


def outcomes_by_day(
    day_of: Mapping[str, int],
    *,
    engaged: AbstractSet[str],
    escalated: AbstractSet[str],
    rated_down: AbstractSet[str],
    unanswered: AbstractSet[str],
) -> dict[int, Outcomes]:
    """Outcomes per start day from sets of conversation ids (any may hold conversations outside the period).

    ``day_of`` maps each conversation started in the period to its day number; ``unanswered`` holds
    the conversations whose last turn is an old enough clarify or fallback (abandoned when engaged).
    """
    # counted by looking up the day of the few, not of every conversation
    started = day_of.keys()
    day = day_of.__getitem__
    silent = started - engaged
    escalated_here = started & escalated
    down_here = started & rated_down
    abandoned = (started & unanswered) - silent
    unresolved = (escalated_here | down_here | abandoned) - silent
    per_day = Counter(day_of.values())
    counts = [Counter(map(day, ids)) for ids in (silent, escalated_here, down_here, abandoned, unresolved)]
    silent_on, escalated_on, down_on, abandoned_on, unresolved_on = counts
    return {
        d: Outcomes(
            n,
            n - silent_on[d],
            escalated_on[d],
            down_on[d],
            abandoned_on[d],
            n - silent_on[d] - unresolved_on[d],
        )
        for d, n in per_day.items()
    }


@dataclass(frozen=True)
class DayEvents:
    """The event figures of one day of the daily series."""

    handoffs: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    surveys: int = 0
    score_total: int = 0


def daily_rows(period: Period, outcomes: Mapping[int, Outcomes], events: Mapping[int, DayEvents]) -> list[Day]:
    """One row per UTC day of ``period``, from its outcomes and event figures keyed by day number."""
    rows = []
    for number in period.day_numbers():
        ev = events.get(number, DayEvents())
        average = ev.score_total / ev.surveys if ev.surveys else None
        rows.append(
            Day(
                day_label(number),
                outcomes.get(number, Outcomes()),
                ev.handoffs,
                ev.thumbs_up,
                ev.thumbs_down,
                ev.surveys,
                average,
            )
        )
    return rows
