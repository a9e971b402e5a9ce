"""The insights figures from the PostgreSQL conversation store (definitions: bot/storage/insights.py).

Read-only queries on the store's tables, through its pool (shared, or its own from a DSN). The
:class:`~bot.storage.postgres.store.PostgresStore` creates the tables and the indexes they use,
the same as SQLite's (bot/storage/sqlite/insights.py): ``conversations_created``,
``events_kind_conversation``, the partial ``events_fallback``, ``events_thumbs`` and
``events_intent`` on fields of the JSON, and the primary key ``(conversation_id, seq)``. What
became of each conversation is a few hash joins of the sets of conversations each outcome needs.
Event data is JSON text, parsed (``::jsonb``) only for the rows a figure reads a field of.
"""

from __future__ import annotations

from collections import defaultdict

from bot.storage.insights import (
    ABANDONED_AFTER,
    DAY,
    DEFAULT_TOP,
    Count,
    Day,
    DayEvents,
    IntentThumbs,
    Outcomes,
    Period,
    Satisfaction,
    Waits,
    daily_rows,
    ranked,
    satisfaction_of,
    thumbs_rows,
)
from bot.storage.postgres.pool import Connection, PostgresBacked

# $1 since, $2 until, $3 until - ABANDONED_AFTER, $4 the length of a day: the sets of conversations
# each outcome needs, from index ranges of the period, hash-joined to the conversations started in it
OUTCOMES = """
WITH started AS (
    SELECT id, floor(created_at / $4)::bigint AS day FROM conversations WHERE created_at >= $1 AND created_at < $2
), said AS (
    SELECT DISTINCT conversation_id FROM events
    WHERE kind = 'customer_message' AND created_at >= $1 AND created_at < $2
), escalated AS (
    SELECT DISTINCT conversation_id FROM events
    WHERE kind IN ('handoff', 'agent_joined') AND created_at >= $1 AND created_at < $2
), down AS (
    SELECT DISTINCT conversation_id FROM events
    WHERE kind = 'feedback' AND (data::jsonb ->> 'value') = 'down' AND created_at >= $1 AND created_at < $2
), candidates AS (
    SELECT conversation_id, seq FROM events WHERE kind = 'clarify' AND created_at >= $1 AND created_at <= $3
    UNION ALL
    SELECT conversation_id, seq FROM events
    WHERE kind = 'bot_reply' AND (data::jsonb ->> 'source') = 'fallback' AND created_at >= $1 AND created_at <= $3
), unanswered AS (
    SELECT DISTINCT a.conversation_id FROM candidates a
    WHERE NOT EXISTS (
        SELECT 1 FROM events n WHERE n.conversation_id = a.conversation_id AND n.seq > a.seq
            AND n.kind IN ('customer_message', 'bot_reply', 'clarify') AND n.created_at < $2
    )
), judged AS (
    SELECT s.day, m.conversation_id IS NOT NULL AS engaged, e.conversation_id IS NOT NULL AS escalated,
        d.conversation_id IS NOT NULL AS down, m.conversation_id IS NOT NULL AND u.conversation_id IS NOT NULL AS abandoned
    FROM started s
        LEFT JOIN said m ON m.conversation_id = s.id
        LEFT JOIN escalated e ON e.conversation_id = s.id
        LEFT JOIN down d ON d.conversation_id = s.id
        LEFT JOIN unanswered u ON u.conversation_id = s.id
)
SELECT day, count(*), count(*) FILTER (WHERE engaged), count(*) FILTER (WHERE escalated),
    count(*) FILTER (WHERE down), count(*) FILTER (WHERE abandoned),
    count(*) FILTER (WHERE engaged AND NOT escalated AND NOT down AND NOT abandoned)
FROM judged GROUP BY day
"""
HANDOFF_REASONS = """
SELECT data::jsonb ->> 'reason' AS reason, count(*) FROM events
WHERE kind = 'handoff' AND created_at >= $1 AND created_at < $2 GROUP BY reason
"""
# the first agent_joined and agent_message after each handoff: they come after it, so in the period too
WAITS = """
WITH h AS (
    SELECT conversation_id, seq, created_at FROM events WHERE kind = 'handoff' AND created_at >= $1 AND created_at < $2
), later AS (
    SELECT conversation_id, seq, kind, created_at FROM events
    WHERE kind IN ('agent_joined', 'agent_message') AND created_at >= $1 AND created_at < $2
), firsts AS (
    SELECT DISTINCT ON (h.conversation_id, h.seq, l.kind) h.conversation_id, h.seq, l.kind,
        l.created_at - h.created_at AS wait
    FROM h JOIN later l ON l.conversation_id = h.conversation_id AND l.seq > h.seq
    ORDER BY h.conversation_id, h.seq, l.kind, l.seq
)
SELECT (SELECT count(*) FROM h), count(*) FILTER (WHERE kind = 'agent_joined'),
    count(*) FILTER (WHERE kind = 'agent_message'),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) FILTER (WHERE kind = 'agent_joined'),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) FILTER (WHERE kind = 'agent_message')
FROM firsts
"""
# the agent who last joined before each survey
SURVEYS = """
WITH s AS (
    SELECT conversation_id, seq, (data::jsonb ->> 'score')::int AS score FROM events
    WHERE kind = 'survey' AND created_at >= $1 AND created_at < $2
        AND jsonb_typeof(data::jsonb -> 'score') = 'number' AND (data::jsonb ->> 'score') IN ('1', '2', '3', '4', '5')
), joined AS (
    SELECT DISTINCT ON (s.conversation_id, s.seq) s.conversation_id, s.seq, j.data::jsonb ->> 'agent' AS agent
    FROM s JOIN events j ON j.conversation_id = s.conversation_id AND j.kind = 'agent_joined' AND j.seq < s.seq
    ORDER BY s.conversation_id, s.seq, j.seq DESC
)
SELECT s.score, j.agent, count(*) FROM s LEFT JOIN joined j USING (conversation_id, seq) GROUP BY s.score, j.agent
"""
THUMBS = """
SELECT r.data::jsonb ->> 'intent' AS intent, f.value, count(*)
FROM (
    SELECT conversation_id, data::jsonb ->> 'value' AS value, data::jsonb ->> 'reply' AS reply FROM events
    WHERE kind = 'feedback' AND created_at >= $1 AND created_at < $2
) f LEFT JOIN events r ON r.conversation_id = f.conversation_id
    AND r.seq = CASE WHEN f.reply ~ '^e[0-9]{1,9}$' THEN substr(f.reply, 2)::int END
WHERE f.value IN ('up', 'down')
GROUP BY intent, f.value
"""
# walks the index on the replies' intents (events_intent): the next intent after the last one, then
# how many of its replies fall in the period, counted from the index range
COUNTED_REPLY = """kind = 'bot_reply' AND (data::jsonb ->> 'intent') IS NOT NULL
    AND COALESCE(data::jsonb ->> 'source', '') NOT IN ('fallback', 'system')"""
TOP_INTENTS = f"""
WITH RECURSIVE intents AS (
    (SELECT data::jsonb ->> 'intent' AS intent FROM events WHERE {COUNTED_REPLY} ORDER BY 1 LIMIT 1)
    UNION ALL
    SELECT (SELECT data::jsonb ->> 'intent' FROM events WHERE {COUNTED_REPLY} AND (data::jsonb ->> 'intent') > i.intent
            ORDER BY 1 LIMIT 1)
    FROM intents i WHERE i.intent IS NOT NULL
)
SELECT i.intent, (SELECT count(*) FROM events WHERE {COUNTED_REPLY} AND (data::jsonb ->> 'intent') = i.intent
        AND created_at >= $1 AND created_at < $2)
FROM intents i WHERE i.intent IS NOT NULL
"""
DAILY_EVENTS = """
SELECT floor(created_at / $3)::bigint AS day, kind,
    CASE kind WHEN 'feedback' THEN data::jsonb ->> 'value'
        WHEN 'survey' THEN CASE WHEN jsonb_typeof(data::jsonb -> 'score') = 'number' THEN data::jsonb ->> 'score' END
    END AS value,
    count(*)
FROM events WHERE kind IN ('handoff', 'feedback', 'survey') AND created_at >= $1 AND created_at < $2
GROUP BY day, kind, value
"""
SCORE_TEXTS = ("1", "2", "3", "4", "5")


class PostgresInsights(PostgresBacked):
    async def open(self) -> PostgresInsights:
        await self.pool.open()  # the conversation store creates the tables; figures only read
        return self

    async def _outcomes_by_day(self, conn: Connection, period: Period) -> dict[int, Outcomes]:
        rows = await conn.fetch(OUTCOMES, period.since, period.until, period.until - ABANDONED_AFTER, DAY)
        return {int(row[0]): Outcomes(*(int(n) for n in row[1:])) for row in rows}

    async def overview(self, period: Period) -> Outcomes:
        days = await self._run(lambda conn: self._outcomes_by_day(conn, period))
        return sum(days.values(), Outcomes())

    async def handoff_reasons(self, period: Period) -> list[Count]:
        rows = await self._run(lambda conn: conn.fetch(HANDOFF_REASONS, period.since, period.until))
        return ranked({row[0]: int(row[1]) for row in rows})

    async def waits(self, period: Period) -> Waits:
        row = await self._run(lambda conn: conn.fetchrow(WAITS, period.since, period.until))
        to_join, to_message = (None if v is None else float(v) for v in (row[3], row[4]))
        return Waits(int(row[0]), int(row[1]), int(row[2]), to_join, to_message)

    async def satisfaction(self, period: Period) -> Satisfaction:
        rows = await self._run(lambda conn: conn.fetch(SURVEYS, period.since, period.until))
        distribution: dict[int, int] = defaultdict(int)
        by_agent: dict[str | None, tuple[int, int]] = {}
        for score, agent, n in rows:
            distribution[int(score)] += int(n)
            surveys, total = by_agent.get(agent, (0, 0))
            by_agent[agent] = (surveys + int(n), total + int(score) * int(n))
        return satisfaction_of(distribution, by_agent)

    async def thumbs_by_intent(self, period: Period) -> list[IntentThumbs]:
        rows = await self._run(lambda conn: conn.fetch(THUMBS, period.since, period.until))
        thumbs: dict[str | None, tuple[int, int]] = {}
        for intent, value, n in rows:
            up, down = thumbs.get(intent, (0, 0))
            thumbs[intent] = (up + int(n), down) if value == "up" else (up, down + int(n))
        return thumbs_rows(thumbs)

    async def top_intents(self, period: Period, limit: int = DEFAULT_TOP) -> list[Count]:
        rows = await self._run(lambda conn: conn.fetch(TOP_INTENTS, period.since, period.until))
        return ranked({row[0]: int(row[1]) for row in rows if row[1]}, limit)

    async def daily(self, period: Period) -> list[Day]:
        async def select(conn: Connection) -> tuple[dict[int, Outcomes], list[tuple[int, str, str | None, int]]]:
            outcomes = await self._outcomes_by_day(conn, period)
            rows = await conn.fetch(DAILY_EVENTS, period.since, period.until, DAY)
            return outcomes, [tuple(row) for row in rows]

        outcomes, rows = await self._run(select)
        counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for day, kind, value, n in rows:
            into = counts[int(day)]
            if kind == "handoff":
                into["handoffs"] += int(n)
            elif kind == "feedback" and value in ("up", "down"):
                into[f"thumbs_{value}"] += int(n)
            elif kind == "survey" and value in SCORE_TEXTS:
                into["surveys"] += int(n)
                into["score_total"] += int(str(value)) * int(n)
        return daily_rows(period, outcomes, {day: DayEvents(**c) for day, c in counts.items()})
