"""The record of one knowledge-base change on a running service: who, when, what, outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class ReloadAction(StrEnum):
    RELOAD = "reload"  # build the KB folder again and serve it
    ROLLBACK = "rollback"  # serve an earlier build
    START = "start"  # the build served when the service started


class ReloadOutcome(StrEnum):
    SERVING = "serving"  # checked and swapped in
    REJECTED = "rejected"  # the KB did not validate; the old version kept serving
    FAILED = "failed"  # built but did not load or failed the smoke check; the old version kept serving


@dataclass(frozen=True)
class ReloadRecord:
    at: float  # unix time when it finished
    actor: str  # who asked: "admin:USERNAME" (an admin account), "admin" (the admin token), "cli", "startup"
    action: ReloadAction
    outcome: ReloadOutcome
    build_id: str | None  # the build swapped in (or the one that failed); None if nothing was built
    content_hash: str | None  # the KB content hash of that build
    detail: str = ""  # the reason of a rejection or failure, or a short summary
    seconds: float = 0.0  # how long it took

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReloadRecord:
        return cls(
            at=float(data["at"]),
            actor=str(data["actor"]),
            action=ReloadAction(data["action"]),
            outcome=ReloadOutcome(data["outcome"]),
            build_id=data.get("build_id"),
            content_hash=data.get("content_hash"),
            detail=str(data.get("detail", "")),
            seconds=float(data.get("seconds", 0.0)),
        )
