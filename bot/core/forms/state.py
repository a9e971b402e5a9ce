"""The state of a conversation's form, as the ``form`` events record it (rebuilt by replay)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

STARTED = "started"
ASKING = "asking"
COMPLETED = "completed"
CANCELLED = "cancelled"  # the customer stopped it
FAILED = "failed"  # too many failed answers: handed to a person
SWITCHED = "switched"  # the customer started another task
HANDED_OFF = "handed_off"  # a person took over mid-form
ENDED = (COMPLETED, CANCELLED, FAILED, SWITCHED, HANDED_OFF)

PENDING_STOP = "stop"  # asked "do you want to stop?"
PENDING_CONFIRM = "confirm"  # asked the form's confirm question before ``done``


@dataclass(frozen=True)
class FormState:
    form: str | None = None  # the active form; None: none
    requested_slot: str | None = None
    status: str = COMPLETED
    failures: int = 0  # failed answers to the question asked now
    pending: str | None = None  # PENDING_STOP | PENDING_CONFIRM | None

    @property
    def active(self) -> bool:
        return self.form is not None and self.status not in ENDED

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> FormState:
        state = cls(
            form=data.get("form"),
            requested_slot=data.get("requested_slot"),
            status=str(data.get("status", COMPLETED)),
            failures=int(data.get("failures", 0)),
            pending=data.get("pending"),
        )
        return state if state.active else cls()


NO_FORM = FormState()
