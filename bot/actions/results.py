"""What an action returned, and what it means for the conversation.

An action answers with Rasa events (``{"event": "slot", "name": ..., "value": ...}``,
``{"event": "pause"}``, ``{"event": "followup", "name": ...}``...) and the messages its dispatcher
collected. The helpers here read them; they never perform anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from bot.errors import ActionError

Event = dict[str, Any]


class Button(TypedDict):
    title: str
    payload: str


class ActionMessage(TypedDict):
    """A message for the customer, shaped like a Deskmate reply: text and buttons (plus extras)."""

    text: str
    buttons: list[Button]
    image: NotRequired[str]
    attachment: NotRequired[str]
    custom: NotRequired[dict[str, Any]]


@dataclass(frozen=True)
class ActionResult:
    """The webhook answer: ``events`` to apply and ``responses`` (dispatcher messages) to send."""

    events: list[Event] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)


def parse_result(data: object, *, action: str, source: str) -> ActionResult:
    """Check a webhook answer's shape; ``source`` says where it came from, for the error message."""
    if not isinstance(data, dict):
        raise ActionError(
            f"{source} answered action `{action}` with {type(data).__name__} instead of an object with "
            "`events` and `responses`; check that the URL points at a Rasa action server",
            action=action,
            reason="bad_response",
        )
    events = data.get("events", [])
    responses = data.get("responses", [])
    if not isinstance(events, list) or not all(isinstance(e, dict) and isinstance(e.get("event"), str) for e in events):
        raise ActionError(
            f"{source} returned malformed `events` for action `{action}`: expected a list of objects with an "
            "`event` key; have the action return events made with rasa_sdk.events (SlotSet, FollowupAction...)",
            action=action,
            reason="bad_response",
        )
    if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
        raise ActionError(
            f"{source} returned malformed `responses` for action `{action}`: expected a list of message objects; "
            "have the action send messages with dispatcher.utter_message()",
            action=action,
            reason="bad_response",
        )
    return ActionResult(events=[dict(e) for e in events], responses=[dict(r) for r in responses])


def slot_updates(result: ActionResult, *, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The slots the result sets, in order (last value wins).

    An ``AllSlotsReset`` (``reset_slots``) clears what came before it and sets every slot in
    ``current`` to ``None``; a ``restart`` does the same.
    """
    updates: dict[str, Any] = {}
    for event in result.events:
        kind = event["event"]
        if kind == "slot" and isinstance(event.get("name"), str):
            updates[event["name"]] = event.get("value")
        elif kind in ("reset_slots", "restart"):
            updates = dict.fromkeys(current or {})
    return updates


def paused(result: ActionResult) -> bool:
    """Whether the action paused the conversation (``ConversationPaused``: hand it to a human)."""
    state = False
    for event in result.events:
        if event["event"] == "pause":
            state = True
        elif event["event"] == "resume":
            state = False
    return state


def followup(result: ActionResult) -> str | None:
    """The action to run next (the last ``FollowupAction``), if any."""
    name = None
    for event in result.events:
        if event["event"] == "followup" and isinstance(event.get("name"), str):
            name = event["name"]
    return name


def messages(
    result: ActionResult,
    *,
    domain: Mapping[str, Any] | None = None,
    slots: Mapping[str, Any] | None = None,
) -> list[ActionMessage]:
    """The messages to send, text and buttons.

    A message that only names a response (``utter_message(response="utter_x")``) takes its text from
    the first variation of ``domain["responses"]["utter_x"]``, with ``{slot}`` placeholders filled
    from ``slots``. Messages with nothing to show are dropped.
    """
    templates = (domain or {}).get("responses") or {}
    out: list[ActionMessage] = []
    for response in result.responses:
        text = response.get("text")
        buttons = list(response.get("buttons") or [])
        name = response.get("response") or response.get("template")
        if not text and isinstance(name, str) and templates.get(name):
            variation = templates[name][0]
            text = _fill(str(variation.get("text") or ""), {**(slots or {}), **response})
            buttons = buttons or list(variation.get("buttons") or [])
        message: ActionMessage = {
            "text": str(text or ""),
            "buttons": [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in buttons],
        }
        for key in ("image", "attachment"):
            if response.get(key):
                message[key] = str(response[key])  # type: ignore[literal-required]
        if response.get("custom"):
            message["custom"] = dict(response["custom"])
        if message["text"] or message["buttons"] or len(message) > 2:
            out.append(message)
    return out


def _fill(text: str, values: Mapping[str, Any]) -> str:
    for key, value in values.items():
        if isinstance(key, str) and value is not None:
            text = text.replace("{" + key + "}", str(value))
    return text
