"""Rasa responses as the variations of responses.yml: their text, and the buttons Deskmate offers.

::

    buttons:                                          buttons:
    - title: Report a problem                         - {title: Report a problem, intent: open_ticket}
      payload: /open_ticket
    - title: Hardware                  (a question    - {title: Hardware, value: hardware}
      payload: '/inform{"issue_type": "hardware"}'     of slot issue_type)

A ``/intent`` payload becomes ``{title, intent}`` when that intent is imported. On the question of
a form's slot (``utter_ask_<slot>``), a payload with the slot's value (``/inform{"slot": "value"}``)
or a plain-text payload becomes a slot-value button ``{title, value}``. Other buttons are left out
with a note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kb.placeholders import PlaceholderError, escape, slot_names
from kb.rasa.files import RasaButton, Report, Response

_INTENT_PAYLOAD = re.compile(r"^/(?P<intent>[^{@\s]+)(?:@[0-9.]+)?(?P<entities>\{.*\})?$", re.DOTALL)


@dataclass(frozen=True)
class AskContext:
    """The slot a form question asks for, and the entities whose values fill it."""

    slot: str
    entities: tuple[str, ...] = ()


def convert_response(
    response: Response, *, intents: Mapping[str, str], report: Report, ask: AskContext | None = None
) -> list[Any]:
    """The variations of ``response`` for responses.yml; ``intents`` maps imported Rasa intents to Deskmate's."""
    variations: list[Any] = []
    for variation in response.variations:
        text = variation.text
        try:
            slot_names(text)
        except PlaceholderError as exc:
            text = escape(text)
            report.note(
                response.file, variation.line, f"braces of a `{response.name}` text kept as literal text ({exc})"
            )
        buttons: list[dict[str, str]] = []
        titles: set[str] = set()
        for button in variation.buttons:
            converted = _button(response, button, intents, ask, report)
            if converted is None:
                continue
            if button.title.casefold() in titles:
                report.note(
                    response.file, button.line, f"a second `{response.name}` button titled {button.title!r} left out"
                )
                continue
            titles.add(button.title.casefold())
            buttons.append(converted)
        variations.append({"text": text, "buttons": buttons} if buttons else text)
    return variations


def _button(
    response: Response, button: RasaButton, intents: Mapping[str, str], ask: AskContext | None, report: Report
) -> dict[str, str] | None:
    def drop(why: str) -> None:
        report.note(response.file, button.line, f"button {button.title!r} of `{response.name}` left out: {why}")

    payload = button.payload
    match = _INTENT_PAYLOAD.match(payload)
    if match is None:
        if payload.startswith("/"):
            drop(f"its payload {payload!r} is not `/intent` or `/intent{{...JSON...}}`")
            return None
        if payload.startswith(("http://", "https://", "mailto:", "tel:")):
            drop(f"its payload is a link ({payload}); Deskmate buttons stand for an intent or a slot value")
            return None
        if ask is not None and payload.strip():  # typed as the customer's answer to the question
            return {"title": button.title, "value": payload}
        drop(f"its payload {payload!r} is text, and Deskmate buttons stand for an intent (write `/intent`)")
        return None
    intent, entities = match.group("intent"), _entities(match.group("entities"))
    if entities is None:
        drop(f"the entities of its payload {payload!r} are not a JSON object")
        return None
    if ask is not None and entities:
        keys = [ask.slot, *ask.entities]
        value = next((entities[k] for k in keys if k in entities), None)
        if value is None and len(entities) == 1:
            value = next(iter(entities.values()))
        if value is not None:
            return {"title": button.title, "value": _text(value)}
    if intent not in intents:
        drop(f"intent `{intent}` of its payload is not imported")
        return None
    if entities:
        names = ", ".join(entities)
        report.note(
            response.file,
            button.line,
            f"button {button.title!r} of `{response.name}` kept as intent `{intents[intent]}`; the entities of its "
            f"payload ({names}) are dropped (Deskmate buttons carry an intent, or a value on a form's question)",
        )
    return {"title": button.title, "intent": intents[intent]}


def _entities(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
