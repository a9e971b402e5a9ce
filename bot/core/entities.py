"""Find the KB's declared entities (entities.yml) in a customer message.

Pure and cheap: one compiled pattern per entity, built once. Each entity yields its matches; where
matches of different entities overlap, the longest wins, then the earliest, then the entity
declared first. The values found fill the slots of response templates (see bot/core/templates.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.entities import compile_lookup, compile_pattern, lookup_key
from kb.model import EntityDefinition


@dataclass(frozen=True)
class Entity:
    """An entity found in a message: ``text[start:end]``, meaning ``value``."""

    entity: str
    value: str  # the matched text for a pattern; the lookup value as written in entities.yml
    start: int
    end: int


@dataclass(frozen=True)
class _Matcher:
    name: str
    pattern: re.Pattern[str]
    values: dict[str, str] | None  # lookup key -> lookup value; None for a pattern entity

    def find(self, text: str) -> list[Entity]:
        found: list[Entity] = []
        for match in self.pattern.finditer(text):
            if match.end() == match.start():
                continue
            matched = match.group(0)
            value = matched if self.values is None else self.values.get(lookup_key(matched), matched)
            found.append(Entity(self.name, value, match.start(), match.end()))
        return found


class EntityExtractor:
    """Finds ``definitions`` in texts; raises ``ValueError`` for a definition that cannot be used."""

    def __init__(self, definitions: Sequence[EntityDefinition]) -> None:
        self._matchers = [_matcher(definition) for definition in definitions]

    @property
    def names(self) -> list[str]:
        """The entity names, in declaration order."""
        return [matcher.name for matcher in self._matchers]

    def extract(self, text: str) -> list[Entity]:
        """The entities in ``text``, in order, none overlapping another."""
        candidates: list[tuple[int, int, int, Entity]] = []
        for rank, matcher in enumerate(self._matchers):
            for entity in matcher.find(text):
                candidates.append((entity.start - entity.end, entity.start, rank, entity))
        candidates.sort(key=lambda c: c[:3])
        taken: list[Entity] = []
        for *_, entity in candidates:
            if all(entity.end <= other.start or other.end <= entity.start for other in taken):
                taken.append(entity)
        return sorted(taken, key=lambda e: e.start)


def _matcher(definition: EntityDefinition) -> _Matcher:
    name = definition.name
    if definition.pattern is not None:
        try:
            return _Matcher(name, compile_pattern(definition.pattern), None)
        except ValueError as exc:
            raise ValueError(f"the pattern of entity `{name}` {exc}") from exc
    if not definition.lookup:
        raise ValueError(f"entity `{name}` has neither `pattern` nor `lookup`; give it one (see docs/kb-format.md)")
    values = {lookup_key(value): value for value in definition.lookup}
    for variant, value in definition.synonyms:
        values.setdefault(lookup_key(variant), value)
    return _Matcher(name, compile_lookup(values), values)
