"""kb.annotations: Rasa-style entity markup is stripped, its spans land on the plain text, and back."""

from __future__ import annotations

import pytest

from kb.annotations import AnnotationError, annotate, parse_annotated
from kb.model import EntitySpan, Intent


def test_plain_text_passes_through() -> None:
    parsed = parse_annotated("where is my order (the blue one)?")

    assert parsed.text == "where is my order (the blue one)?"
    assert parsed.spans == ()


def test_both_forms_give_spans_on_the_stripped_text() -> None:
    parsed = parse_annotated(
        'is [PO-123456](order_id) going to [Köln]{"entity": "city", "value": "Cologne"} or [NYC](city:New York)'
    )

    assert parsed.text == "is PO-123456 going to Köln or NYC"
    assert parsed.spans == (
        EntitySpan("order_id", 3, 12, "PO-123456"),
        EntitySpan("city", 22, 26, "Cologne"),
        EntitySpan("city", 30, 33, "New York"),
    )
    assert [parsed.text[s.start : s.end] for s in parsed.spans] == ["PO-123456", "Köln", "NYC"]


def test_json_form_without_value_uses_the_text() -> None:
    parsed = parse_annotated('[tomorrow]{"entity": "date"} please')

    assert parsed.spans == (EntitySpan("date", 0, 8, "tomorrow"),)


@pytest.mark.parametrize(
    "example",
    [
        "where is order [PO-123456](order_id)",
        'ship to [NYC]{"entity": "city", "value": "New York"} and [Boston](city) today',
        "no markup at all",
    ],
)
def test_annotate_is_the_inverse_of_parse(example: str) -> None:
    parsed = parse_annotated(example)

    assert annotate(parsed.text, parsed.spans) == example
    assert parse_annotated(annotate(parsed.text, parsed.spans)) == parsed


def test_older_value_form_is_written_back_as_json() -> None:
    parsed = parse_annotated("to [NYC](city:New York)")

    assert annotate(parsed.text, parsed.spans) == 'to [NYC]{"entity": "city", "value": "New York"}'


def test_annotate_refuses_overlapping_spans() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        annotate("abcdef", [EntitySpan("x", 0, 3, "abc"), EntitySpan("y", 2, 4, "cd")])


@pytest.mark.parametrize(
    ("example", "fragment"),
    [
        ("where is [PO-1] (order_id)", "remove the space after `[PO-1]`"),
        ("where is [PO-1]", "is not followed by `(entity)`"),
        ("where is [PO-1", "is never closed"),
        ("where is PO-1](order_id)", "closes no `[`"),
        ("where is [PO-1](order_id", "`[PO-1](` is never closed"),
        ("where is [](order_id)", "marks no text"),
        ("where is [ PO-1](order_id)", "move the space outside"),
        ("where is [a [PO-1](order_id)](x)", "cannot nest"),
        ("where is [PO-1](order id)", "entity name 'order id'"),
        ("where is [PO-1](1st)", "starting with a letter"),
        ('where is [PO-1]{"entity": "order_id"', "JSON after `[PO-1]` is invalid"),
        ('where is [PO-1]{"value": "x"}', 'needs "entity"'),
        ('where is [PO-1]{"entity": "order_id", "value": 7}', '"value" after `[PO-1]` must be a non-empty string'),
        ('where is [PO-1]{"entity": "order_id", "colour": "red"}', "unknown key 'colour'"),
        ('where is [PO-1]{"entity": "order_id", "role": "old"}', "roles or groups"),
        ('where is [PO-1][{"entity": "a"}, {"entity": "b"}]', "not supported"),
    ],
)
def test_malformed_markup_says_what_to_write(example: str, fragment: str) -> None:
    with pytest.raises(AnnotationError) as info:
        parse_annotated(example)

    assert fragment in str(info.value)


def test_allowed_keys_are_ignored_and_listed() -> None:
    parsed = parse_annotated('to [NYC]{"entity": "city", "role": "destination"}', ignore_keys=("role", "group"))

    assert parsed.spans == (EntitySpan("city", 3, 6, "NYC"),)
    assert parsed.ignored == ("role",)


def test_intent_annotations_align_with_examples() -> None:
    span = EntitySpan("colour", 4, 9, "green")
    intent = Intent("lamp", "Lamp", ("a", "the green lamp"), annotations=((), (span,)))

    assert intent.spans(1) == (span,)
    assert Intent("lamp", "Lamp", ("a",)).spans(0) == ()
    with pytest.raises(ValueError, match="one tuple of spans per example"):
        Intent("lamp", "Lamp", ("a", "b"), annotations=((),))
