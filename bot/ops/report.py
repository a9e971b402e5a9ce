"""``deskmate report``: the admin page's insights as files, for teams that prefer a file (and a cron job).

:func:`write_report` writes into one folder:

* ``index.html``: the figures of the period and a chart of each table, self-contained (the charts
  are PNG files beside it; no script, no external address);
* one PNG per chart, drawn with matplotlib (the Agg backend: no display needed);
* one CSV per figure (bot/ops/insights_csv.py), linked from its section.

Every text is escaped (``html.escape``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.ops.insights_csv import csv_tables
from bot.storage.insights import Insights

Row = Sequence[object]


@dataclass(frozen=True)
class Table:
    name: str  # the file name's stem
    title: str
    header: tuple[str, ...]
    rows: list[Row]


def tables(insights: Insights) -> list[Table]:
    """The tables of the report, in the order they are shown."""
    s = insights.satisfaction
    return [
        Table(
            "daily",
            "Per day",
            ("day", "conversations", "resolved by the bot", "handoffs", "thumbs up", "thumbs down", "surveys", "average score"),
            [
                (
                    d.day,
                    d.outcomes.conversations,
                    d.outcomes.resolved,
                    d.handoffs,
                    d.thumbs_up,
                    d.thumbs_down,
                    d.surveys,
                    _round(d.average_score),
                )
                for d in insights.daily
            ],
        ),
        Table("handoff_reasons", "Handoffs by reason", ("reason", "handoffs"), [(c.name or "(none)", c.count) for c in insights.handoff_reasons]),
        Table("satisfaction", "Satisfaction", ("score", "surveys"), [(i + 1, n) for i, n in enumerate(s.distribution)] if s.surveys else []),
        Table(
            "satisfaction_by_agent",
            "Satisfaction by agent",
            ("agent", "surveys", "average"),
            [(a.agent or "the bot alone", a.surveys, _round(a.average)) for a in s.by_agent],
        ),
        Table("thumbs_by_intent", "Thumbs by intent", ("intent", "up", "down"), [(t.intent or "(none)", t.up, t.down) for t in insights.thumbs]),
        Table("top_intents", "Top intents", ("intent", "answers"), [(c.name or "(none)", c.count) for c in insights.top_intents]),
    ]


def write_report(insights: Insights, out: Path, *, title: str = "Deskmate report") -> Path:
    """Write the report into ``out`` (created if needed); returns the path of index.html."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in csv_tables(insights).items():
        (out / name).write_text(text, encoding="utf-8")
    sections = []
    for table in tables(insights):
        chart = _draw(table, out / f"{table.name}.png") if table.rows else None
        sections.append(_section(table, chart))
    page = out / "index.html"
    page.write_text(_page(insights, title, sections), encoding="utf-8")
    return page


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _draw(table: Table, path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    labels = [str(row[0]) for row in table.rows]
    figure, axes = plt.subplots(figsize=(7.5, 3.2), dpi=100)
    try:
        if table.name == "daily":
            for column, color in ((1, "#2f5f7f"), (2, "#2f6f4f"), (3, "#d97706")):
                axes.plot(labels, [_number(row[column]) for row in table.rows], label=table.header[column], color=color)
            axes.legend(fontsize=8)
            axes.tick_params(axis="x", labelrotation=45, labelsize=7)
        elif table.name == "thumbs_by_intent":
            up = [_number(row[1]) for row in table.rows]
            axes.bar(labels, up, color="#2f6f4f", label="up")
            axes.bar(labels, [_number(row[2]) for row in table.rows], bottom=up, color="#b91c1c", label="down")
            axes.legend(fontsize=8)
            axes.tick_params(axis="x", labelrotation=30, labelsize=7)
        else:
            values = [_number(row[-1] if table.name == "satisfaction_by_agent" else row[1]) for row in table.rows]
            axes.bar(labels, values, color="#d97706" if table.name == "handoff_reasons" else "#2f6f4f")
            axes.tick_params(axis="x", labelrotation=30, labelsize=7)
        axes.set_title(table.title, fontsize=10)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path.name


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _section(table: Table, chart: str | None) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    image = f'<img src="{e(chart)}" alt="{e(table.title)}">' if chart else "<p>Nothing in this period.</p>"
    return (
        f'<section><h2>{e(table.title)}</h2>{image}'
        f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f'<p><a href="{e(table.name)}.csv">{e(table.name)}.csv</a></p></section>'
    )


def _page(insights: Insights, title: str, sections: list[str]) -> str:
    e = html.escape
    o, w, s = insights.overview, insights.waits, insights.satisfaction
    since = datetime.fromtimestamp(insights.period.since, tz=UTC).strftime("%Y-%m-%d %H:%M")
    until = datetime.fromtimestamp(insights.period.until, tz=UTC).strftime("%Y-%m-%d %H:%M")
    share = "–" if o.resolved_share is None else f"{o.resolved_share:.0%}"
    figures = [  # as overview.csv and waits.csv
        ("conversations", str(o.conversations)),
        ("resolved by the bot", f"{share} ({o.resolved} of {o.engaged})"),
        ("escalated to a person", str(o.escalated)),
        ("abandoned", str(o.abandoned)),
        ("median wait for an agent", _duration(w.median_to_join)),
        ("median time to the first agent reply", _duration(w.median_to_first_message)),
        ("satisfaction", "–" if s.average is None else f"{s.average:.1f} / 5 ({s.surveys} surveys)"),
    ]
    rows = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in figures)
    style = (
        "body{font:14px/1.45 system-ui,sans-serif;max-width:900px;margin:24px auto;padding:0 16px;color:#1f2328}"
        "table{border-collapse:collapse;margin:8px 0}th,td{text-align:left;padding:3px 12px 3px 0;"
        "border-bottom:1px solid #e5e7eb}img{max-width:100%}section{margin-top:28px}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
        f"<style>{style}</style></head><body><h1>{e(title)}</h1>"
        f"<p>{e(since)} to {e(until)} UTC</p><table>{rows}</table>{''.join(sections)}</body></html>\n"
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
