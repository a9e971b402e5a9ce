"""Forms as plain values: the slots a task needs, how each is filled and checked, what runs at the end.

Read from forms.yml by :mod:`kb.forms`; run by the conversation core (:mod:`bot.core.forms`). See
docs/kb-format.md, "forms.yml".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENTITY = "entity"  # the value of an entity found in the message, on any turn of the form
TEXT = "text"  # the customer's whole reply to the slot's question
INTENT = "intent"  # a value mapped from the reply's intent (yes/no included)
BUTTON = "button"  # one of the question's buttons, clicked or typed
TRIGGER = "trigger"  # a value mapped from the intent that started the form
CUSTOM = "custom"  # filled by the form's validate action (its ``extract_<slot>`` method)
SOURCES = (ENTITY, TEXT, INTENT, BUTTON, TRIGGER, CUSTOM)

DEFAULT_MAX_FAILURES = 3


@dataclass(frozen=True)
class SlotCheck:
    """What a value must be: match ``pattern`` (whole value) or be one of ``lookup``."""

    pattern: str | None = None
    lookup: tuple[str, ...] = ()
    message: str | None = None  # said when a value fails, before the question is asked again


@dataclass(frozen=True)
class FormSlot:
    name: str
    source: str = ENTITY  # one of SOURCES
    entity: str | None = None  # source entity: the entity's name (default: the slot's)
    values: tuple[tuple[str, Any], ...] = ()  # source intent/trigger: (intent, value) pairs
    intents: tuple[str, ...] = ()  # only messages of these intents fill it (empty: any)
    not_intents: tuple[str, ...] = ()  # never messages of these intents
    check: SlotCheck | None = None
    ask_action: str | None = None  # a custom action asks for it instead of the ask_ response

    @property
    def entity_name(self) -> str:
        return self.entity or self.name

    def value_for(self, intent: str | None) -> tuple[bool, Any]:
        """(found, value) of an intent mapping for ``intent``."""
        for name, value in self.values:
            if name == intent:
                return True, value
        return False, None


@dataclass(frozen=True)
class StopQuestion:
    """A form's own way to confirm leaving it (Rasa's "do you want to continue?" stories)."""

    ask: str | None = None  # the response asked; None: the system message form_stop
    leave_on: str = "affirm"  # the answer that leaves the form: affirm or deny
    stopped: str | None = None  # the response said on leaving; None: the system message form_stopped
    intents: tuple[str, ...] = ()  # intents that ask to stop, besides "stop", "cancel", "never mind"...


@dataclass(frozen=True)
class Form:
    name: str
    slots: tuple[FormSlot, ...]
    # what runs when every slot has a value, in order: ("action", name) or ("response", name);
    # nothing: the form only collects its slots, and says the system message form_done
    done: tuple[tuple[str, str], ...] = ()
    validate: str | None = None  # a rasa-sdk FormValidationAction, run on every turn of the form
    confirm: str | None = None  # a response asked (yes/no) before ``done``
    max_failures: int = DEFAULT_MAX_FAILURES  # failed answers to one question before a handoff
    ignored_intents: tuple[str, ...] = ()
    stop: StopQuestion | None = None  # how "stop" is confirmed; None: the system messages form_stop...

    @property
    def done_action(self) -> str | None:
        """The first custom action ``done`` runs, if any."""
        return next((name for kind, name in self.done if kind == "action"), None)

    @property
    def done_response(self) -> str | None:
        """The first response ``done`` sends, if any."""
        return next((name for kind, name in self.done if kind == "response"), None)

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(slot.name for slot in self.slots)

    def slot(self, name: str) -> FormSlot | None:
        return next((slot for slot in self.slots if slot.name == name), None)

    def ask_responses(self, slot: str) -> tuple[str, str]:
        """The response names that may ask for ``slot``, the form's own first."""
        return f"ask_{self.name}_{slot}", f"ask_{slot}"
