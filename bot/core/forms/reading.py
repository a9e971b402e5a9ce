"""What a customer's reply fills in a form: slot candidates, before any check.

Entity slots are filled from the entities of any message of the form (so a value given early is
not asked for again); text, intent and button slots only by the reply to their own question.
Nothing here decides whether a value is good: see :mod:`bot.core.forms.checks` and the form's
validate action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.forms.replies import yes_or_no
from kb.forms_model import BUTTON, ENTITY, INTENT, TEXT, TRIGGER, Form, FormSlot
from kb.model import Template
from kb.rasa.files import deskmate_name

_TRIM = re.compile(r"[\s.!?,;:]+")


_PAYLOAD = re.compile(r"^/([A-Za-z_][\w/-]*)(\{.*\})?$", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """A customer message as a form reads it."""

    text: str
    entities: Sequence[tuple[str, str]] = ()  # (entity, value) found in the message
    intent: str | None = None  # the intent the policy is confident of (or the button chosen); None: unsure
    values: Mapping[str, Any] = field(default_factory=dict)  # slot values a Rasa payload gave

    @classmethod
    def read(cls, text: str, entities: Sequence[tuple[str, str]], intent: str | None) -> Reply:
        """The reply; a Rasa button payload typed as text (``/inform{"topic": "billing"}``, ``/affirm``)
        gives its intent and slot values directly, as Rasa reads it."""
        match = _PAYLOAD.match(text.strip())
        if match is None:
            return cls(text, tuple(entities), intent)
        values: dict[str, Any] = {}
        if match.group(2):
            try:
                parsed = json.loads(match.group(2))
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                values = {str(k): v for k, v in parsed.items() if v is not None}
        return cls(text, tuple(entities), deskmate_name(match.group(1)), values)


def payload_intent(text: str) -> str | None:
    """The intent of a Rasa button payload typed as text (``/affirm``, ``/inform{...}``), else None."""
    match = _PAYLOAD.match(text.strip())
    return match.group(1) if match else None


def candidates(
    form: Form,
    requested: str | None,
    reply: Reply,
    *,
    templates: Mapping[str, Sequence[Template]],
    offered: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The slot values ``reply`` offers: every entity slot of ``form``, and the requested slot.

    ``offered`` are the (title, value) buttons of the bot's last message (an ask action's own).
    """
    found: dict[str, Any] = {}
    if reply.intent is not None and reply.intent in form.ignored_intents:
        return found
    for slot in form.slots:
        # a payload's values are entities, as Rasa reads them: they fill entity (and button) slots
        key = slot.entity_name if slot.source == ENTITY else slot.name
        if slot.source in (ENTITY, BUTTON) and key in reply.values:
            found[slot.name] = reply.values[key]
        elif slot.source == ENTITY and _allowed(slot, reply.intent):
            value = next((v for e, v in reply.entities if e == slot.entity_name), None)
            if value is not None:
                found[slot.name] = value
    asked = form.slot(requested) if requested else None
    if asked is None or asked.name in found or not _allowed(asked, reply.intent):
        return found
    slot = asked
    if slot.source == TEXT and reply.text.strip() and not _PAYLOAD.match(reply.text.strip()):
        found[slot.name] = reply.text.strip()
    elif slot.source == INTENT:
        matched, value = slot.value_for(yes_or_no(reply.text) or reply.intent)
        if not matched and reply.intent is not None:
            matched, value = slot.value_for(reply.intent)
        if matched:
            found[slot.name] = value
    elif slot.source == BUTTON:
        questions = [t for name in form.ask_responses(slot.name) for t in templates.get(name, ())]
        value = offered_value(reply.text, offered) or button_value(reply.text, questions)
        if value is not None:
            found[slot.name] = value
    return found


def trigger_values(form: Form, intent: str | None) -> dict[str, Any]:
    """The slots a form's ``trigger`` mappings fill from the intent that started it."""
    found: dict[str, Any] = {}
    for slot in form.slots:
        if slot.source == TRIGGER:
            matched, value = slot.value_for(intent)
            if matched:
                found[slot.name] = value
    return found


def button_value(text: str, templates: Sequence[Template]) -> str | None:
    """The value of the button whose title (or value) ``text`` is, ignoring case and punctuation."""
    key = _key(text)
    for template in templates:
        for button in template.buttons:
            if button.intent is None and key in (_key(button.title), _key(button.value or button.title)):
                return button.value if button.value is not None else button.title
    return None


def offered_value(text: str, offered: Sequence[tuple[str, str]]) -> str | None:
    """The value of the offered button whose title (or value) ``text`` is."""
    key = _key(text)
    return next((value for title, value in offered if key in (_key(title), _key(value))), None)


def _key(text: str) -> str:
    return _TRIM.sub(" ", text.casefold()).strip()


def _allowed(slot: FormSlot, intent: str | None) -> bool:
    if slot.intents and intent not in slot.intents:
        return False
    return intent is None or intent not in slot.not_intents
