"""Which candidate values a form keeps: each slot's check, then what its validate action said.

Pure functions; the form turn (bot/core/forms/turn.py) runs the validate action between them and turns
the result into ``slot_set`` events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core.forms import checks
from kb.forms_model import Form

if TYPE_CHECKING:
    from bot.core.conversation import ActionOutcome


@dataclass
class Taken:
    """The values kept and refused in one turn, and what was said about them."""

    accepted: dict[str, Any] = field(default_factory=dict)
    rejected: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)  # {text, buttons} said about them
    next_slot: tuple[str | None] | None = None  # the validate action chose the next slot (None: done)
    failed: bool = False  # the validate action failed: the turn handed off


def checked(form: Form, asked: str | None, found: Mapping[str, Any]) -> Taken:
    """Each candidate through its slot's check; a failed answer to ``asked`` says the check's message."""
    taken = Taken()
    for name, value in found.items():
        slot = form.slot(name)
        check = slot.check if slot is not None else None
        ok, final = checks.passes(check, value) if check is not None else (True, value)
        if ok:
            taken.accepted[name] = final
        else:
            taken.rejected.add(name)
            if name == asked and check is not None and check.message:
                taken.messages.append({"text": check.message, "buttons": []})
    return taken


def validated(taken: Taken, outcome: ActionOutcome) -> Taken:
    """``taken`` after the form's validate action: a value it set to None is refused; values it set
    for other slots (``extract_<slot>``) are kept; its ``requested_slot`` says what to ask next."""
    result = Taken(rejected=set(taken.rejected), messages=[*taken.messages, *outcome.messages])
    for name, value in taken.accepted.items():
        final = outcome.slots.get(name, value)
        if final is None:
            result.rejected.add(name)
        else:
            result.accepted[name] = final
    for name, value in outcome.slots.items():
        if name in taken.accepted:
            continue
        if value is None:
            result.rejected.add(name)
        else:
            result.accepted[name] = value
    if outcome.requested_slot is not None:
        result.next_slot = (outcome.requested_slot[0],)
    return result
