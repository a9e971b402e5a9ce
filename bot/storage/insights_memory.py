"""The in-memory twin of :class:`~bot.storage.insights.InsightsStore`: the reference implementation.

Every figure in plain Python over whole conversations, following the definitions of
bot/storage/insights.py word for word; the SQL of the SQLite and PostgreSQL insights is tested
against it (tests/bot/storage/test_insights.py, and ``deskmate bench insights`` on random data).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.conversation import State
from bot.core.events import (
    AGENT_JOINED,
    AGENT_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    CUSTOMER_MESSAGE,
    FEEDBACK,
    HANDOFF,
    SURVEY,
    StoredEvent,
)
from bot.storage.insights import (
    ABANDONED_AFTER,
    DEFAULT_TOP,
    NOT_AN_INTENT_SOURCE,
    THUMBS,
    Count,
    Day,
    DayEvents,
    IntentThumbs,
    Outcomes,
    Period,
    Satisfaction,
    Waits,
    daily_rows,
    day_number,
    is_score,
    median,
    ranked,
    satisfaction_of,
    thumbs_rows,
)
from bot.storage.store import Store


@dataclass(frozen=True)
class ConversationLog:
    id: str
    created_at: float
    events: Sequence[StoredEvent]


class InMemoryInsights:
    """Every figure in plain Python over whole conversations: the reference the SQL is tested against.

    Reads a :class:`Store` through its public methods (every conversation, then its events) at each
    call, or fixed logs (:meth:`of_logs`); fine for tests and small stores, not for production sizes.
    """

    def __init__(self, store: Store | None = None, *, logs: Sequence[ConversationLog] = ()) -> None:
        self._store = store
        self._fixed = list(logs)

    @classmethod
    def of_logs(cls, logs: Sequence[ConversationLog]) -> InMemoryInsights:
        return cls(logs=logs)

    async def _logs(self) -> list[ConversationLog]:
        if self._store is None:
            return self._fixed
        summaries = await self._store.conversations([s.value for s in State])
        return [ConversationLog(c.id, c.created_at, await self._store.events(c.id)) for c in summaries]

    async def _events(self, period: Period, kind: str) -> list[tuple[ConversationLog, StoredEvent]]:
        return [
            (log, e)
            for log in await self._logs()
            for e in log.events
            if e.kind == kind and period.since <= e.created_at < period.until
        ]

    async def _outcomes_by_day(self, period: Period) -> dict[int, Outcomes]:
        days: dict[int, Outcomes] = {}
        for log in await self._logs():
            if period.since <= log.created_at < period.until:
                day = day_number(log.created_at)
                days[day] = days.get(day, Outcomes()) + outcome(log, period.until)
        return days

    async def overview(self, period: Period) -> Outcomes:
        return sum((await self._outcomes_by_day(period)).values(), Outcomes())

    async def handoff_reasons(self, period: Period) -> list[Count]:
        return ranked(Counter(_text(e.data.get("reason")) for _, e in await self._events(period, HANDOFF)))

    async def waits(self, period: Period) -> Waits:
        handoffs = await self._events(period, HANDOFF)
        to_join: list[float] = []
        to_message: list[float] = []
        for log, handoff in handoffs:
            for kind, waits in ((AGENT_JOINED, to_join), (AGENT_MESSAGE, to_message)):
                first = next(
                    (e for e in log.events if e.kind == kind and e.seq > handoff.seq and e.created_at < period.until),
                    None,
                )
                if first is not None:
                    waits.append(first.created_at - handoff.created_at)
        return Waits(len(handoffs), len(to_join), len(to_message), median(to_join), median(to_message))

    async def satisfaction(self, period: Period) -> Satisfaction:
        distribution: Counter[int] = Counter()
        by_agent: dict[str | None, tuple[int, int]] = {}
        for log, survey in await self._events(period, SURVEY):
            if not is_score(survey.data.get("score")):
                continue
            score = int(survey.data["score"])
            joined = [e for e in log.events if e.kind == AGENT_JOINED and e.seq < survey.seq]
            agent = _text(joined[-1].data.get("agent")) if joined else None
            distribution[score] += 1
            n, total = by_agent.get(agent, (0, 0))
            by_agent[agent] = (n + 1, total + score)
        return satisfaction_of(distribution, by_agent)

    async def thumbs_by_intent(self, period: Period) -> list[IntentThumbs]:
        thumbs: dict[str | None, tuple[int, int]] = {}
        for log, feedback in await self._events(period, FEEDBACK):
            value = feedback.data.get("value")
            if value not in THUMBS:
                continue
            seq = rated_seq(feedback.data.get("reply"))
            rated = next((e for e in log.events if e.seq == seq), None)
            intent = _text(rated.data.get("intent")) if rated is not None else None
            up, down = thumbs.get(intent, (0, 0))
            thumbs[intent] = (up + (value == "up"), down + (value == "down"))
        return thumbs_rows(thumbs)

    async def top_intents(self, period: Period, limit: int = DEFAULT_TOP) -> list[Count]:
        counts: Counter[str | None] = Counter(
            _text(e.data["intent"])
            for _, e in await self._events(period, BOT_REPLY)
            if e.data.get("intent") is not None and e.data.get("source") not in NOT_AN_INTENT_SOURCE
        )
        return ranked(counts, limit)

    async def daily(self, period: Period) -> list[Day]:
        counts: dict[str, Counter[int]] = {name: Counter() for name in DayEvents.__dataclass_fields__}
        for _, e in await self._events(period, HANDOFF):
            counts["handoffs"][day_number(e.created_at)] += 1
        for _, e in await self._events(period, FEEDBACK):
            if e.data.get("value") in THUMBS:
                counts[f"thumbs_{e.data['value']}"][day_number(e.created_at)] += 1
        for _, e in await self._events(period, SURVEY):
            if is_score(e.data.get("score")):
                counts["surveys"][day_number(e.created_at)] += 1
                counts["score_total"][day_number(e.created_at)] += int(e.data["score"])
        days = set().union(*counts.values())
        events = {day: DayEvents(**{name: c[day] for name, c in counts.items()}) for day in days}
        return daily_rows(period, await self._outcomes_by_day(period), events)

    async def close(self) -> None:
        return None


def outcome(log: ConversationLog, until: float) -> Outcomes:
    """What became of one conversation, as known at ``until`` (see the module's definitions)."""
    events = [e for e in log.events if e.created_at < until]
    said = [e for e in events if e.kind == CUSTOMER_MESSAGE]
    answers = [e for e in events if e.kind in (BOT_REPLY, CLARIFY)]
    escalated = any(e.kind in (HANDOFF, AGENT_JOINED) for e in events)
    rated_down = any(e.kind == FEEDBACK and e.data.get("value") == "down" for e in events)
    last = answers[-1] if answers else None
    abandoned = (
        bool(said)
        and last is not None
        and last.seq > said[-1].seq
        and (last.kind == CLARIFY or last.data.get("source") == "fallback")
        and last.created_at <= until - ABANDONED_AFTER
    )
    resolved = bool(said) and not (escalated or rated_down or abandoned)
    return Outcomes(1, int(bool(said)), int(escalated), int(rated_down), int(abandoned), int(resolved))


def rated_seq(reply: object) -> int | None:
    """The seq of the answer a feedback rates, from its wire id ``e<seq>``; None when it is not one."""
    if isinstance(reply, str) and reply.startswith("e") and reply[1:].isdigit() and reply[1:].isascii():
        return int(reply[1:])
    return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
