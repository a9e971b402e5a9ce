"""One request to run a custom action, and the webhook payload it becomes.

The payload is what Rasa sends an action server (``POST /webhook``)::

    {"next_action": "action_order_status", "sender_id": "c_...",
     "tracker": {...tracker_state...}, "domain": {...}, "version": "3.x.y"}

The in-process runner hands the very same dict to rasa-sdk's executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from rasa_sdk import __version__ as RASA_SDK_VERSION

from bot.actions.results import ActionResult, slot_updates
from bot.actions.tracker import (
    Event,
    LatestMessage,
    TrackerState,
    Turn,
    build_domain,
    tracker_state,
    turn_events,
)


class WebhookPayload(TypedDict):
    """The JSON body of ``POST <action server>/webhook`` (rasa_sdk.types.ActionCall)."""

    next_action: str
    sender_id: str
    tracker: TrackerState
    domain: dict[str, Any]
    version: str


@dataclass(frozen=True)
class ActionCall:
    """Run action ``name`` for conversation ``sender_id`` with these slots, message and history.

    ``events`` is the Rasa event history (it may be minimal; see :func:`ActionCall.from_turns`);
    an empty ``domain`` is sent as a minimal domain naming the slots and the action.
    """

    name: str
    sender_id: str
    slots: dict[str, Any] = field(default_factory=dict)
    latest_message: LatestMessage = field(default_factory=lambda: LatestMessage())
    events: list[Event] = field(default_factory=list)
    domain: dict[str, Any] = field(default_factory=dict)
    active_loop: str | None = None  # the active form (a form's validate or ask action)

    @classmethod
    def from_turns(
        cls,
        name: str,
        sender_id: str,
        *,
        slots: Mapping[str, Any] | None = None,
        latest: LatestMessage | None = None,
        turns: Iterable[Turn] = (),
        domain: Mapping[str, Any] | None = None,
        active_loop: str | None = None,
        candidates: Mapping[str, Any] | None = None,
    ) -> ActionCall:
        """A call whose Rasa history is built from earlier ``turns`` followed by ``latest``.

        For a form: ``active_loop`` names it, and ``candidates`` are the slot values read from the
        latest message, appended as ``slot`` events after it and set in the slots, as Rasa does
        before it calls ``validate_<form>`` (rasa-sdk's ``tracker.slots_to_validate()`` reads them).
        """
        message = latest if latest is not None else LatestMessage()
        events = turn_events(turns, message)
        if active_loop:  # the form ran after the message, as Rasa records it
            events += [{"event": "action", "name": active_loop}, {"event": "active_loop", "name": active_loop}]
        events += [{"event": "slot", "name": slot, "value": value} for slot, value in (candidates or {}).items()]
        return cls(
            name=name,
            sender_id=sender_id,
            slots={**(slots or {}), **(candidates or {})},
            latest_message=message,
            events=events,
            domain=dict(domain or {}),
            active_loop=active_loop,
        )

    def tracker(self) -> TrackerState:
        return tracker_state(
            self.sender_id,
            slots=self.slots,
            latest=self.latest_message,
            events=self.events,
            active_loop=self.active_loop,
        )

    def payload(self) -> WebhookPayload:
        """The webhook JSON body for this call."""
        return {
            "next_action": self.name,
            "sender_id": self.sender_id,
            "tracker": self.tracker(),
            "domain": self.domain or build_domain(slots=self.slots, actions=[self.name]),
            "version": RASA_SDK_VERSION,
        }

    def after(self, result: ActionResult, next_action: str) -> ActionCall:
        """The call for ``next_action`` once this one returned ``result``, as Rasa would track it:
        this action's ``action`` event, its messages as ``bot`` events, then its events; slots updated."""
        ran: list[Event] = [{"event": "action", "name": self.name}]
        ran += [{"event": "bot", "text": r.get("text"), "data": {}, "metadata": {}} for r in result.responses]
        return replace(
            self,
            name=next_action,
            slots={**self.slots, **slot_updates(result, current=self.slots)},
            events=[*self.events, *ran, *result.events],
        )
