"""kb.placeholders: {slot} placeholders are listed, validated and filled literally."""

from __future__ import annotations

import pytest

from kb.placeholders import PlaceholderError, slot_names, substitute


def test_slot_names_in_order_of_first_use() -> None:
    assert slot_names("Hi {name}, order {order_id} for {name}") == ("name", "order_id")
    assert slot_names("no slots here") == ()
    assert slot_names("{_private} {a1}") == ("_private", "a1")


def test_doubled_braces_are_literal() -> None:
    assert slot_names("{{not_a_slot}} but {slot}") == ("slot",)
    assert substitute("{{x}} {{{slot}}} }}", {"slot": "v"}) == "{x} {v} }"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a {0}", "placeholder `{0}` at character 3 is not a slot name"),
        ("a {order id}", "placeholder `{order id}`"),
        ("a {}", "empty placeholder `{}` at character 3"),
        ("a {slot", "`{` at character 3 is never closed"),
        ("a {{slot}", "`}` at character 9 closes no placeholder"),
        ("a slot}", "`}` at character 7 closes no placeholder"),
        ("{{{", "`{` at character 3 is never closed"),
    ],
)
def test_malformed_braces(text: str, fragment: str) -> None:
    with pytest.raises(PlaceholderError) as info:
        slot_names(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_values_are_inserted_literally() -> None:
    values = {"a": "{b}", "b": "B", "c": "{0} \\1 \\g<0> %s {{"}

    assert substitute("{a} {c}", values) == "{b} {0} \\1 \\g<0> %s {{"


def test_a_missing_value_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="order_id"):
        substitute("Order {order_id}", {})


def test_fill_known_leaves_unknown_placeholders_visible() -> None:
    from kb.placeholders import fill_known, placeholder_names

    assert fill_known("{order_id} goes to {address} {{literal}}", {"order_id": "PC-1"}) == "PC-1 goes to {address} {literal}"
    assert fill_known("a } stray {", {}) == "a } stray {"
    assert placeholder_names("{a} and {b}, {a}, {{c}} }") == ("a", "b")
