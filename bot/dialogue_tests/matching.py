"""What a turn came to, read from its stored events, and the checks of a step against it.

Pure functions over :class:`~bot.core.events.StoredEvent` lists: no service, no model. A turn's
predicted intent is ``ranking[0]`` of its first event that carries a ranking (a clicked button's
intent when it had one); slots are replayed from every ``slot_set`` so far; the active form is the
last ``form`` event's, none once it completed, was cancelled, failed, switched or was handed off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.events import BOT_REPLY, CLARIFY, HANDOFF, SLOT_SET, StoredEvent
from bot.core.forms.state import ASKING, ENDED, STARTED
from bot.dialogue_tests.model import ANY_VALUE, UNCHECKED, Expect, ExpectedReply, SlotValue

FORM = "form"  # the form event (docs/kb-format.md, forms.yml): {form, requested_slot, status, failures, pending}
# statuses after which no form is active (as FormState.active in bot/core/forms/state.py reads them)
FORM_ENDED = ENDED  # bot/core/forms/state.py: a form event with one of these statuses leaves no form active
FORM_ASKING = (STARTED, ASKING)
SAID = (BOT_REPLY, CLARIFY, HANDOFF)  # what the customer sees of the bot
ACTION_SOURCE = "action:"  # a slot_set's source when a custom action set it
SHORT = 60


def shorten(text: str, limit: int = SHORT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Produced:
    """One thing the bot did in a turn: a reply, a clarification, a handoff, a form step, an action's slots."""

    kind: str  # bot_reply | clarify | handoff | form | slot_set
    text: str | None = None
    source: str | None = None  # of a bot_reply: template, action, retrieved, generated, fallback, system, form
    response: str | None = None  # the response (template) that produced it
    action: str | None = None  # the custom action that produced it
    form: str | None = None
    asks: str | None = None  # the slot a form question asks for (a form event: its requested slot)
    reason: str | None = None  # a handoff's reason
    status: str | None = None  # a form event's status
    error: str | None = None  # the custom action failed: the template answered instead
    options: tuple[str, ...] = ()  # a clarification's intents

    @property
    def seen(self) -> bool:
        """Shown in reports (an action's slot changes are reported as slots instead)."""
        return self.kind != SLOT_SET

    def describe(self) -> str:
        names: list[str] = []
        if self.kind == CLARIFY:
            names.append(f"clarify [{', '.join(self.options)}]")
        elif self.kind == HANDOFF:
            names.append(f"handoff ({self.reason})")
        elif self.kind == FORM:
            names.append(f"form {self.form} {self.status}" + (f" ({self.asks})" if self.asks else ""))
        elif self.source:
            names.append(self.source)
        if self.response:
            names.append(f"response {self.response}")
        if self.action:
            names.append(f"action {self.action}" + (" failed" if self.error else ""))
        if self.kind != FORM and self.form:
            names.append(f"form {self.form}" + (f" asks {self.asks}" if self.asks else ""))
        head = " ".join(names) or self.kind
        return f'{head} "{shorten(self.text)}"' if self.text else head

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("source", "response", "action", "form", "asks", "reason", "status", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.options:
            out["options"] = list(self.options)
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class Observed:
    """A turn as the test sees it."""

    intent: str | None
    confidence: float | None
    items: tuple[Produced, ...]
    slots: Mapping[str, Any]  # after the turn
    form: str | None  # the active form after the turn

    @property
    def replies(self) -> list[Produced]:
        return [item for item in self.items if item.seen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "replies": [item.to_dict() for item in self.replies],
            "slots": dict(self.slots),
            "form": self.form,
        }


def produced(event: StoredEvent) -> Produced | None:
    """What ``event`` shows of the bot's turn; None for events a test does not look at."""
    data = event.data
    if event.kind in SAID:
        source = data.get("source") if event.kind == BOT_REPLY else None
        response = data.get("response")
        if response is None and source == "template":
            response = data.get("intent")  # a template is named after its intent
        options = tuple(str(o.get("intent")) for o in data.get("options", ()) if isinstance(o, Mapping))
        return Produced(
            event.kind,
            text=str(data.get("text", "")),
            source=source,
            response=response,
            action=data.get("action"),
            form=data.get("form"),
            asks=data.get("asks"),
            reason=data.get("reason") if event.kind == HANDOFF else None,
            error=data.get("action_error"),
            options=options,
        )
    if event.kind == FORM:
        status = data.get("status")
        asks = data.get("requested_slot") if status in FORM_ASKING else None
        return Produced(FORM, form=data.get("form"), status=status, asks=asks)
    if event.kind == SLOT_SET and str(data.get("source", "")).startswith(ACTION_SOURCE):
        return Produced(SLOT_SET, action=str(data["source"]).removeprefix(ACTION_SOURCE))
    return None


def replay_slots(events: Iterable[StoredEvent]) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    for event in events:
        if event.kind == SLOT_SET:
            slot, value = str(event.data.get("slot")), event.data.get("value")
            if value is None:
                slots.pop(slot, None)
            else:
                slots[slot] = value
    return slots


def active_form(events: Iterable[StoredEvent]) -> str | None:
    form: str | None = None
    for event in events:
        if event.kind == FORM:
            name = event.data.get("form")
            form = None if event.data.get("status") in FORM_ENDED or not name else str(name)
    return form


def observe(
    history: Sequence[StoredEvent], turn: Sequence[StoredEvent], *, chosen_intent: str | None = None
) -> Observed:
    """The turn ``turn`` (its stored events) after ``history`` (the conversation's events before it)."""
    intent, confidence = chosen_intent, None
    if intent is None:
        ranked = next((e for e in turn if e.data.get("ranking")), None)
        if ranked is not None:
            top = ranked.data["ranking"][0]
            intent, confidence = top.get("intent"), top.get("p")
        else:
            said = next((e for e in turn if e.kind in SAID and e.data.get("intent")), None)
            if said is not None:
                intent, confidence = said.data["intent"], said.data.get("confidence")
    items = tuple(p for p in map(produced, turn) if p is not None)
    everything = [*history, *turn]
    return Observed(intent, confidence, items, replay_slots(everything), active_form(everything))


def matches(expected: ExpectedReply, item: Produced) -> bool:
    if item.kind == SLOT_SET:
        return expected.action is not None and item.action == expected.action
    if expected.form is not None and item.form == expected.form:
        return True
    if item.asks is not None and (
        item.asks in expected.asks or (item.form is not None and f"{item.form}_{item.asks}" in expected.asks)
    ):
        return True
    if item.kind == FORM:
        return False
    if item.response is not None and item.response in expected.responses:
        return True
    if expected.action is not None and item.action == expected.action and item.error is None:
        return True
    if expected.fallback and (item.kind == HANDOFF or item.source == "fallback"):
        return True
    return expected.clarify and item.kind == CLARIFY


def same_value(expected: SlotValue, actual: Any) -> bool:
    if expected is ANY_VALUE:
        return actual is not None
    if expected is None or actual is None:
        return expected is None and actual is None
    return _plain(expected) == _plain(actual)


def _plain(value: Any) -> str:
    text = str(value).strip()
    return text.lower() if text.lower() in ("true", "false") else text


def _value(value: Any) -> str:
    return "unset" if value is None else "set (any value)" if value is ANY_VALUE else repr(value)


def check(expect: Expect, observed: Observed) -> list[str]:
    """What of ``expect`` did not hold in ``observed``, one line each (empty: the step passed)."""
    failures: list[str] = []
    if expect.intent is not None and observed.intent != expect.intent:
        failures.append(f"intent: expected {expect.intent}, got {observed.intent or 'none'}")
    failures += _check_replies(expect, observed)
    said = [item.text.lower() for item in observed.items if item.text]
    for text in expect.texts:
        if not any(text.lower() in s for s in said):
            failures.append(f"text: no bot message contains {text!r}")
    for slot, value in expect.slots.items():
        if not same_value(value, observed.slots.get(slot)):
            failures.append(f"slot {slot}: expected {_value(value)}, got {_value(observed.slots.get(slot))}")
    if expect.form is not UNCHECKED and observed.form != expect.form:
        failures.append(f"form: expected {expect.form or 'none active'}, got {observed.form or 'none active'}")
    reasons = [item.reason for item in observed.items if item.kind == HANDOFF]
    if expect.handoff is True and not reasons:
        failures.append("handoff: expected one, got none")
    elif expect.handoff is False and reasons:
        failures.append(f"handoff: expected none, got one ({', '.join(map(str, reasons))})")
    elif isinstance(expect.handoff, str) and expect.handoff not in reasons:
        got = f"one for {', '.join(map(str, reasons))}" if reasons else "none"
        failures.append(f"handoff: expected one for {expect.handoff}, got {got}")
    failures += _check_clarify(expect, observed)
    return failures


def _check_replies(expect: Expect, observed: Observed) -> list[str]:
    if not expect.ordered:
        return [
            f"reply: expected {e.label}, none this turn"
            for e in expect.replies
            if not any(matches(e, item) for item in observed.items)
        ]
    failures: list[str] = []
    position = 0
    previous: ExpectedReply | None = None
    for expected in expect.replies:
        found = next((i for i in range(position, len(observed.items)) if matches(expected, observed.items[i])), None)
        if found is None:
            anywhere = any(matches(expected, item) for item in observed.items)
            where = f" after {previous.label}" if anywhere and previous is not None else ""
            failures.append(
                f"reply: expected {expected.label}{where}, none this turn{' in that order' if where else ''}"
            )
            continue
        position, previous = found + 1, expected
    return failures


def _check_clarify(expect: Expect, observed: Observed) -> list[str]:
    clarifications = [item for item in observed.items if item.kind == CLARIFY]
    if expect.clarify is True and not clarifications:
        return ["clarify: expected a clarification, got none"]
    if expect.clarify is False and clarifications:
        return [f"clarify: expected none, got one offering {', '.join(clarifications[0].options)}"]
    if isinstance(expect.clarify, tuple):
        wanted = set(expect.clarify)
        if not any(wanted <= set(item.options) for item in clarifications):
            offered = f"one offering {', '.join(clarifications[0].options)}" if clarifications else "none"
            return [f"clarify: expected one offering {', '.join(expect.clarify)}, got {offered}"]
    return []
