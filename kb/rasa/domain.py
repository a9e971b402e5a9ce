"""Read a Rasa 2/3 domain (one ``domain.yml`` or a folder of domain files, merged) into plain values.

What is read: ``intents``, ``entities``, ``slots`` (with their Rasa 3 ``mappings``), ``forms``
(Rasa 3 ``required_slots`` lists, or the Rasa 2 form with per-slot mappings), ``actions`` and
``responses``. Structure problems are issues naming the file and line; a name defined in two
files keeps its first definition, with a note (Rasa merges domain files the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.rasa.files import Report, Response, read_responses, read_yaml
from kb.yamlio import LineDict, LineList

DOMAIN_KEYS = ("version", "intents", "entities", "slots", "forms", "actions", "responses")
QUIET_KEYS = ("session_config", "config", "e2e_actions")  # read by Rasa; nothing for Deskmate, no note
MAPPING_TYPES = ("from_entity", "from_text", "from_intent", "from_trigger_intent", "custom", "controlled")
MAPPING_KEYS = ("type", "entity", "intent", "not_intent", "value", "conditions", "role", "group", "action")


@dataclass(frozen=True)
class Where:
    file: Path
    line: int


@dataclass(frozen=True)
class SlotMapping:
    """One Rasa slot mapping (``- type: from_entity ...``)."""

    type: str
    file: Path
    line: int
    entity: str | None = None
    intents: tuple[str, ...] = ()  # `intent:` (one name or a list)
    not_intents: tuple[str, ...] = ()
    value: Any = None
    forms: tuple[str, ...] = ()  # the `active_loop` of its `conditions` (empty: no condition)
    dropped: tuple[str, ...] = ()  # keys read and not carried over (role, group, action)

    def applies_to(self, form: str) -> bool:
        """Whether the mapping may fill its slot while ``form`` runs (no conditions: always)."""
        return not self.forms or form in self.forms


@dataclass(frozen=True)
class Slot:
    name: str
    type: str
    file: Path
    line: int
    mappings: tuple[SlotMapping, ...] = ()


@dataclass(frozen=True)
class RasaForm:
    name: str
    file: Path
    line: int
    required: tuple[tuple[str, int], ...]  # the required slots in order, with their lines
    mappings: dict[str, tuple[SlotMapping, ...]] | None = None  # Rasa 2: the mappings given in the form
    ignored_intents: tuple[str, ...] = ()


@dataclass
class Domain:
    files: list[Path] = field(default_factory=list)
    intents: dict[str, Where] = field(default_factory=dict)
    entities: dict[str, Where] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    forms: dict[str, RasaForm] = field(default_factory=dict)
    actions: dict[str, Where] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)


def read_domain(paths: Sequence[Path], report: Report) -> Domain:
    """The domain files ``paths`` merged (a name defined twice keeps its first definition)."""
    domain = Domain(files=list(paths))
    for path in paths:
        doc = read_yaml(path, report)
        if doc is None:
            continue
        unknown = [key for key in doc if key not in DOMAIN_KEYS and key not in QUIET_KEYS]
        if unknown:
            names = ", ".join(f"`{key}`" for key in unknown)
            report.note(path, doc.line_of(unknown[0]), f"{names} of the domain have no Deskmate equivalent; ignored")
        lists = (("intents", "intent", domain.intents), ("entities", "entity", domain.entities))
        for key, what, into in (*lists, ("actions", "action", domain.actions)):
            for name, where in _names(path, doc, key, what, report).items():
                into.setdefault(name, where)  # lists are merged
        for name, slot in _slots(path, doc, report).items():
            _keep_first(domain.slots, name, slot, Where(path, slot.line), "slot", report)
        for name, form in _forms(path, doc, report).items():
            _keep_first(domain.forms, name, form, Where(path, form.line), "form", report)
        for name, response in read_responses(path, doc, report).items():
            _keep_first(domain.responses, name, response, Where(path, response.line), "response", report)
    return domain


def _keep_first(into: dict[str, Any], name: str, value: Any, where: Where, what: str, report: Report) -> None:
    if name in into:
        first = into[name]
        report.note(
            where.file,
            where.line,
            f"{what} `{name}` is also defined in {first.file}:{first.line}; the first definition is used",
        )
        return
    into[name] = value


def _names(path: Path, doc: LineDict, key: str, what: str, report: Report) -> dict[str, Where]:
    """A list of names, each possibly ``- name: {options}``, as Rasa writes intents, entities, actions."""
    raw = doc.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, LineList):
        report.issue(path, doc.line_of(key), f"`{key}:` must be a list of {what} names")
        return {}
    names: dict[str, Where] = {}
    for index, item in enumerate(raw):
        name: Any = next(iter(item), None) if isinstance(item, LineDict) and len(item) == 1 else item
        if isinstance(name, str) and name.strip():
            names.setdefault(name.strip(), Where(path, raw.line_of(index)))
        else:
            report.issue(path, raw.line_of(index), f"each domain {what} must be a name (or `- name: {{options}}`)")
    return names


def _slots(path: Path, doc: LineDict, report: Report) -> dict[str, Slot]:
    raw = doc.get("slots")
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        report.issue(path, doc.line_of("slots"), "`slots:` must map slot names to `type` and `mappings`")
        return {}
    slots: dict[str, Slot] = {}
    for name, spec in raw.items():
        line = raw.line_of(name)
        if not isinstance(spec, LineDict):
            report.issue(path, line, f"slot `{name}` must be a mapping with `type` (and `mappings` in Rasa 3)")
            continue
        mappings = read_mappings(path, spec.get("mappings"), spec.line_of("mappings"), f"slot `{name}`", report)
        slots[name] = Slot(name, str(spec.get("type", "any")), path, line, mappings)
    return slots


def read_mappings(path: Path, raw: Any, line: int, what: str, report: Report) -> tuple[SlotMapping, ...]:
    """The slot mappings of ``raw`` (a list of ``- type: ...``); unknown types are left out with a note."""
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        report.issue(path, line, f"the mappings of {what} must be a list of `- type: from_entity ...`")
        return ()
    mappings: list[SlotMapping] = []
    for index, item in enumerate(raw):
        at = raw.line_of(index)
        if not isinstance(item, LineDict) or not isinstance(item.get("type"), str):
            report.issue(path, at, f"each mapping of {what} must be a mapping with `type` (from_entity, from_text...)")
            continue
        kind = item["type"]
        if kind not in MAPPING_TYPES:
            report.note(path, at, f"mapping type `{kind}` of {what} is unknown to Deskmate; left out")
            continue
        forms = _conditions(path, item, what, report)
        mappings.append(
            SlotMapping(
                type=kind,
                file=path,
                line=at,
                entity=item.get("entity") if isinstance(item.get("entity"), str) else None,
                intents=_strings(item.get("intent")),
                not_intents=_strings(item.get("not_intent")),
                value=item.get("value"),
                forms=forms,
                dropped=tuple(key for key in ("role", "group", "action") if key in item),
            )
        )
        for key in item:
            if key not in MAPPING_KEYS:
                report.note(path, item.line_of(key), f"`{key}` of a mapping of {what} is unknown to Deskmate; ignored")
    return tuple(mappings)


def _conditions(path: Path, item: LineDict, what: str, report: Report) -> tuple[str, ...]:
    """The forms (``active_loop``) named in a mapping's ``conditions``: the forms it serves."""
    raw = item.get("conditions")
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        report.issue(path, item.line_of("conditions"), f"`conditions` of a mapping of {what} must be a list")
        return ()
    return tuple(c["active_loop"] for c in raw if isinstance(c, LineDict) and isinstance(c.get("active_loop"), str))


def _forms(path: Path, doc: LineDict, report: Report) -> dict[str, RasaForm]:
    raw = doc.get("forms")
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        report.issue(path, doc.line_of("forms"), "`forms:` must map form names to their `required_slots`")
        return {}
    forms: dict[str, RasaForm] = {}
    for name, spec in raw.items():
        line = raw.line_of(name)
        spec = spec if spec is not None else LineDict()
        if not isinstance(spec, LineDict):
            report.issue(path, line, f"form `{name}` must be a mapping with `required_slots`")
            continue
        ignored = _strings(spec.get("ignored_intents"))
        required = spec.get("required_slots")
        if isinstance(required, LineList):  # Rasa 3: slot names; their mappings are in `slots:`
            names = [(str(slot), required.line_of(i)) for i, slot in enumerate(required) if isinstance(slot, str)]
            if len(names) != len(required):
                report.issue(path, required.line, f"`required_slots` of form `{name}` must be a list of slot names")
            forms[name] = RasaForm(name, path, line, tuple(names), None, ignored)
            continue
        # Rasa 2: `required_slots: {slot: [mappings]}`, or (2.0) the slots right under the form
        slots = required if isinstance(required, LineDict) else spec
        if required is not None and not isinstance(required, LineDict):
            report.issue(path, spec.line_of("required_slots"), f"`required_slots` of form `{name}` must be a list")
            continue
        mappings: dict[str, tuple[SlotMapping, ...]] = {}
        order: list[tuple[str, int]] = []
        for slot, raw_mappings in slots.items():
            if slots is spec and slot in ("ignored_intents", "required_slots"):
                continue
            what = f"slot `{slot}` of form `{name}`"
            mappings[slot] = read_mappings(path, raw_mappings, slots.line_of(slot), what, report)
            order.append((slot, slots.line_of(slot)))
        forms[name] = RasaForm(name, path, line, tuple(order), mappings, ignored)
    return forms


def _strings(value: Any) -> tuple[str, ...]:
    """A name or a list of names as a tuple (other values: empty)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()
