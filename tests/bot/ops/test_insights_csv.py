"""bot.ops.insights_csv: each figure as CSV."""

from __future__ import annotations

import csv
import io

from bot.ops.insights_csv import (
    counts_csv,
    csv_tables,
    daily_csv,
    overview_csv,
    satisfaction_by_agent_csv,
    satisfaction_csv,
    thumbs_csv,
    waits_csv,
)
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

OVERVIEW = Outcomes(conversations=13, engaged=12, escalated=4, rated_down=2, abandoned=2, resolved=5)
SATISFACTION = Satisfaction(3, 11 / 3, (0, 1, 0, 1, 1), (AgentScore("alice", 1, 4.0), AgentScore(None, 2, 3.5)))


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_each_figure_is_a_table() -> None:
    assert rows(overview_csv(OVERVIEW)) == [
        ["conversations", "engaged", "resolved", "resolved_share", "escalated", "rated_down", "abandoned"],
        ["13", "12", "5", "0.4167", "4", "2", "2"],
    ]
    assert rows(counts_csv("reason", [Count("low_confidence", 2), Count(None, 1)])) == [
        ["reason", "count"],
        ["low_confidence", "2"],
        ["", "1"],
    ]
    assert rows(waits_csv(Waits(4, 3, 0, 60.04, None))) == [
        ["handoffs", "joined", "answered", "median_seconds_to_join", "median_seconds_to_first_message"],
        ["4", "3", "0", "60.0", ""],
    ]
    assert rows(satisfaction_csv(SATISFACTION)) == [
        ["score", "surveys", "average"],
        ["1", "0", ""],
        ["2", "1", ""],
        ["3", "0", ""],
        ["4", "1", ""],
        ["5", "1", ""],
        ["all", "3", "3.67"],
    ]
    assert rows(satisfaction_by_agent_csv(SATISFACTION)) == [
        ["agent", "surveys", "average"],
        ["alice", "1", "4.0"],
        ["", "2", "3.5"],
    ]
    assert rows(thumbs_csv([IntentThumbs("refund", 1, 3)])) == [["intent", "up", "down"], ["refund", "1", "3"]]
    day = Day("2023-11-14", OVERVIEW, handoffs=4, thumbs_up=1, thumbs_down=2, surveys=2, average_score=3.0)
    quiet = Day("2023-11-15", Outcomes())
    assert rows(daily_csv([day, quiet]))[1:] == [
        ["2023-11-14", "13", "12", "5", "0.4167", "4", "1", "2", "2", "3.0"],
        ["2023-11-15", "0", "0", "0", "", "0", "0", "0", "0", ""],
    ]


def test_a_cell_a_spreadsheet_would_run_is_quoted() -> None:
    text = counts_csv("intent", [Count('=HYPERLINK("http://x")', 1), Count("-1", 2), Count("a,b", 3)])

    assert rows(text)[1:] == [['\'=HYPERLINK("http://x")', "1"], ["'-1", "2"], ["a,b", "3"]]
    assert text.endswith("\r\n")


def test_every_figure_gets_a_file() -> None:
    insights = Insights(
        Period(0, 86_400), OVERVIEW, [], Waits(0, 0, 0, None, None), SATISFACTION, [], [], [Day("1970-01-01", OVERVIEW)]
    )

    tables = csv_tables(insights)

    assert sorted(tables) == [
        "daily.csv",
        "handoff_reasons.csv",
        "overview.csv",
        "satisfaction.csv",
        "satisfaction_by_agent.csv",
        "thumbs_by_intent.csv",
        "top_intents.csv",
        "waits.csv",
    ]
    assert rows(tables["top_intents.csv"]) == [["intent", "count"]]
