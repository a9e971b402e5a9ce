"""Rasa tracker and domain dicts built from plain values.

An action written for rasa-sdk reads a ``Tracker`` (built by ``Tracker.from_dict`` from the dict
made here) and a domain dict. Deskmate keeps its own conversation events, so these helpers
translate: the customer's latest message becomes Rasa ``parse_data``, earlier turns become a
minimal Rasa event history::

    action_session_start, session_started, action_listen,
    user "where is my order?",                       # a customer turn
    action action_deskmate_reply, bot "Which one?",  # a bot (or agent) turn
    action_listen, user "PC-123456"                  # the latest message, last

Slots travel in ``slots`` only (no ``slot`` events are invented for them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

CUSTOMER = "customer"
BOT = "bot"
AGENT = "agent"
SPEAKERS = (CUSTOMER, BOT, AGENT)
LISTEN = "action_listen"
REPLY_ACTION = "action_deskmate_reply"  # the action a bot or agent turn is recorded under
INPUT_CHANNEL = "deskmate"
DOMAIN_VERSION = "3.1"

Event = dict[str, Any]


class Intent(TypedDict):
    name: str | None
    confidence: float


class LatestMessage(TypedDict, total=False):
    """Rasa ``parse_data`` of the customer's latest message (``tracker.latest_message``)."""

    text: str
    intent: Intent
    entities: list[dict[str, Any]]
    intent_ranking: list[Intent]


class TrackerState(TypedDict):
    """The tracker dict rasa-sdk's ``Tracker.from_dict`` reads (rasa_sdk.types.TrackerState)."""

    sender_id: str
    slots: dict[str, Any]
    latest_message: LatestMessage
    events: list[Event]
    paused: bool
    followup_action: str | None
    active_loop: dict[str, Any]
    latest_action_name: str | None


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation: who said what (and, for the customer, the intent)."""

    speaker: str  # customer | bot | agent
    text: str
    intent: str | None = None
    confidence: float | None = None

    def __post_init__(self) -> None:
        if self.speaker not in SPEAKERS:
            raise ValueError(f"unknown speaker {self.speaker!r}; use one of {', '.join(SPEAKERS)}")


def latest_message(
    text: str,
    *,
    intent: str | None = None,
    confidence: float | None = None,
    entities: Sequence[Mapping[str, Any]] = (),
) -> LatestMessage:
    """Rasa ``parse_data`` for one customer message (the intent ranking holds just the top intent)."""
    top: Intent = {
        "name": intent,
        "confidence": float(confidence if confidence is not None else (1.0 if intent else 0.0)),
    }
    return {
        "text": text,
        "intent": top,
        "entities": [dict(entity) for entity in entities],
        "intent_ranking": [top] if intent else [],
    }


def turn_events(turns: Iterable[Turn], latest: LatestMessage | None = None) -> list[Event]:
    """A minimal Rasa event history: session start, then each turn, then the latest message."""
    events: list[Event] = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "action", "name": LISTEN},
    ]
    for turn in turns:
        if turn.speaker == CUSTOMER:
            _listen(events)
            events.append(_user_event(latest_message(turn.text, intent=turn.intent, confidence=turn.confidence)))
        else:
            events.append({"event": "action", "name": REPLY_ACTION})
            events.append({"event": "bot", "text": turn.text, "data": {}, "metadata": {"speaker": turn.speaker}})
    if latest and latest.get("text") is not None:
        _listen(events)
        events.append(_user_event(latest))
    return events


def tracker_state(
    sender_id: str,
    *,
    slots: Mapping[str, Any] | None = None,
    latest: LatestMessage | None = None,
    events: Sequence[Event] = (),
    active_loop: str | None = None,
) -> TrackerState:
    """The tracker dict for a Rasa event history; ``paused`` and the latest action come from it.

    ``active_loop`` names the active form, as Rasa sends it (``{"name": form}``; ``{}`` for none).
    """
    return {
        "sender_id": sender_id,
        "slots": dict(slots or {}),
        "latest_message": latest if latest is not None else {},
        "events": [dict(event) for event in events],
        "paused": is_paused(events),
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": latest_action_name(events),
    }


def build_tracker(
    sender_id: str,
    *,
    slots: Mapping[str, Any] | None = None,
    latest: LatestMessage | None = None,
    turns: Iterable[Turn] = (),
) -> TrackerState:
    """The tracker dict rasa-sdk expects, from plain values (``turns`` are those before ``latest``)."""
    return tracker_state(sender_id, slots=slots, latest=latest, events=turn_events(turns, latest))


def build_domain(
    *,
    slots: Iterable[str] = (),
    actions: Iterable[str] = (),
    intents: Iterable[str] = (),
    entities: Iterable[str] = (),
    responses: Mapping[str, Sequence[str]] | None = None,
    forms: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """A Rasa domain dict (as ``Domain.as_dict()`` writes it) with only what Deskmate knows.

    ``forms`` maps each form to its required slots (what a ``FormValidationAction`` reads).
    """
    form_slots = {slot for required in (forms or {}).values() for slot in required}
    slot_names = list(dict.fromkeys([*slots, *sorted(form_slots)]))
    return {
        "version": DOMAIN_VERSION,
        "config": {"store_entities_as_slots": True},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
        "intents": [{name: {"use_entities": True}} for name in intents],
        "entities": list(entities),
        "slots": {
            name: {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
            for name in slot_names
        },
        "responses": {name: [{"text": text} for text in texts] for name, texts in (responses or {}).items()},
        "actions": list(actions),
        "forms": {name: {"required_slots": list(required)} for name, required in (forms or {}).items()},
    }


def is_paused(events: Iterable[Event]) -> bool:
    """Whether the last ``pause``/``resume`` event (if any) is a pause."""
    paused = False
    for event in events:
        if event.get("event") == "pause":
            paused = True
        elif event.get("event") == "resume":
            paused = False
    return paused


def latest_action_name(events: Sequence[Event]) -> str:
    """The name of the last ``action`` event; ``action_listen`` when there is none."""
    for event in reversed(events):
        if event.get("event") == "action" and isinstance(event.get("name"), str):
            return str(event["name"])
    return LISTEN


def _user_event(message: LatestMessage) -> Event:
    return {"event": "user", "text": message.get("text"), "parse_data": dict(message), "input_channel": INPUT_CHANNEL}


def _listen(events: list[Event]) -> None:
    if events[-1] != {"event": "action", "name": LISTEN}:
        events.append({"event": "action", "name": LISTEN})
