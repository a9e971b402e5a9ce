"""``deskmate report --since 7d --out DIR``: the admin page's insights as an HTML page with PNG charts and CSVs."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

SPAN = re.compile(r"^(\d{1,4})([hd])$")


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="the insights of a period as an HTML page with PNG charts and CSV files (for a cron job)"
    )
    report.add_argument("--since", default="7d", help="7d, 24h, or a UTC date like 2026-12-01 (default 7d)")
    report.add_argument("--until", help="a UTC date (the day before it is the last one); default: now")
    report.add_argument("--out", type=Path, required=True, help="the folder to write (created if needed)")
    report.add_argument("--data-dir", type=Path, help="where the database lives (default ./var)")
    report.set_defaults(run=_report)


def moment(text: str, *, now: float) -> float:
    """``7d`` / ``24h`` before ``now``, or the start of a UTC date."""
    span = SPAN.match(text.strip())
    if span:
        return now - int(span.group(1)) * (86_400 if span.group(2) == "d" else 3_600)
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not a period start; use 7d, 24h or a date like 2026-12-01") from exc


def _report(args: argparse.Namespace) -> int:
    from bot.errors import StoreError
    from bot.ops.config import Settings
    from bot.ops.report import write_report
    from bot.storage.factory import open_stores
    from bot.storage.insights import Insights, Period, gather

    now = time.time()
    since = moment(args.since, now=now)
    until = moment(args.until, now=now) if args.until else now
    if until <= since:
        raise ConfigError("--until must come after --since")
    settings = Settings.from_env(data_dir=args.data_dir)
    if not settings.database_url and not settings.database.is_file():
        raise StoreError(
            f"no database at {settings.database}; pass --data-dir, or set DESKMATE_DB_PATH or DESKMATE_DATABASE_URL"
        )

    async def read() -> Insights:
        stores = await open_stores(settings)
        try:
            return await gather(stores.insights, Period(since, until))
        finally:
            await stores.close()

    page = write_report(asyncio.run(read()), args.out)
    print(f"Wrote {page}", file=sys.stderr)
    return 0
