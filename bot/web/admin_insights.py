"""The admin websocket's ``insights`` frame: a period in, the figures out (bot/storage/insights.py).

``{"type": "insights", "id": "ins-1", "since": UNIX, "until": UNIX}`` is answered with
``{"type": "insights", "id", "period": {since, until}, "overview": {...}, "handoff_reasons": [...],
"waits": {...}, "satisfaction": {...}, "thumbs": [...], "top_intents": [...], "daily": [...]}``:
the :class:`~bot.storage.insights.Insights` fields as JSON, with each ``outcomes`` also carrying its
``resolved_share``. A period may span up to :data:`MAX_DAYS` days.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from bot.errors import ProtocolError
from bot.storage.insights import DAY, Insights, Outcomes, Period

MAX_DAYS = 400


def parse_period(frame: dict[str, Any]) -> Period:
    since, until = frame.get("since"), frame.get("until")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (since, until))
    if not numbers:
        raise ProtocolError("bad_frame", '"since" and "until" must be unix times in seconds', ref=frame.get("id"))
    assert isinstance(since, int | float) and isinstance(until, int | float)
    if until <= since:
        raise ProtocolError("bad_frame", "the period must end after it starts; pick other dates", ref=frame.get("id"))
    if until - since > MAX_DAYS * DAY:
        raise ProtocolError(
            "bad_frame", f"a period spans at most {MAX_DAYS} days; pick a shorter one", ref=frame.get("id")
        )
    return Period(float(since), float(until))


def _outcomes(outcomes: Outcomes) -> dict[str, Any]:
    return {**asdict(outcomes), "resolved_share": outcomes.resolved_share}


def insights_frame(frame_id: str, insights: Insights) -> dict[str, Any]:
    data = asdict(insights)
    data["overview"] = _outcomes(insights.overview)
    data["daily"] = [{**asdict(day), "outcomes": _outcomes(day.outcomes)} for day in insights.daily]
    return {"type": "insights", "id": frame_id, **data}
