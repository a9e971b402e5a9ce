"""deskmate bench insights: a tiny run through SQLite and PostgreSQL, checked against the reference."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from bot.bench.insights import QUERIES, run_insights_benchmark
from bot.bench.insights_data import synthetic_conversations
from bot.cli.main import main
from bot.errors import StoreError
from bot.storage.postgres.store import PostgresStore


async def test_a_small_run_reports_every_query_and_agrees_with_the_reference(postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dsn = postgres.new_database()
    out = tmp_path / "report.json"

    report = await run_insights_benchmark(200, database_url=dsn, runs=2, check=True, out=out)

    assert (report["conversations"], report["days"], report["runs"], report["goal_ms"]) == (200, 30, 2, 1000.0)
    for store in ("sqlite", "postgres"):
        figures = report[store]
        assert figures["checked"] is True  # every figure equal to the in-memory reference's
        assert figures["rows"]["conversations"] == 200
        assert 1_500 <= figures["rows"]["events"] <= 2_500  # about ten events each
        assert list(figures["queries_ms"]) == list(QUERIES)
        assert all(ms >= 0 for ms in figures["queries_ms"].values())
        assert figures["slowest_ms"] == max(figures["queries_ms"].values())
        assert figures["fill_s"] > 0
        assert figures["overview"]["conversations"] == 200
        assert 0 < figures["overview"]["resolved_share"] < 1
    assert report["sqlite"]["rows"] == report["postgres"]["rows"]
    assert report["sqlite"]["file_mb"] > 0
    assert report["goal_met"] is True
    assert json.loads(out.read_text()) == report
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM events") == 0  # left as it was found
    finally:
        await conn.close()


async def test_a_database_holding_conversations_is_refused_and_left_alone(postgres) -> None:  # type: ignore[no-untyped-def]
    dsn = postgres.new_database()
    store = await PostgresStore(dsn).open()
    try:
        kept = await store.create_conversation("a real customer")

        with pytest.raises(StoreError, match=r"already holds conversations.*empty database"):
            await run_insights_benchmark(20, database_url=dsn, runs=1)

        assert await store.conversation_for_token("a real customer") == kept
    finally:
        await store.close()


def test_the_command_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "insights.json"

    code = main(["bench", "insights", "--conversations", "200", "--runs", "1", "--out", str(out)])

    printed = capsys.readouterr().out
    assert code == 0
    for name in (*QUERIES, "fill (s)", "events", "every query under 1000 ms"):
        assert name in printed
    assert json.loads(out.read_text())["sqlite"]["rows"]["conversations"] == 200


def test_the_synthetic_conversations_are_seeded() -> None:
    first = list(synthetic_conversations(50, seed=1, now=1_700_000_000.0))
    again = list(synthetic_conversations(50, seed=1, now=1_700_000_000.0))
    other = list(synthetic_conversations(50, seed=2, now=1_700_000_000.0))

    assert first == again and first != other
    assert [c.created_at for c in first] == sorted(c.created_at for c in first)
    assert all(1_700_000_000.0 - 30 * 86_400 <= c.created_at < 1_700_000_000.0 for c in first)
    assert all([e.seq for e in c.events] == list(range(1, len(c.events) + 1)) for c in first)
