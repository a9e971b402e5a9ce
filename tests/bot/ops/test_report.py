"""bot.ops.report and ``deskmate report``: the insights as an HTML page, PNG charts and CSVs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.cli.report import moment
from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, FEEDBACK, HANDOFF, SURVEY, NewEvent
from bot.errors import ConfigError
from bot.ops.report import tables, write_report
from bot.storage.insights import (
    AgentScore,
    Count,
    Day,
    Insights,
    IntentThumbs,
    Outcomes,
    Period,
    Satisfaction,
    Waits,
)
from bot.storage.sqlite.store import SQLiteStore

HOSTILE = "<script>alert(1)</script>"


def insights() -> Insights:
    outcomes = Outcomes(conversations=10, engaged=8, escalated=2, rated_down=1, abandoned=1, resolved=5)
    return Insights(
        period=Period(1_764_000_000.0, 1_764_600_000.0),
        overview=outcomes,
        handoff_reasons=[Count("low_confidence", 2)],
        waits=Waits(handoffs=2, joined=1, answered=1, median_to_join=42.0, median_to_first_message=95.0),
        satisfaction=Satisfaction(3, 3.67, (0, 1, 0, 1, 1), (AgentScore("sam", 2, 3.0), AgentScore(None, 1, 5.0))),
        thumbs=[IntentThumbs(HOSTILE, 1, 2), IntentThumbs("=cmd()", 0, 1)],
        top_intents=[Count("shipping_cost", 7)],
        daily=[Day("2025-11-24", outcomes, handoffs=2, thumbs_up=1, thumbs_down=3, surveys=3, average_score=3.67)],
    )


def test_the_report_has_a_page_a_chart_and_a_csv_per_table(tmp_path: Path) -> None:
    page = write_report(insights(), tmp_path / "report")
    text = page.read_text()

    for table in tables(insights()):
        assert (tmp_path / "report" / f"{table.name}.csv").is_file()
        assert (tmp_path / "report" / f"{table.name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{table.name}.png"' in text and f'href="{table.name}.csv"' in text
    assert (tmp_path / "report" / "overview.csv").is_file() and (tmp_path / "report" / "waits.csv").is_file()
    assert "62%" in text and "42 s" in text and "2 min" in text and "3.7 / 5" in text
    assert HOSTILE not in text and "&lt;script&gt;" in text  # escaped
    assert "<script" not in text and "http" not in text  # self-contained: no script, no address


def test_a_csv_never_holds_a_formula(tmp_path: Path) -> None:
    write_report(insights(), tmp_path)
    assert "'=cmd()" in (tmp_path / "thumbs_by_intent.csv").read_text()


def test_an_empty_table_says_so_and_draws_nothing(tmp_path: Path) -> None:
    empty = insights()
    empty = Insights(empty.period, Outcomes(), [], Waits(0, 0, 0, None, None), Satisfaction(0, None, (0,) * 5), [], [])
    page = write_report(empty, tmp_path)

    assert "Nothing in this period." in page.read_text()
    assert not (tmp_path / "thumbs_by_intent.png").exists()


def test_the_start_of_a_period() -> None:
    assert moment("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86_400
    assert moment("24h", now=1_000_000.0) == 1_000_000.0 - 86_400
    assert moment("2026-12-01", now=0.0) == 1_796_083_200.0
    with pytest.raises(ConfigError):
        moment("last week", now=0.0)


def test_deskmate_report_reads_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def fill() -> None:
        store = await SQLiteStore(tmp_path / "deskmate.sqlite3").open()
        try:
            conversation = await store.create_conversation("token-hash")
            await store.append(
                conversation,
                [
                    NewEvent(BOT_REPLY, {"text": "Hi", "source": "system"}),
                    NewEvent(CUSTOMER_MESSAGE, {"text": "how much is delivery"}, client_id="m1"),
                    NewEvent(BOT_REPLY, {"text": "£4.95", "source": "template", "intent": "shipping_cost"}),
                    NewEvent(FEEDBACK, {"reply": "e3", "value": "down", "comment": None}, client_id="f1"),
                    NewEvent(HANDOFF, {"text": "A person", "reason": "explicit_request"}),
                    NewEvent(SURVEY, {"score": 2, "comment": None}, client_id="s1"),
                ],
            )
        finally:
            await store.close()

    asyncio.run(fill())
    assert main(["report", "--since", "1d", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]) == 0
    thumbs = (tmp_path / "out" / "thumbs_by_intent.csv").read_text().splitlines()
    assert thumbs == ["intent,up,down", "shipping_cost,0,1"]
    assert "explicit_request" in (tmp_path / "out" / "handoff_reasons.csv").read_text()
    assert "Wrote" in capsys.readouterr().err
