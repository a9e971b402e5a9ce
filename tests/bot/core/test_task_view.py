"""bot.core.task_view: the form and slots agents see, folded from the agent-side event items."""

from __future__ import annotations

import json
from typing import Any

from bot.core.events import StoredEvent
from bot.core.task_view import empty_task, task_after, task_frame, task_view
from bot.service.desk import transcript_item


def item(kind: str, seq: int = 1, **data: Any) -> dict[str, Any]:
    """An event as the console gets it (``transcript_item``)."""
    return transcript_item(StoredEvent("c_1", seq, kind, data, 0.0))


def asking(slot: str, *, form: str = "order_lookup", failures: int = 0, pending: str | None = None) -> dict[str, Any]:
    return item("form", form=form, requested_slot=slot, status="asking", failures=failures, pending=pending)


def test_no_form_and_no_slot_before_any_form_event() -> None:
    task = task_view([item("customer_message", text="hi"), item("bot_reply", text="Hello!", source="template")])

    assert task == empty_task()
    assert task == {
        "form": None,
        "requested_slot": None,
        "status": None,
        "active": False,
        "failures": 0,
        "pending": None,
        "slots": {},
    }


def test_the_latest_form_event_is_the_forms_state() -> None:
    task = task_view(
        [
            item("form", form="order_lookup", requested_slot=None, status="started", failures=0, pending=None),
            asking("order_id"),
            asking("order_id", failures=2),
            asking("email", pending="stop"),
        ]
    )

    assert task["form"] == "order_lookup"
    assert task["requested_slot"] == "email"
    assert (task["status"], task["active"], task["failures"], task["pending"]) == ("asking", True, 0, "stop")


def test_a_finished_form_is_not_active() -> None:
    for status in ("completed", "cancelled", "failed", "switched", "handed_off"):
        task = task_view(
            [asking("order_id"), item("form", form="order_lookup", requested_slot="order_id", status=status)]
        )

        assert task["status"] == status and task["active"] is False
        assert task["requested_slot"] == "order_id"  # the question it ended on

    assert task_view([item("form", form=None, requested_slot=None, status="asking")])["active"] is False


def test_slots_are_set_changed_and_cleared_in_order() -> None:
    task = task_view(
        [
            item("slot_set", slot="order_id", value="PC-483920", source="entity"),
            item("slot_set", slot="email", value="ana@example.com", source="form"),
            item("slot_set", slot="urgent", value=True, source="form"),
            item("slot_set", slot="order_id", value="PC-111111", source="action:action_order_status"),
            item("slot_set", slot="email", value=None, source="form"),
        ]
    )

    assert task["slots"] == {"order_id": "PC-111111", "urgent": True}
    assert list(task["slots"]) == ["order_id", "urgent"]


def test_a_handoff_mid_form_adds_what_was_collected() -> None:
    task = task_view(
        [
            asking("order_id"),
            item("slot_set", slot="email", value="ana@example.com", source="form"),
            item("form", form="order_lookup", requested_slot="order_id", status="failed", failures=3, pending=None),
            item(
                "handoff",
                text="A person will help.",
                reason="form_failed",
                form="order_lookup",
                collected={"email": "ana@example.com", "topic": "damaged"},
            ),
        ]
    )

    assert task["slots"] == {"email": "ana@example.com", "topic": "damaged"}
    assert (task["form"], task["status"], task["failures"], task["active"]) == ("order_lookup", "failed", 3, False)


def test_events_that_change_nothing_give_back_the_same_task() -> None:
    task = task_view([asking("order_id"), item("slot_set", slot="email", value="ana@example.com")])

    for unrelated in (
        item("customer_message", text="PC-4"),
        item("bot_reply", text="Order numbers look like PC-123456.", form="order_lookup", asks="order_id"),
        item("handoff", text="A person will help.", reason="explicit_request"),
        item("state_changed", to="WAITING_FOR_AGENT"),
    ):
        assert task_after(task, unrelated) is task


def test_malformed_form_fields_are_read_as_absent() -> None:
    task = task_view(
        [item("form", form="", requested_slot=3, status="asking", failures="two", pending=False), item("slot_set")]
    )

    assert task["form"] is None and task["requested_slot"] is None and task["failures"] == 0
    assert task["pending"] is None and task["slots"] == {}


def test_the_task_frame_is_json() -> None:
    task = task_view([asking("order_id"), item("slot_set", slot="order_id", value="PC-483920")])

    frame = task_frame("c_1", task)

    assert frame == {"type": "task", "conversation_id": "c_1", "task": task}
    assert json.loads(json.dumps(frame)) == frame
