"""What agents see of a conversation's task: its form and its slots (the console's Task panel).

Built from the agent-side event items (``transcript_item``: ``kind`` plus the event's data) by
folding them one at a time, so the console gets it whole in the ``transcript`` frame and again,
whole, in a ``task`` frame after each event that changes it (docs/protocol.md, agent section).
Customers never get any of it: ``form`` and ``slot_set`` events have no customer frame.

- ``form`` events: the latest one is the form's state (``form``, ``requested_slot``, ``status``,
  ``failures``, ``pending``).
- ``slot_set`` events: a value sets the slot, ``None`` clears it.
- ``handoff`` events of a handoff mid-form: their ``collected`` slots, in case a value was
  collected without its own ``slot_set`` event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from bot.core.events import FORM, HANDOFF, SLOT_SET
from bot.core.forms.state import ENDED


class TaskView(TypedDict):
    form: str | None  # the form of the latest form event (null once none is active)
    requested_slot: str | None  # the slot it asks for
    status: str | None  # started | asking | completed | cancelled | failed | switched | handed_off; null: none yet
    active: bool  # the form is on: started or asking (bot.core.forms.state.FormState.active)
    failures: int  # failed answers to the current question
    pending: str | None  # null | "stop" | "confirm": the form waits for the customer's yes or no
    slots: dict[str, Any]  # every slot with a value, in the order they were first set


def empty_task() -> TaskView:
    return TaskView(form=None, requested_slot=None, status=None, active=False, failures=0, pending=None, slots={})


def task_after(task: TaskView, item: Mapping[str, Any]) -> TaskView:
    """``task`` after the agent event item ``item``: a new view if the item changes it, else ``task``."""
    kind = item.get("kind")
    if kind == FORM:
        form, status = _text(item.get("form")), _text(item.get("status"))
        failures = item.get("failures")
        return TaskView(
            form=form,
            requested_slot=_text(item.get("requested_slot")),
            status=status,
            active=form is not None and status is not None and status not in ENDED,
            failures=failures if isinstance(failures, int) and not isinstance(failures, bool) else 0,
            pending=_text(item.get("pending")),
            slots=task["slots"],
        )
    if kind == SLOT_SET and isinstance(item.get("slot"), str):
        return {**task, "slots": _with(task["slots"], {item["slot"]: item.get("value")})}
    if kind == HANDOFF and isinstance(item.get("collected"), dict) and item["collected"]:
        return {**task, "slots": _with(task["slots"], item["collected"])}
    return task


def task_view(items: Iterable[Mapping[str, Any]]) -> TaskView:
    """The task after all of ``items`` (a transcript's events, oldest first)."""
    task = empty_task()
    for item in items:
        task = task_after(task, item)
    return task


def task_frame(conversation_id: str, task: TaskView) -> dict[str, Any]:
    return {"type": "task", "conversation_id": conversation_id, "task": task}


def _with(slots: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    updated = dict(slots)
    for name, value in changes.items():
        if value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    return updated


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
