"""``deskmate bench insights``: how long each insights figure takes on a large store.

Fills a fresh SQLite file (and, given ``--database-url``, an empty PostgreSQL database, emptied
again at the end) with seeded synthetic conversations (bot/bench/insights_data.py, about ten
events each), written directly in batches in one transaction (SQLite: ``executemany``;
PostgreSQL: ``COPY``) after the real stores created their tables and indexes. Then times each
query of the insights store for the last ``days`` days, the median of ``runs`` runs after one
warm-up, and prints a table: the goal is every query under one second on SQLite. PostgreSQL is
vacuumed and analysed after the fill (as autovacuum would); SQLite is not (the server never runs
``ANALYZE``).

``check`` also computes every figure with the in-memory reference (bot/storage/insights_memory.py)
and fails unless each store gives the same figures: for small runs (the tests).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from bot.bench.insights_data import synthetic_conversations
from bot.errors import StoreError
from bot.storage.insights import InsightsStore, Period, gather
from bot.storage.insights_memory import ConversationLog, InMemoryInsights
from bot.storage.postgres.insights import PostgresInsights
from bot.storage.postgres.store import PostgresStore
from bot.storage.sqlite.insights import SQLiteInsights
from bot.storage.sqlite.store import SQLiteStore

BATCH = 5_000  # conversations per executemany / COPY
QUERIES = ("overview", "handoff_reasons", "waits", "satisfaction", "thumbs_by_intent", "top_intents", "daily")
GOAL_MS = 1000.0

_ConversationRow = tuple[str, str, float, str, float, str]
_EventRow = tuple[str, int, str, str, float, str | None]


def rows_of(log: ConversationLog) -> tuple[_ConversationRow, list[_EventRow]]:
    """A conversation as the stores keep it: its ``conversations`` row and its ``events`` rows."""
    changes = [e for e in log.events if e.kind == "state_changed"]
    last = changes[-1] if changes else None
    state, since, data = (
        (str(last.data["to"]), last.created_at, json.dumps(last.data)) if last else ("BOT", log.created_at, "{}")
    )
    events = [(log.id, e.seq, e.kind, json.dumps(e.data), e.created_at, e.client_id) for e in log.events]
    return (log.id, f"bench-{log.id}", log.created_at, state, since, data), events


def _batches(logs: Iterable[ConversationLog]) -> Iterator[list[ConversationLog]]:
    it = iter(logs)
    while batch := list(islice(it, BATCH)):
        yield batch


async def fill_sqlite(path: Path, logs: Iterable[ConversationLog]) -> tuple[int, int]:
    """Write ``logs`` into a new SQLite file at ``path``; (conversations, events) written."""
    await (await SQLiteStore(path).open()).close()  # the real tables and indexes
    conn = sqlite3.connect(str(path), isolation_level=None)
    conversations = events = 0
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        for batch in _batches(logs):
            rows = [rows_of(log) for log in batch]
            conn.executemany(
                "INSERT INTO conversations (id, token_hash, created_at, state, state_since, state_data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [c for c, _ in rows],
            )
            event_rows = [e for _, es in rows for e in es]
            conn.executemany(
                "INSERT INTO events (conversation_id, seq, kind, data, created_at, client_id) VALUES (?, ?, ?, ?, ?, ?)",
                event_rows,
            )
            conversations += len(rows)
            events += len(event_rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return conversations, events


async def fill_postgres(url: str, logs: Iterable[ConversationLog]) -> tuple[int, int]:
    """Write ``logs`` into the empty database at ``url`` with COPY; (conversations, events) written."""
    store = await PostgresStore(url).open()  # the real tables and indexes
    conversations = events = 0
    try:

        async def copy(conn: Any) -> None:
            nonlocal conversations, events
            if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM conversations)"):
                raise StoreError(
                    f"the database at {store.pool.where} already holds conversations; the benchmark fills it with "
                    "synthetic ones: give it an empty database (createdb deskmate_bench)"
                )
            for batch in _batches(logs):
                rows = [rows_of(log) for log in batch]
                await conn.copy_records_to_table(
                    "conversations",
                    records=[c for c, _ in rows],
                    columns=["id", "token_hash", "created_at", "state", "state_since", "state_data"],
                )
                event_rows = [e for _, es in rows for e in es]
                await conn.copy_records_to_table(
                    "events",
                    records=event_rows,
                    columns=["conversation_id", "seq", "kind", "data", "created_at", "client_id"],
                )
                conversations += len(rows)
                events += len(event_rows)

        await store.pool.run(copy, write=True)

        async def vacuum(conn: Any) -> None:  # as autovacuum would after such a load (statistics, visibility map)
            await conn.execute("VACUUM ANALYZE conversations, events")

        await store.pool.run(vacuum)
    finally:
        await store.close()
    return conversations, events


async def empty_postgres(url: str) -> None:
    """Remove the synthetic conversations again (the database was empty before the fill)."""
    store = await PostgresStore(url).open()
    try:

        async def truncate(conn: Any) -> None:
            await conn.execute("TRUNCATE events, conversations")

        await store.pool.run(truncate, write=True)
    finally:
        await store.close()


async def time_queries(insights: InsightsStore, period: Period, *, runs: int) -> dict[str, float]:
    """Median milliseconds of each query over ``runs`` runs, after one warm-up run."""
    timings: dict[str, float] = {}
    for name in QUERIES:
        query: Callable[[Period], Awaitable[object]] = getattr(insights, name)
        await query(period)
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            await query(period)
            seconds.append(time.perf_counter() - started)
        timings[name] = round(1000 * statistics.median(seconds), 1)
    return timings


def differences(expected: object, found: object, where: str = "") -> list[str]:
    """Where two sets of figures differ (floats to 1e-9 relative), as readable lines."""
    if dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        if type(found) is not type(expected):
            return [f"{where}: {found!r} is not a {type(expected).__name__}"]
        return [
            line
            for f in dataclasses.fields(expected)
            for line in differences(getattr(expected, f.name), getattr(found, f.name), f"{where}.{f.name}")
        ]
    if isinstance(expected, list | tuple) and isinstance(found, list | tuple):
        if len(expected) != len(found):
            return [f"{where}: {len(found)} rows, expected {len(expected)}: {found!r} vs {expected!r}"]
        return [
            line
            for i, (e, f) in enumerate(zip(expected, found, strict=True))
            for line in differences(e, f, f"{where}[{i}]")
        ]
    if isinstance(expected, float) and isinstance(found, float | int):
        return [] if math.isclose(expected, found, rel_tol=1e-9, abs_tol=1e-9) else [f"{where}: {found} != {expected}"]
    return [] if expected == found else [f"{where}: {found!r} != {expected!r}"]


async def _measure(
    name: str,
    fill: Callable[[], Awaitable[tuple[int, int]]],
    opened: Callable[[], Awaitable[InsightsStore]],
    period: Period,
    *,
    runs: int,
    reference: InMemoryInsights | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    conversations, events = await fill()
    fill_s = time.perf_counter() - started
    insights = await opened()
    try:
        queries = await time_queries(insights, period, runs=runs)
        figures = await gather(insights, period)
        mismatches = differences(await gather(reference, period), figures) if reference is not None else []
    finally:
        await insights.close()
    if mismatches:
        raise AssertionError(f"{name} figures differ from the reference:\n" + "\n".join(mismatches[:20]))
    return {
        "fill_s": round(fill_s, 2),
        "rows": {"conversations": conversations, "events": events},
        "queries_ms": queries,
        "slowest_ms": max(queries.values()),
        "overview": dataclasses.asdict(figures.overview) | {"resolved_share": figures.overview.resolved_share},
        "checked": reference is not None,
    }


async def run_insights_benchmark(
    conversations: int,
    *,
    database_url: str | None = None,
    sqlite_path: Path | None = None,
    days: int = 30,
    seed: int = 7,
    runs: int = 5,
    check: bool = False,
    out: Path | None = None,
) -> dict[str, Any]:
    """Fill, time and report (see the module docstring); the SQLite file is a temporary one unless given."""
    now = time.time()
    period = Period.last_days(days, now=now)

    def logs() -> Iterator[ConversationLog]:
        return synthetic_conversations(conversations, seed=seed, now=now, days=days)

    reference = InMemoryInsights.of_logs(list(logs())) if check else None
    report: dict[str, Any] = {
        "conversations": conversations,
        "days": days,
        "seed": seed,
        "runs": runs,
        "goal_ms": GOAL_MS,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "load_average": _load(),
        },
    }
    with tempfile.TemporaryDirectory(prefix="deskmate-bench-insights-") as folder:
        path = sqlite_path or Path(folder) / "insights.sqlite3"
        if path.exists():
            raise StoreError(f"{path} exists; the benchmark fills a fresh file: remove it or name another")
        report["sqlite"] = await _measure(
            "SQLite",
            lambda: fill_sqlite(path, logs()),
            lambda: SQLiteInsights(path).open(),
            period,
            runs=runs,
            reference=reference,
        )
        report["sqlite"]["file_mb"] = round(path.stat().st_size / 2**20, 1)
    if database_url:
        filled: list[bool] = []

        async def fill() -> tuple[int, int]:
            written = await fill_postgres(database_url, logs())  # writes all or nothing, into an empty database
            filled.append(True)
            return written

        try:
            report["postgres"] = await _measure(
                "PostgreSQL",
                fill,
                lambda: PostgresInsights(database_url).open(),
                period,
                runs=runs,
                reference=reference,
            )
        finally:
            if filled:
                await empty_postgres(database_url)
    report["machine"]["load_average_after"] = _load()
    report["goal_met"] = report["sqlite"]["slowest_ms"] < GOAL_MS
    print(format_report(report))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report


def format_report(report: dict[str, Any]) -> str:
    stores = [db for db in ("sqlite", "postgres") if db in report]
    lines = [
        f"insights over {report['conversations']} synthetic conversations, the last {report['days']} days "
        f"(median of {report['runs']} runs, ms)",
    ]
    header = f"{'query':<18}" + "".join(f"{db:>12}" for db in stores)
    lines += [header, "-" * len(header)]
    for name in QUERIES:
        lines.append(f"{name:<18}" + "".join(f"{report[db]['queries_ms'][name]:>12.1f}" for db in stores))
    lines.append("-" * len(header))
    lines.append(f"{'fill (s)':<18}" + "".join(f"{report[db]['fill_s']:>12.1f}" for db in stores))
    lines.append(f"{'events':<18}" + "".join(f"{report[db]['rows']['events']:>12}" for db in stores))
    verdict = "every query under" if report["goal_met"] else "NOT every query under"
    lines.append(f"SQLite: {verdict} {report['goal_ms']:.0f} ms (the goal)")
    return "\n".join(lines)


def _load() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
