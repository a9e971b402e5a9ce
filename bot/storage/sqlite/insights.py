"""The insights figures from the SQLite conversation store (definitions: bot/storage/insights.py).

A connection of its own to the conversation store's file (WAL: it reads while the chat writes),
read-only, on its own worker thread, so a long query never holds up a conversation. Open it after
the :class:`~bot.storage.sqlite.store.SQLiteStore` on that file, which creates the tables and the
indexes these queries name (``INDEXED BY`` fails with "no such index" on a file it has not opened).

Every query reads an index range of the period, never the whole table:

* ``conversations_created (created_at, id)``: the conversations started in the period;
* ``events_kind_conversation (kind, created_at, conversation_id, seq)``: which conversations hold
  an event of a kind (customer messages, handoffs...) without reading the rows;
* partial indexes on the few rows whose JSON a figure filters on, so that it is not parsed at
  query time: ``events_fallback``, ``events_thumbs`` (on the value of a thumb), and ``events_intent`` on the intent of
  the bot replies the top intents count (walked one intent at a time, counted in the index);
* the primary key ``(conversation_id, seq)``: what follows a handoff or an unanswered turn, the
  answer a thumb rates, the agent who joined before a survey.

What became of each conversation (the overview, the daily series) is set arithmetic over those
ranges in Python: SQLite has no hash join, and a correlated lookup per conversation costs more
than reading the ids.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

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
    median,
    outcomes_by_day,
    ranked,
    satisfaction_of,
    thumbs_rows,
)
from bot.storage.sqlite.worker import SQLiteWorker

IN_PERIOD = "created_at >= :since AND created_at < :until"
STARTED = f"SELECT id, CAST(created_at / :day AS INTEGER) FROM conversations WHERE {IN_PERIOD}"
SAID = f"SELECT conversation_id FROM events WHERE kind = 'customer_message' AND {IN_PERIOD}"
ESCALATED = f"SELECT conversation_id FROM events WHERE kind IN ('handoff', 'agent_joined') AND {IN_PERIOD}"
RATED_DOWN = f"""
SELECT conversation_id FROM events INDEXED BY events_thumbs
WHERE kind = 'feedback' AND json_extract(data, '$.value') = 'down' AND {IN_PERIOD}
"""
# clarifications and fallbacks at least ABANDONED_AFTER old, after which the conversation holds no
# other turn (a customer message or a bot answer); ``+`` keeps the lookup on the primary key
UNANSWERED = """
SELECT a.conversation_id FROM (
    SELECT conversation_id, seq FROM events
    WHERE kind = 'clarify' AND created_at >= :since AND created_at <= :abandoned_before
    UNION ALL
    SELECT conversation_id, seq FROM events INDEXED BY events_fallback
    WHERE kind = 'bot_reply' AND json_extract(data, '$.source') = 'fallback'
        AND created_at >= :since AND created_at <= :abandoned_before
) a
WHERE NOT EXISTS (
    SELECT 1 FROM events n WHERE n.conversation_id = a.conversation_id AND n.seq > a.seq
        AND +n.kind IN ('customer_message', 'bot_reply', 'clarify') AND +n.created_at < :until
)
"""
HANDOFF_REASONS = f"""
SELECT json_extract(data, '$.reason') AS reason, COUNT(*) FROM events
WHERE kind = 'handoff' AND {IN_PERIOD} GROUP BY reason
"""
WAITS = """
SELECT
    (SELECT j.created_at FROM events j WHERE j.conversation_id = h.conversation_id AND j.seq > h.seq
        AND +j.kind = 'agent_joined' AND +j.created_at < :until ORDER BY j.seq LIMIT 1) - h.created_at,
    (SELECT m.created_at FROM events m WHERE m.conversation_id = h.conversation_id AND m.seq > h.seq
        AND +m.kind = 'agent_message' AND +m.created_at < :until ORDER BY m.seq LIMIT 1) - h.created_at
FROM events h WHERE h.kind = 'handoff' AND h.created_at >= :since AND h.created_at < :until
"""
SURVEYS = """
WITH scored AS MATERIALIZED (
    SELECT json_extract(s.data, '$.score') AS score,
        (SELECT json_extract(j.data, '$.agent') FROM events j WHERE j.conversation_id = s.conversation_id
            AND j.seq < s.seq AND +j.kind = 'agent_joined' ORDER BY j.seq DESC LIMIT 1) AS agent
    FROM events s WHERE s.kind = 'survey' AND s.created_at >= :since AND s.created_at < :until
        AND json_type(s.data, '$.score') = 'integer'
)
SELECT score, agent, COUNT(*) FROM scored WHERE score IN (1, 2, 3, 4, 5) GROUP BY score, agent
"""
THUMBS = f"""
SELECT json_extract(r.data, '$.intent') AS intent, f.value, COUNT(*)
FROM (
    SELECT conversation_id, json_extract(data, '$.value') AS value, json_extract(data, '$.reply') AS reply
    FROM events WHERE kind = 'feedback' AND {IN_PERIOD}
) f LEFT JOIN events r ON r.conversation_id = f.conversation_id
    AND r.seq = CASE WHEN f.reply GLOB 'e[0-9]*' AND substr(f.reply, 2) NOT GLOB '*[^0-9]*'
        THEN CAST(substr(f.reply, 2) AS INTEGER) END
WHERE f.value IN ('up', 'down')
GROUP BY intent, f.value
"""
# The top intents walk the index on the reply's intent: the next intent after the last one (one row
# read), then how many of its replies fall in the period (counted in the index, no JSON parsed).
COUNTED_REPLY = """kind = 'bot_reply' AND json_extract(data, '$.intent') IS NOT NULL
    AND COALESCE(json_extract(data, '$.source'), '') NOT IN ('fallback', 'system')"""
FIRST_INTENT = f"""
SELECT json_extract(data, '$.intent') FROM events INDEXED BY events_intent WHERE {COUNTED_REPLY}
ORDER BY json_extract(data, '$.intent') LIMIT 1
"""
NEXT_INTENT = f"""
SELECT json_extract(data, '$.intent') FROM events INDEXED BY events_intent WHERE {COUNTED_REPLY}
    AND json_extract(data, '$.intent') > :intent
ORDER BY json_extract(data, '$.intent') LIMIT 1
"""
INTENT_REPLIES = f"""
SELECT COUNT(*) FROM events INDEXED BY events_intent WHERE {COUNTED_REPLY}
    AND json_extract(data, '$.intent') = :intent AND {IN_PERIOD}
"""
HANDOFFS_BY_DAY = f"""
SELECT CAST(created_at / :day AS INTEGER) AS day, COUNT(*) FROM events WHERE kind = 'handoff' AND {IN_PERIOD}
GROUP BY day
"""
THUMBS_BY_DAY = f"""
SELECT CAST(created_at / :day AS INTEGER) AS day, COUNT(*) FROM events INDEXED BY events_thumbs
WHERE kind = 'feedback' AND json_extract(data, '$.value') = :value AND {IN_PERIOD}
GROUP BY day
"""
SURVEYS_BY_DAY = f"""
SELECT CAST(created_at / :day AS INTEGER) AS day, json_extract(data, '$.score') AS score, COUNT(*) FROM events
WHERE kind = 'survey' AND {IN_PERIOD} AND json_type(data, '$.score') = 'integer' AND score IN (1, 2, 3, 4, 5)
GROUP BY day, score
"""


class SQLiteInsights(SQLiteWorker):
    what = "database (insights)"

    async def open(self) -> SQLiteInsights:
        await self._open()
        return self

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA query_only=ON")  # the figures only read
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: a period's index ranges are read more than once
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA mmap_size=1073741824")  # reads the rows it looks up without a copy

    def _rows(self, sql: str, period: Period, **more: object) -> list[Any]:
        args = {
            "since": period.since,
            "until": period.until,
            "day": DAY,
            "abandoned_before": period.until - ABANDONED_AFTER,
            **more,
        }
        return self._db.execute(sql, args).fetchall()

    def _ids(self, sql: str, period: Period) -> set[str]:
        return {row[0] for row in self._rows(sql, period)}

    def _outcomes_by_day(self, period: Period) -> dict[int, Outcomes]:
        return outcomes_by_day(
            dict(self._rows(STARTED, period)),
            engaged=self._ids(SAID, period),
            escalated=self._ids(ESCALATED, period),
            rated_down=self._ids(RATED_DOWN, period),
            unanswered=self._ids(UNANSWERED, period),
        )

    async def overview(self, period: Period) -> Outcomes:
        days = await self._guarded(lambda: self._outcomes_by_day(period))
        return sum(days.values(), Outcomes())

    async def handoff_reasons(self, period: Period) -> list[Count]:
        rows = await self._guarded(lambda: self._rows(HANDOFF_REASONS, period))
        return ranked({_text(reason): int(n) for reason, n in rows})

    async def waits(self, period: Period) -> Waits:
        rows = await self._guarded(lambda: self._rows(WAITS, period))
        to_join = [float(j) for j, _ in rows if j is not None]
        to_message = [float(m) for _, m in rows if m is not None]
        return Waits(len(rows), len(to_join), len(to_message), median(to_join), median(to_message))

    async def satisfaction(self, period: Period) -> Satisfaction:
        rows = await self._guarded(lambda: self._rows(SURVEYS, period))
        distribution: dict[int, int] = defaultdict(int)
        by_agent: dict[str | None, tuple[int, int]] = {}
        for score, agent, n in rows:
            distribution[int(score)] += int(n)
            surveys, total = by_agent.get(_text(agent), (0, 0))
            by_agent[_text(agent)] = (surveys + int(n), total + int(score) * int(n))
        return satisfaction_of(distribution, by_agent)

    async def thumbs_by_intent(self, period: Period) -> list[IntentThumbs]:
        rows = await self._guarded(lambda: self._rows(THUMBS, period))
        thumbs: dict[str | None, tuple[int, int]] = {}
        for intent, value, n in rows:
            up, down = thumbs.get(_text(intent), (0, 0))
            thumbs[_text(intent)] = (up + int(n), down) if value == "up" else (up, down + int(n))
        return thumbs_rows(thumbs)

    def _intent_counts(self, period: Period) -> dict[str | None, int]:
        args = {"since": period.since, "until": period.until}
        counts: dict[str | None, int] = {}
        row = self._db.execute(FIRST_INTENT).fetchone()
        while row is not None:
            (n,) = self._db.execute(INTENT_REPLIES, {**args, "intent": row[0]}).fetchone()
            if n:
                counts[_text(row[0])] = counts.get(_text(row[0]), 0) + int(n)
            row = self._db.execute(NEXT_INTENT, {"intent": row[0]}).fetchone()
        return counts

    async def top_intents(self, period: Period, limit: int = DEFAULT_TOP) -> list[Count]:
        return ranked(await self._guarded(lambda: self._intent_counts(period)), limit)

    def _day_events(self, period: Period) -> dict[int, DayEvents]:
        counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for day, n in self._rows(HANDOFFS_BY_DAY, period):
            counts[int(day)]["handoffs"] += int(n)
        for value in ("up", "down"):
            for day, n in self._rows(THUMBS_BY_DAY, period, value=value):
                counts[int(day)][f"thumbs_{value}"] += int(n)
        for day, score, n in self._rows(SURVEYS_BY_DAY, period):
            counts[int(day)]["surveys"] += int(n)
            counts[int(day)]["score_total"] += int(score) * int(n)
        return {day: DayEvents(**c) for day, c in counts.items()}

    async def daily(self, period: Period) -> list[Day]:
        def select() -> list[Day]:
            return daily_rows(period, self._outcomes_by_day(period), self._day_events(period))

        return await self._guarded(select)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
