"""The optional ``entities.yml`` of a KB folder: entities the bot finds in customer messages.

::

    entities:
      - name: order_id
        pattern: 'PC-\\d{6}'           # a regular expression, matched on whole words
      - name: product
        lookup: [tent, sleeping bag]  # values, matched case-insensitively on whole words
        synonyms:                     # optional: other words for a lookup value
          sleeping bag: [sleeping bags, sleepingbag]

:func:`parse_entities` validates the file's mapping into :class:`~kb.model.EntityDefinition`
values; ``bot/core/entities.py`` finds them in messages with the matchers compiled here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.errors import KBIssue
from kb.languages.segmentation import NOT_AFTER, NOT_BEFORE
from kb.model import EntityDefinition
from kb.yamlio import LineDict, LineList

ENTITIES = "entities.yml"
ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")  # usable as a `{slot}` and in annotations
KEYS = ("name", "pattern", "lookup", "synonyms")
# text on which a pattern must not find an empty match (a pattern that can match nothing matches everywhere)
_PROBE = "Order PC-123456, a x@y.example; 42 kg!"


def parse_entities(doc: LineDict, issues: list[KBIssue]) -> list[EntityDefinition]:
    """The entities of ``doc`` (entities.yml; empty when the file is absent); problems go to ``issues``."""
    file = ENTITIES
    if not doc:
        return []
    raw = doc.get("entities")
    if not isinstance(raw, LineList):
        line = doc.line_of("entities") if "entities" in doc else 1
        issues.append(
            KBIssue(file, line, "`entities` must be a list of entities, each with `name` and `pattern` or `lookup`")
        )
        return []
    entities: list[EntityDefinition] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, LineDict):
            message = "each entity must be a mapping with `name` and either `pattern` or `lookup`"
            issues.append(KBIssue(file, raw.line_of(index), message))
            continue
        entity = _parse_entity(item, issues)
        if entity is None:
            continue
        if entity.name in seen:
            message = f"entity `{entity.name}` is declared twice (first on line {seen[entity.name]}); merge the two"
            issues.append(KBIssue(file, item.line_of("name"), message))
            continue
        seen[entity.name] = item.line_of("name")
        entities.append(entity)
    return entities


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled to match whole words only (an ideograph is a word edge: kb/languages/segmentation.py); ``ValueError`` says why it cannot be used."""
    try:
        bare = re.compile(pattern)
        whole = re.compile(rf"{NOT_AFTER}(?:{pattern}){NOT_BEFORE}")
    except re.error as exc:
        hint = " (put flags inside, like `(?i:pc)-\\d{6}`)" if "global flags" in str(exc) else ""
        raise ValueError(f"is not a valid regular expression ({exc}){hint}; fix it") from exc
    if bare.fullmatch("") is not None or any(m.start() == m.end() for m in bare.finditer(_PROBE)):
        raise ValueError("can match empty text; make it match at least one character (use `+` rather than `*`)")
    return whole


def lookup_key(text: str) -> str:
    """How a lookup value or variant is compared: case and spacing aside."""
    return " ".join(text.casefold().split())


def compile_lookup(phrases: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive whole-word pattern for ``phrases``, longest first; spaces match any spacing."""
    words = sorted({lookup_key(p) for p in phrases if p.strip()}, key=lambda k: (-len(k), k))
    if not words:
        raise ValueError("a lookup needs at least one non-empty value")
    alternatives = "|".join(r"\s+".join(re.escape(word) for word in key.split(" ")) for key in words)
    return re.compile(rf"{NOT_AFTER}(?:{alternatives}){NOT_BEFORE}", re.IGNORECASE)


def _parse_entity(item: LineDict, issues: list[KBIssue]) -> EntityDefinition | None:
    file = ENTITIES
    name = item.get("name")
    if not isinstance(name, str) or not ENTITY_NAME.match(name):
        message = f"entity name {name!r} is invalid: use letters, digits and underscores, starting with a letter"
        issues.append(KBIssue(file, item.line_of("name") if "name" in item else item.line, message))
        return None
    count = len(issues)
    for key in item:
        if key not in KEYS:
            message = f"unknown key `{key}` in entity `{name}`; allowed: {', '.join(KEYS)}"
            issues.append(KBIssue(file, item.line_of(key), message))
    has_pattern, has_lookup = "pattern" in item, "lookup" in item
    if has_pattern == has_lookup:
        if has_pattern:
            message = f"entity `{name}` has both `pattern` and `lookup`; keep one (or declare two entities)"
        else:
            message = f"entity `{name}` needs `pattern` (a regular expression) or `lookup` (a list of values)"
        issues.append(KBIssue(file, item.line, message))
        return None
    if has_pattern:
        if "synonyms" in item:
            message = f"`synonyms` only go with `lookup`; remove them from entity `{name}` or use a lookup list"
            issues.append(KBIssue(file, item.line_of("synonyms"), message))
        pattern = _parse_pattern(item, name, issues)
        if pattern is None or len(issues) > count:
            return None
        return EntityDefinition(name=name, pattern=pattern)
    lookup = _parse_lookup(item, name, issues)
    synonyms = _parse_synonyms(item, name, lookup, issues)
    if len(issues) > count:
        return None
    return EntityDefinition(name=name, lookup=tuple(lookup), synonyms=tuple(synonyms))


def _parse_pattern(item: LineDict, name: str, issues: list[KBIssue]) -> str | None:
    line = item.line_of("pattern")
    pattern = item.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        message = f"`pattern` of entity `{name}` must be a regular expression in single quotes, like 'PC-\\d{{6}}'"
        issues.append(KBIssue(ENTITIES, line, message))
        return None
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        issues.append(KBIssue(ENTITIES, line, f"`pattern` of entity `{name}` {exc}"))
        return None
    return pattern


def _parse_lookup(item: LineDict, name: str, issues: list[KBIssue]) -> list[str]:
    raw = item.get("lookup")
    if not isinstance(raw, LineList) or not raw:
        message = f"`lookup` of entity `{name}` must be a non-empty list of values, like [tent, sleeping bag]"
        issues.append(KBIssue(ENTITIES, item.line_of("lookup"), message))
        return []
    values: list[str] = []
    seen: dict[str, int] = {}
    for index, value in enumerate(raw):
        line = raw.line_of(index)
        text = _value(value)
        if text is None:
            message = f"each `lookup` value of entity `{name}` must be a non-empty string (quote it if needed)"
            issues.append(KBIssue(ENTITIES, line, message))
            continue
        key = lookup_key(text)
        if key in seen:
            message = f"lookup value {text!r} of entity `{name}` is listed twice (also on line {seen[key]}); remove one"
            issues.append(KBIssue(ENTITIES, line, message))
            continue
        seen[key] = line
        values.append(text)
    return values


def _parse_synonyms(item: LineDict, name: str, lookup: list[str], issues: list[KBIssue]) -> list[tuple[str, str]]:
    """(variant, lookup value) pairs of the optional ``synonyms`` mapping."""
    if "synonyms" not in item:
        return []
    raw = item.get("synonyms")
    if not isinstance(raw, LineDict):
        message = f"`synonyms` of entity `{name}` must map a lookup value to its variants, like `tent: [tents]`"
        issues.append(KBIssue(ENTITIES, item.line_of("synonyms"), message))
        return []
    values = {lookup_key(value): value for value in lookup}
    owner = dict(values)  # every phrase found so far, and the lookup value it stands for
    pairs: list[tuple[str, str]] = []
    for canonical, variants in raw.items():
        line = raw.line_of(canonical)
        value = values.get(lookup_key(canonical))
        if value is None:
            message = f"synonyms of {canonical!r} in entity `{name}`: {canonical!r} is not in `lookup`; add it there or fix the spelling"
            issues.append(KBIssue(ENTITIES, line, message))
            continue
        listed = _items(variants, line)
        if not listed:
            message = f"synonyms of {canonical!r} in entity `{name}` must be a non-empty list of other words for it"
            issues.append(KBIssue(ENTITIES, line, message))
            continue
        for variant, variant_line in listed:
            text = _value(variant)
            if text is None:
                message = f"each synonym of {canonical!r} in entity `{name}` must be a non-empty string"
                issues.append(KBIssue(ENTITIES, variant_line, message))
                continue
            key = lookup_key(text)
            if key in owner:
                taken = owner[key]
                where = "a lookup value" if key in values else f"already a synonym of {taken!r}"
                message = f"synonym {text!r} of {canonical!r} in entity `{name}` is {where}; remove it"
                issues.append(KBIssue(ENTITIES, variant_line, message))
                continue
            owner[key] = value
            pairs.append((text, value))
    return pairs


def _items(value: Any, line: int) -> list[tuple[Any, int]]:
    """The items of a YAML list with their lines; a single scalar counts as a list of one."""
    if isinstance(value, LineList):
        return [(item, value.line_of(index)) for index, item in enumerate(value)]
    if value is None or isinstance(value, LineDict):
        return []
    return [(value, line)]


def _value(value: Any) -> str | None:
    """A non-empty stripped string (YAML numbers are read as their text), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
