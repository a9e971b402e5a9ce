"""bot.core.entities: patterns and lookups found in messages, overlaps resolved longest then earliest."""

from __future__ import annotations

import time

import pytest

from bot.core.entities import Entity, EntityExtractor
from kb.loader import load_kb
from kb.model import EntityDefinition
from tests.kb.test_loader import DEMO

ORDER = EntityDefinition("order_id", pattern=r"PC-\d{6}")
EMAIL = EntityDefinition("email", pattern=r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PRODUCT = EntityDefinition(
    "product",
    lookup=("tent", "jacket", "down jacket", "sleeping bag"),
    synonyms=(("tents", "tent"), ("rain jacket", "jacket"), ("sleeping bags", "sleeping bag")),
)


@pytest.fixture
def extractor() -> EntityExtractor:
    return EntityExtractor([ORDER, EMAIL, PRODUCT])


def test_patterns_give_the_matched_text(extractor: EntityExtractor) -> None:
    text = "Order PC-483920 please, mail jo.doe+x@example.co.uk."

    assert extractor.extract(text) == [
        Entity("order_id", "PC-483920", 6, 15),
        Entity("email", "jo.doe+x@example.co.uk", 29, 51),
    ]
    assert text[29:51] == "jo.doe+x@example.co.uk"


def test_patterns_match_whole_words_only(extractor: EntityExtractor) -> None:
    assert extractor.extract("PC-1234567 or XPC-123456 or pc-123456") == []


def test_lookups_are_case_and_spacing_insensitive_and_give_the_lookup_value(extractor: EntityExtractor) -> None:
    text = "Two TENTS and a Sleeping\n Bag"

    assert extractor.extract(text) == [Entity("product", "tent", 4, 9), Entity("product", "sleeping bag", 16, 29)]


def test_lookups_match_whole_words_only(extractor: EntityExtractor) -> None:
    assert extractor.extract("contents, jackets, attention") == []


def test_the_longest_match_wins(extractor: EntityExtractor) -> None:
    assert extractor.extract("my down jacket and rain jacket") == [
        Entity("product", "down jacket", 3, 14),
        Entity("product", "jacket", 19, 30),
    ]


def test_overlapping_entities_longest_then_earliest_then_declared_first() -> None:
    extractor = EntityExtractor(
        [
            EntityDefinition("short", pattern=r"ab"),
            EntityDefinition("long", pattern=r"ab cd"),
            EntityDefinition("tail", pattern=r"cd ef"),
            EntityDefinition("same", lookup=("ab",)),
        ]
    )

    assert extractor.extract("ab cd ef") == [Entity("long", "ab cd", 0, 5)]  # longest, then "cd ef" overlaps it
    assert extractor.extract("zz cd ef ab") == [Entity("tail", "cd ef", 3, 8), Entity("short", "ab", 9, 11)]
    both = EntityExtractor([EntityDefinition("x", pattern=r"ab cd"), EntityDefinition("y", pattern=r"cd ef")])
    assert both.extract("ab cd ef") == [Entity("x", "ab cd", 0, 5)]  # same length: the earliest
    later = EntityExtractor([EntityDefinition("x", pattern=r"ab cd"), EntityDefinition("y", pattern=r"cd ef gh")])
    assert later.extract("ab cd ef gh") == [Entity("y", "cd ef gh", 3, 11)]  # longer beats earlier
    twins = EntityExtractor([EntityDefinition("x", pattern=r"ab"), EntityDefinition("y", lookup=("AB",))])
    assert twins.extract("ab") == [Entity("x", "ab", 0, 2)]  # same span: the entity declared first


def test_no_definitions_find_nothing() -> None:
    assert EntityExtractor([]).extract("PC-123456") == []


def test_unusable_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match="pattern of entity `a` can match empty text"):
        EntityExtractor([EntityDefinition("a", pattern=r"\d*")])
    with pytest.raises(ValueError, match="neither `pattern` nor `lookup`"):
        EntityExtractor([EntityDefinition("a")])


def test_demo_entities() -> None:
    extractor = EntityExtractor(load_kb(DEMO).entities)
    found = extractor.extract("Hi, my Rucksack from PC-220019 broke, write to sam@example.com")

    assert [(e.entity, e.value) for e in found] == [
        ("product", "backpack"),
        ("order_id", "PC-220019"),
        ("email", "sam@example.com"),
    ]
    assert extractor.names == ["order_id", "email", "product"]


def test_extraction_is_fast() -> None:
    extractor = EntityExtractor(load_kb(DEMO).entities)
    text = "I ordered a tent, hiking boots and a down jacket on PC-123456, mail me at a@b.example " * 5

    start = time.perf_counter()
    for _ in range(200):
        extractor.extract(text)
    assert (time.perf_counter() - start) / 200 < 0.005
