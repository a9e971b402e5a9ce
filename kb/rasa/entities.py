"""Rasa's regexes, lookup tables and synonyms as the entities of entities.yml.

::

    - regex: username          ->  - name: username
      examples: |                    pattern: '(?:[a-z]{2}\\d{5}|adm-[a-z]+)'
        - [a-z]{2}\\d{5}
        - adm-[a-z]+
    - lookup: software         ->  - name: software
      examples: |                    lookup: [Outlook, Microsoft Teams]
        - Outlook                    synonyms:
        - Microsoft Teams              Microsoft Teams: [ms teams]
    - synonym: Microsoft Teams
      examples: |
        - ms teams

A synonym belongs to the entity whose annotations or lookup list hold its value. Entities that
Rasa's NLU model extracts (annotated, with no regex or lookup) cannot be found by Deskmate, which
matches patterns and lookup lists only: they are reported with what to add.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.annotations import AnnotationError, parse_annotated
from kb.entities import ENTITY_NAME, compile_pattern, lookup_key
from kb.rasa.domain import Where
from kb.rasa.files import NLUItem, Report

LEFTOVERS = "rasa.yml"
PATTERN, LOOKUP = "pattern", "lookup"
_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


@dataclass(frozen=True)
class Annotation:
    value: str
    file: Path
    line: int


@dataclass
class EntityPlan:
    entities: list[dict[str, Any]] = field(default_factory=list)  # the items of entities.yml
    kinds: dict[str, str] = field(default_factory=dict)  # name -> PATTERN | LOOKUP
    learned: set[str] = field(default_factory=set)  # entities only Rasa's NLU model finds (not in entities.yml)
    leftovers: dict[str, dict[str, Any]] = field(default_factory=dict)  # rasa.yml section -> name -> values


def annotated_values(items: list[NLUItem]) -> dict[str, list[Annotation]]:
    """The entity values annotated in the intents' examples, by entity."""
    found: dict[str, list[Annotation]] = {}
    for item in items:
        if item.kind != "intent" or item.name == "out_of_scope":  # out-of-scope markup is stripped
            continue
        for example in item.examples:
            try:
                parsed = parse_annotated(example.text, ignore_keys=("role", "group"))
            except AnnotationError:
                continue  # reported with the intent's examples
            for span in parsed.spans:
                found.setdefault(span.entity, []).append(Annotation(span.value, example.file, example.line))
    return found


def plan_entities(items: list[NLUItem], declared: Mapping[str, Where], report: Report) -> EntityPlan:
    """entities.yml from the regexes, lookups and synonyms of ``items``; notes go to ``report``."""
    plan = EntityPlan()
    annotated = annotated_values(items)
    known = set(declared) | set(annotated)
    patterns: dict[str, str] = {}
    lookups: dict[str, list[str]] = {}
    for item in items:
        if item.kind == "regex" and _usable(item, known, plan, report):
            pattern = _pattern(item, report)
            if pattern is None:
                plan.leftovers.setdefault("regexes", {})[item.name] = [e.text for e in item.examples]
            else:
                patterns[item.name] = pattern
        elif item.kind == "lookup" and _usable(item, known, plan, report):
            values: dict[str, str] = {}
            for example in item.examples:
                values.setdefault(lookup_key(example.text), example.text)
            lookups[item.name] = list(values.values())
    synonyms = _synonyms(items, annotated, lookups, patterns, plan, report)
    order = [i.name for i in items if i.kind in ("regex", "lookup") and (i.name in patterns or i.name in lookups)]
    for name in dict.fromkeys(order):
        if name in patterns and name in lookups:
            plan.entities.append({"name": name, PATTERN: _with_lookup(patterns[name], lookups[name])})
            plan.kinds[name] = PATTERN
            where = next(i for i in items if i.kind == "lookup" and i.name == name)
            report.note(
                where.file,
                where.line,
                f"entity `{name}` has a regex and a lookup table; entities.yml takes one: the lookup values are "
                "added to its pattern (case-insensitive)",
            )
        elif name in patterns:
            plan.entities.append({"name": name, PATTERN: patterns[name]})
            plan.kinds[name] = PATTERN
        else:
            entry: dict[str, Any] = {"name": name, LOOKUP: lookups[name]}
            if synonyms.get(name):
                entry["synonyms"] = synonyms[name]
            plan.entities.append(entry)
            plan.kinds[name] = LOOKUP
    for name in sorted(known - set(plan.kinds)):
        plan.learned.add(name)
        _learned_note(name, annotated.get(name, []), declared.get(name), report)
    return plan


def _usable(item: NLUItem, known: set[str], plan: EntityPlan, report: Report) -> bool:
    section = "regexes" if item.kind == "regex" else "lookup_tables"
    if item.name in known and ENTITY_NAME.match(item.name):
        return True
    if item.name in known:
        why = f"`{item.name}` is not a Deskmate entity name (letters, digits and _, starting with a letter)"
    else:
        why = f"`{item.name}` is no entity of the domain or the annotations (Rasa uses it as a feature)"
    report.note(item.file, item.line, f"{item.kind} `{item.name}` not imported: {why}; kept in {LEFTOVERS}")
    plan.leftovers.setdefault(section, {})[item.name] = [e.text for e in item.examples]
    return False


def _pattern(item: NLUItem, report: Report) -> str | None:
    """The regexes of ``item`` as one pattern (several joined in a group); None, with a note, if unusable."""
    parts: list[str] = []
    for example in item.examples:
        text = example.text
        flags = _GLOBAL_FLAGS.match(text)
        if flags:  # `(?i)abc` -> `(?i:abc)`: a global flag cannot stand inside the group that joins them
            text = f"(?{flags.group(1)}:{text[flags.end() :]})"
        parts.append(text)
    pattern = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        report.note(item.file, item.line, f"regex `{item.name}` {exc}; not imported, kept in {LEFTOVERS}")
        return None
    return pattern


def _with_lookup(pattern: str, values: list[str]) -> str:
    words = sorted({lookup_key(v) for v in values}, key=lambda k: (-len(k), k))
    alternatives = "|".join(r"\s+".join(re.escape(w) for w in key.split(" ")) for key in words)
    return f"(?:{pattern}|(?i:{alternatives}))"


def _synonyms(
    items: list[NLUItem],
    annotated: dict[str, list[Annotation]],
    lookups: dict[str, list[str]],
    patterns: dict[str, str],
    plan: EntityPlan,
    report: Report,
) -> dict[str, dict[str, list[str]]]:
    """entity -> {lookup value: [variants]}; lookups gain the synonyms' values, and lose values that are variants."""
    result: dict[str, dict[str, list[str]]] = {}
    taken: dict[str, dict[str, str]] = {}  # entity -> variant key -> its value
    for item in items:
        if item.kind != "synonym":
            continue
        value, variants = item.name, [e.text for e in item.examples]
        owners = [n for n, spans in annotated.items() if any(lookup_key(a.value) == lookup_key(value) for a in spans)]
        owners += [n for n, vals in lookups.items() if lookup_key(value) in {lookup_key(v) for v in vals}]
        entity = next((n for n in owners if n in lookups), owners[0] if owners else None)
        if entity is None or entity not in lookups:
            if entity is None:
                why = f"`{value}` is no annotated or lookup value of an entity"
            elif entity in patterns:
                why = f"entity `{entity}` is found by a pattern, and synonyms only go with lookup lists"
            else:
                why = (
                    f"entity `{entity}` has no lookup list in Deskmate; to keep it, add one holding `{value}` with "
                    f"`synonyms: {{{value}: [{', '.join(variants)}]}}`"
                )
            report.note(item.file, item.line, f"synonym `{value}` not imported ({why}); kept in {LEFTOVERS}")
            plan.leftovers.setdefault("synonyms", {})[value] = variants
            continue
        values = lookups[entity]
        keys = {lookup_key(v): v for v in values}
        if lookup_key(value) not in keys:
            values.append(value)
            keys[lookup_key(value)] = value
            report.note(item.file, item.line, f"`{value}` added to the lookup list of `{entity}` for its synonyms")
        canonical = keys[lookup_key(value)]
        seen = taken.setdefault(entity, {})
        kept: list[str] = []
        for variant in variants:
            key = lookup_key(variant)
            if key == lookup_key(canonical) or key in seen:
                continue
            if key in keys:  # a lookup value that Rasa maps to `value`: in Deskmate it is only the variant
                values.remove(keys.pop(key))
                report.note(
                    item.file,
                    item.line,
                    f"`{variant}` is a lookup value of `{entity}` and a synonym of `{canonical}`; kept as the synonym",
                )
            seen[key] = canonical
            kept.append(variant)
        if kept:
            result.setdefault(entity, {}).setdefault(canonical, []).extend(kept)
    return result


def _learned_note(name: str, spans: list[Annotation], declared: Where | None, report: Report) -> None:
    values = list(dict.fromkeys(a.value for a in spans))
    if not ENTITY_NAME.match(name):
        add = f"rename it (letters, digits and _) and add `- name: {name.replace('-', '_').replace('.', '_')}`"
    elif values:
        shown = ", ".join(values[:6]) + (", ..." if len(values) > 6 else "")
        add = f"add `- name: {name}` with `lookup: [{shown}]` (the values annotated) or a `pattern`"
    else:
        add = f"add `- name: {name}` with a `pattern` or a `lookup` list"
    if spans:
        file, line, count = (
            spans[0].file,
            spans[0].line,
            f"annotated in {len(spans)} example{'s' if len(spans) > 1 else ''}",
        )
    elif declared is not None:
        file, line, count = declared.file, declared.line, "declared in the domain"
    else:
        return
    message = (
        f"entity `{name}` ({count}) is found by Rasa's NLU model; Deskmate finds entities by `pattern` or `lookup` "
        f"only: {add} to entities.yml"
    )
    report.note(file, line, message)
