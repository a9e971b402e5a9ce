"""``forms.yml``: tasks the bot carries over several turns (Rasa's forms). See docs/kb-format.md.

::

    forms:
      order_lookup:
        slots:
          - name: order_id
            from: entity
            check: {pattern: 'PC-\\d{6}', message: "Order numbers look like PC-123456."}
        validate: validate_order_lookup
        done: {action: action_order_status}

Loading goes in two steps, because forms and responses refer to each other:
:func:`form_response_names` says which response names the forms may use (so responses.yml may
hold them), then :func:`parse_forms` reads and checks the forms against the intents, entities and
responses. Every problem names the line and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.errors import KBIssue
from kb.forms_model import (
    BUTTON,
    CUSTOM,
    ENTITY,
    INTENT,
    SOURCES,
    TEXT,
    TRIGGER,
    Form,
    FormSlot,
    SlotCheck,
    StopQuestion,
)
from kb.model import EntityDefinition, Intent, Template
from kb.yamlio import LineDict, LineList

FORMS = "forms.yml"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SLOT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ACTION = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
FORM_KEYS = ("slots", "done", "validate", "confirm", "max_failures", "ignored_intents", "stop", "description")
STOP_KEYS = ("ask", "leave_on", "stopped", "intents")
SLOT_KEYS = ("name", "from", "entity", "intents", "intent", "not_intent", "check", "ask_action")
CHECK_KEYS = ("pattern", "lookup", "message")
YES_NO = ("affirm", "deny")  # read from plain yes and no even when the KB has no such intents


def form_response_names(doc: LineDict) -> set[str]:
    """The response names forms.yml may use: questions, ``done`` and ``confirm`` responses.

    A loose read (problems are reported by :func:`parse_forms`): responses.yml may then hold them.
    """
    names: set[str] = set()
    raw = doc.get("forms")
    if not isinstance(raw, LineDict):
        return names
    for form_name, form in raw.items():
        if not isinstance(form, LineDict):
            continue
        if isinstance(form.get("confirm"), str):
            names.add(form["confirm"])
        stop = form.get("stop")
        if isinstance(stop, LineDict):
            names.update(stop[key] for key in ("ask", "stopped") if isinstance(stop.get(key), str))
        done = form.get("done")
        for step in done if isinstance(done, LineList) else [done]:
            if isinstance(step, LineDict) and isinstance(step.get("response"), str):
                names.add(step["response"])
        slots = form.get("slots")
        for slot in slots if isinstance(slots, LineList) else []:
            name = slot if isinstance(slot, str) else slot.get("name") if isinstance(slot, LineDict) else None
            if isinstance(name, str):
                names.update((f"ask_{form_name}_{name}", f"ask_{name}"))
    return names


def parse_forms(
    doc: LineDict,
    *,
    intents: Sequence[Intent],
    entities: Sequence[EntityDefinition],
    templates: Mapping[str, Sequence[Template]],
    issues: list[KBIssue],
) -> dict[str, Form]:
    """The forms of ``doc`` (forms.yml), checked against the KB; problems are added to ``issues``."""
    if not doc:
        return {}
    raw = doc.get("forms")
    if not isinstance(raw, LineDict) or not raw:
        line = doc.line_of("forms") if "forms" in doc else 1
        issues.append(KBIssue(FORMS, line, "`forms` must be a mapping of form name to its `slots` and `done`"))
        return {}
    known = _Known(
        intents={i.name for i in intents},
        entities={e.name for e in entities},
        templates=templates,
    )
    forms: dict[str, Form] = {}
    for name, value in raw.items():
        form = _parse_form(name, value, raw.line_of(name), known, issues)
        if form is not None:
            forms[name] = form
    return forms


class _Known:
    def __init__(self, *, intents: set[str], entities: set[str], templates: Mapping[str, Sequence[Template]]) -> None:
        self.intents = intents
        self.entities = entities
        self.templates = templates


def _issue(issues: list[KBIssue], line: int | None, message: str) -> None:
    issues.append(KBIssue(FORMS, line, message))


def _parse_form(name: str, value: Any, line: int, known: _Known, issues: list[KBIssue]) -> Form | None:
    count = len(issues)
    if not NAME.match(str(name)):
        _issue(
            issues, line, f"form name {name!r} is invalid: use lowercase letters, digits and _, starting with a letter"
        )
        return None
    if not isinstance(value, LineDict):
        _issue(issues, line, f"form `{name}` must be a mapping with `slots` and `done`")
        return None
    for key in value:
        if key not in FORM_KEYS:
            _issue(issues, value.line_of(key), f"unknown key `{key}` in form `{name}`; allowed: {', '.join(FORM_KEYS)}")
    slots = _parse_slots(name, value, known, issues)
    done = _parse_done(name, value, known, issues)
    validate = _action(value, "validate", f"`validate` of form `{name}`", issues)
    confirm = value.get("confirm")
    if confirm is not None and (not isinstance(confirm, str) or confirm not in known.templates):
        _issue(
            issues,
            value.line_of("confirm"),
            f"`confirm` of form `{name}` names no response; add `{confirm}:` to responses.yml (a yes/no question)",
        )
        confirm = None
    max_failures = value.get("max_failures", 3)
    if not isinstance(max_failures, int) or isinstance(max_failures, bool) or max_failures < 1:
        _issue(
            issues, value.line_of("max_failures"), f"`max_failures` of form `{name}` must be a whole number, 1 or more"
        )
        max_failures = 3
    ignored = _intent_list(value, "ignored_intents", f"form `{name}`", known, issues)
    stop = _parse_stop(name, value, known, issues)
    if any(slot.source == CUSTOM for slot in slots) and validate is None:
        _issue(
            issues,
            value.line,
            f"form `{name}` has a slot filled `from: custom` but no `validate` action to fill it; "
            f"add `validate: validate_{name}` (a rasa-sdk FormValidationAction with `extract_<slot>`)",
        )
    if len(issues) > count or not slots:
        return None
    return Form(
        name=name,
        slots=tuple(slots),
        done=done,
        validate=validate,
        confirm=confirm,
        max_failures=max_failures,
        ignored_intents=ignored,
        stop=stop,
    )


def _parse_slots(form: str, value: LineDict, known: _Known, issues: list[KBIssue]) -> list[FormSlot]:
    raw = value.get("slots")
    if not isinstance(raw, LineList) or not raw:
        where = value.line_of("slots") if "slots" in value else value.line
        _issue(issues, where, f"form `{form}` needs `slots`: the list of slots it asks for, in order")
        return []
    slots: list[FormSlot] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        line = raw.line_of(index)
        slot = _parse_slot(form, item, line, known, issues)
        if slot is None:
            continue
        if slot.name in seen:
            _issue(
                issues, line, f"slot `{slot.name}` is listed twice in form `{form}` (also on line {seen[slot.name]})"
            )
            continue
        seen[slot.name] = line
        slots.append(slot)
    return slots


def _parse_slot(form: str, item: Any, line: int, known: _Known, issues: list[KBIssue]) -> FormSlot | None:
    if isinstance(item, str):  # a plain name: from the entity of that name, else the whole reply
        name_only = LineDict({"name": item})
        name_only.line, name_only.key_lines = line, {"name": line}
        item = name_only
    if not isinstance(item, LineDict):
        _issue(issues, line, f"each slot of form `{form}` must be a name or a mapping with `name` and `from`")
        return None
    count = len(issues)
    name = item.get("name")
    if not isinstance(name, str) or not SLOT_NAME.match(name):
        _issue(
            issues, item.line_of("name") if "name" in item else line, f"a slot of form `{form}` needs a `name`: letters, digits and _, not starting with a digit"
        )
        return None
    what = f"slot `{name}` of form `{form}`"
    for key in item:
        if key not in SLOT_KEYS:
            _issue(issues, item.line_of(key), f"unknown key `{key}` in {what}; allowed: {', '.join(SLOT_KEYS)}")
    source = item.get("from")
    if source is None:
        source = ENTITY if "entity" in item or name in known.entities else TEXT
    if source not in SOURCES:
        _issue(issues, item.line_of("from"), f"`from` of {what} must be one of {', '.join(SOURCES)}, not {source!r}")
        return None
    entity = item.get("entity")
    if source == ENTITY:
        entity_name = entity if isinstance(entity, str) else name
        if entity_name not in known.entities:
            _issue(
                issues,
                item.line_of("entity") if "entity" in item else item.line,
                f"{what} is filled from entity `{entity_name}`, which entities.yml does not declare; declare it "
                "(a pattern or a lookup list) or fill the slot `from: text`",
            )
    values = _parse_values(item, source, what, known, issues)
    only = _intent_list(item, "intent", what, known, issues)
    never = _intent_list(item, "not_intent", what, known, issues)
    check = _parse_check(item, what, issues)
    ask_action = _action(item, "ask_action", f"`ask_action` of {what}", issues)
    if ask_action is None and source not in (TRIGGER,):
        asks = (f"ask_{form}_{name}", f"ask_{name}")
        found = [a for a in asks if a in known.templates]
        if not found:
            _issue(
                issues,
                item.line,
                f"nothing asks for {what}: add `{asks[1]}:` (or `{asks[0]}:`) to responses.yml with the question, "
                "or name a custom action in `ask_action`",
            )
        elif source == BUTTON and not any(t.buttons for t in known.templates[found[0]]):
            _issue(
                issues,
                item.line,
                f"{what} is filled `from: button` but `{found[0]}` in responses.yml has no buttons; add "
                "`buttons: [{title: ..., value: ...}]` to its variations",
            )
    if len(issues) > count:
        return None
    return FormSlot(
        name=name,
        source=source,
        entity=entity if isinstance(entity, str) else None,
        values=values,
        intents=only,
        not_intents=never,
        check=check,
        ask_action=ask_action,
    )


def _parse_values(
    item: LineDict, source: str, what: str, known: _Known, issues: list[KBIssue]
) -> tuple[tuple[str, Any], ...]:
    raw = item.get("intents")
    if source not in (INTENT, TRIGGER):
        if raw is not None:
            _issue(
                issues, item.line_of("intents"), f"`intents` of {what} is only read with `from: intent` or `trigger`"
            )
        return ()
    if not isinstance(raw, LineDict) or not raw:
        where = item.line_of("intents") if "intents" in item else item.line
        _issue(
            issues, where, f"{what} needs `intents`: a mapping of intent to value, like {{affirm: true, deny: false}}"
        )
        return ()
    values: list[tuple[str, Any]] = []
    for intent, value in raw.items():
        if intent not in known.intents and intent not in YES_NO:
            _issue(issues, raw.line_of(intent), f"{what} maps unknown intent `{intent}`; use an intent of intents.yml")
            continue
        if not isinstance(value, (str, int, float, bool)):
            _issue(
                issues, raw.line_of(intent), f"the value of `{intent}` in {what} must be text, a number, true or false"
            )
            continue
        values.append((str(intent), value))
    return tuple(values)


def _parse_check(item: LineDict, what: str, issues: list[KBIssue]) -> SlotCheck | None:
    if "check" not in item:
        return None
    raw = item.get("check")
    line = item.line_of("check")
    if not isinstance(raw, LineDict):
        _issue(issues, line, f"`check` of {what} must be a mapping with `pattern` or `lookup`, and `message`")
        return None
    for key in raw:
        if key not in CHECK_KEYS:
            _issue(
                issues,
                raw.line_of(key),
                f"unknown key `{key}` in the check of {what}; allowed: {', '.join(CHECK_KEYS)}",
            )
    pattern, lookup, message = raw.get("pattern"), raw.get("lookup"), raw.get("message")
    if (pattern is None) == (lookup is None):
        _issue(issues, line, f"the check of {what} needs exactly one of `pattern` and `lookup`")
        return None
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            _issue(issues, raw.line_of("pattern"), f"`pattern` of {what} must be a regular expression in single quotes")
            return None
        try:
            re.compile(pattern)
        except re.error as exc:
            _issue(issues, raw.line_of("pattern"), f"`pattern` of {what} is not a valid regular expression: {exc}")
            return None
    values: tuple[str, ...] = ()
    if lookup is not None:
        if not isinstance(lookup, LineList) or not lookup or not all(isinstance(v, (str, int)) for v in lookup):
            _issue(issues, raw.line_of("lookup"), f"`lookup` of {what} must be a non-empty list of allowed values")
            return None
        values = tuple(str(v) for v in lookup)
    if message is not None and (not isinstance(message, str) or not message.strip()):
        _issue(issues, raw.line_of("message"), f"`message` of the check of {what} must be a non-empty text")
        return None
    return SlotCheck(pattern=pattern, lookup=values, message=message.strip() if isinstance(message, str) else None)


def _parse_done(form: str, value: LineDict, known: _Known, issues: list[KBIssue]) -> tuple[tuple[str, str], ...]:
    """``done``: one step (``{action: a}`` or ``{response: r}``) or a list of them, run in order."""
    if "done" not in value:  # the form only collects: the system message form_done ends it
        return ()
    raw = value.get("done")
    steps = raw if isinstance(raw, LineList) else [raw]
    hint = "`done: {action: action_x}`, `done: {response: x}` (a response using the slots), or a list of them"
    done: list[tuple[str, str]] = []
    for index, step in enumerate(steps):
        line = steps.line_of(index) if isinstance(steps, LineList) else value.line_of("done")
        if not isinstance(step, LineDict) or len(step) != 1 or next(iter(step)) not in ("action", "response"):
            _issue(issues, line, f"`done` of form `{form}` must say what runs when it is complete: {hint}")
            continue
        if "action" in step:
            action = _action(step, "action", f"`done` action of form `{form}`", issues)
            if action is not None:
                done.append(("action", action))
            continue
        response = step.get("response")
        if not isinstance(response, str) or response not in known.templates:
            message = f"`done` of form `{form}` names no response; add `{response}:` to responses.yml"
            _issue(issues, step.line_of("response"), message)
            continue
        done.append(("response", response))
    if not done and not steps:
        _issue(issues, value.line_of("done"), f"`done` of form `{form}` is empty: {hint}")
    return tuple(done)


def _parse_stop(form: str, value: LineDict, known: _Known, issues: list[KBIssue]) -> StopQuestion | None:
    """``stop: {ask: ask_continue, leave_on: deny, stopped: ticket_cancelled, intents: [stop]}``."""
    if "stop" not in value:
        return None
    raw = value.get("stop")
    what = f"`stop` of form `{form}`"
    if not isinstance(raw, LineDict):
        _issue(issues, value.line_of("stop"), f"{what} must be a mapping with `ask`, `leave_on`, `stopped`, `intents`")
        return None
    for key in raw:
        if key not in STOP_KEYS:
            _issue(issues, raw.line_of(key), f"unknown key `{key}` in {what}; allowed: {', '.join(STOP_KEYS)}")
    for key in ("ask", "stopped"):
        name = raw.get(key)
        if name is not None and (not isinstance(name, str) or name not in known.templates):
            _issue(issues, raw.line_of(key), f"`{key}` of {what} names no response; add `{name}:` to responses.yml")
    leave_on = raw.get("leave_on", "affirm")
    if leave_on not in ("affirm", "deny"):
        _issue(issues, raw.line_of("leave_on"), f"`leave_on` of {what} must be affirm or deny")
        leave_on = "affirm"
    elif leave_on == "deny" and not isinstance(raw.get("ask"), str):
        _issue(
            issues,
            raw.line_of("leave_on"),
            f'`leave_on: deny` of {what} needs `ask`: the question to which "no" means leave (the system\'s '
            'own question is "Do you want to stop here?", where yes leaves)',
        )
    return StopQuestion(
        ask=raw.get("ask") if isinstance(raw.get("ask"), str) else None,
        leave_on=leave_on,
        stopped=raw.get("stopped") if isinstance(raw.get("stopped"), str) else None,
        intents=_intent_list(raw, "intents", what, known, issues),
    )


def _action(item: LineDict, key: str, what: str, issues: list[KBIssue]) -> str | None:
    if key not in item:
        return None
    name = item.get(key)
    if not isinstance(name, str) or not ACTION.match(name):
        _issue(issues, item.line_of(key), f"{what} must be a custom action name like `validate_order_lookup`")
        return None
    return name


def _intent_list(item: LineDict, key: str, what: str, known: _Known, issues: list[KBIssue]) -> tuple[str, ...]:
    if key not in item:
        return ()
    raw = item.get(key)
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        _issue(issues, item.line_of(key), f"`{key}` of {what} must be a list of intent names")
        return ()
    unknown = [n for n in names if n not in known.intents and n not in YES_NO]
    if unknown:
        _issue(
            issues,
            item.line_of(key),
            f"`{key}` of {what} names unknown intents: {', '.join(unknown)}; use intents of intents.yml",
        )
    return tuple(n for n in names if n not in unknown)
