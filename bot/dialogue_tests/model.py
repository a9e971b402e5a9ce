"""Conversation tests as values: conversations of steps, each a customer input and what must follow.

Both file formats (:mod:`bot.dialogue_tests.deskmate_format`, :mod:`bot.dialogue_tests.rasa_stories`)
read into these; the runner plays them and :mod:`bot.dialogue_tests.matching` checks them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

HANDOFF_REASONS = ("low_confidence", "explicit_request", "repeated_failure", "ambiguous", "action", "form_failed")


class Unchecked(enum.Enum):
    """Marks an expectation that was not written, as opposed to one expecting None."""

    UNCHECKED = "unchecked"


UNCHECKED = Unchecked.UNCHECKED


class AnyValue(enum.Enum):
    """An expected slot value: set to anything (Rasa's ``slot_was_set: [slot]``)."""

    ANY = "any"


ANY_VALUE = AnyValue.ANY
SlotValue = str | int | float | bool | None | AnyValue


@dataclass(frozen=True)
class Where:
    """A place in a test file (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ExpectedReply:
    """One thing the bot must do in a turn; a produced reply matches when any criterion holds.

    ``label`` is how the test wrote it (``response shipping_cost``, ``utter_greet``), for reports.
    """

    label: str
    responses: frozenset[str] = frozenset()  # a reply from one of these responses (templates)
    action: str | None = None  # a reply (or slots) from this custom action, which did not fail
    asks: frozenset[str] = frozenset()  # a form question for one of these slots (or ``<form>_<slot>``)
    form: str | None = None  # this form acted: asked, started, completed... this turn
    fallback: bool = False  # a fallback reply or a handoff
    clarify: bool = False  # a clarification


@dataclass(frozen=True)
class Expect:
    """What must hold after one step; every field left at its default is not checked."""

    intent: str | None = None  # the predicted intent of the customer's message
    replies: tuple[ExpectedReply, ...] = ()
    ordered: bool = False  # the replies must come in this order (Rasa stories), else in any order
    texts: tuple[str, ...] = ()  # substrings of some bot text this turn (case-insensitive)
    slots: Mapping[str, SlotValue] = field(default_factory=dict)  # after the turn; None: unset
    form: str | Unchecked | None = UNCHECKED  # the active form after the turn; None: none
    handoff: bool | str | None = None  # True: a handoff, False: none, "reason": one for this reason
    clarify: bool | tuple[str, ...] | None = None  # True/False: a clarification or none; names: offered

    def to_dict(self) -> dict[str, object]:
        """The expectations as written, for the JSON report."""
        out: dict[str, object] = {}
        if self.intent is not None:
            out["intent"] = self.intent
        if self.replies:
            out["replies" if self.ordered else "replies_any_order"] = [r.label for r in self.replies]
        if self.texts:
            out["text"] = list(self.texts)
        if self.slots:
            out["slots"] = {k: ("<any>" if v is ANY_VALUE else v) for k, v in self.slots.items()}
        if self.form is not UNCHECKED:
            out["form"] = self.form
        if self.handoff is not None:
            out["handoff"] = self.handoff
        if self.clarify is not None:
            out["clarify"] = list(self.clarify) if isinstance(self.clarify, tuple) else self.clarify
        return out


@dataclass(frozen=True)
class Step:
    """A customer input: typed ``text``, or a click on the button titled ``button``."""

    where: Where
    expect: Expect
    text: str | None = None
    button: str | None = None
    restart: bool = False  # start a fresh session after this step (Rasa's action_restart)

    @property
    def said(self) -> str:
        return self.text if self.text is not None else f"[button] {self.button}"


@dataclass(frozen=True)
class ConversationTest:
    name: str
    where: Where
    steps: tuple[Step, ...]
    format: str  # deskmate | rasa
