"""bot.core.templates: choose a variation the slots can fill, fill it literally, say what is missing."""

from __future__ import annotations

import pytest

from bot.core.templates import Rendered, choose, missing_slots, render
from kb.model import Button, Template

PLAIN = (Template("First."), Template("Second."), Template("Third."))
ORDER = Template("Looking up {order_id}.", (Button("Track it", "order_status"),))
ORDER_EMAIL = Template("I'll mail {email} about {order_id}.")


def test_without_slots_the_plain_variations_rotate() -> None:
    templates = (*PLAIN, ORDER)

    texts = [choose(templates, {}, turn=turn) for turn in range(4)]

    assert [r.text for r in texts if r] == ["First.", "Second.", "Third.", "First."]
    assert texts[0] == Rendered("First.", (), frozenset())


def test_a_variation_using_the_known_slots_is_preferred() -> None:
    templates = (*PLAIN, ORDER, ORDER_EMAIL)

    one = choose(templates, {"order_id": "PC-123456"}, turn=5)
    two = choose(templates, {"order_id": "PC-123456", "email": "a@b.example"}, turn=0)

    assert one == Rendered("Looking up PC-123456.", (Button("Track it", "order_status"),), frozenset({"order_id"}))
    assert two == Rendered("I'll mail a@b.example about PC-123456.", (), frozenset({"order_id", "email"}))


def test_variations_with_as_many_slots_rotate() -> None:
    other = Template("Checking {order_id} now.")
    templates = (ORDER, other)

    texts = [r.text for turn in range(3) if (r := choose(templates, {"order_id": "PC-1"}, turn=turn))]

    assert texts == ["Looking up PC-1.", "Checking PC-1 now.", "Looking up PC-1."]


def test_blank_values_count_as_unknown() -> None:
    assert choose((ORDER,), {"order_id": "  "}, turn=0) is None
    assert missing_slots((ORDER,), {"order_id": ""}) == ("order_id",)


@pytest.mark.parametrize("value", ["{other}", "{0}", "{order_id}", "{{x}}", "\\1 \\g<0>", "%s {}"])
def test_values_are_inserted_literally(value: str) -> None:
    template = Template("Order {order_id} for {other}.")

    rendered = choose((template,), {"order_id": value, "other": "SECRET"}, turn=0)

    assert rendered is not None
    assert rendered.text == f"Order {value} for SECRET."


def test_literal_braces_of_the_text() -> None:
    rendered = choose((Template("Use {{code}} on {order_id}"),), {"order_id": "PC-1"}, turn=0)

    assert rendered is not None and rendered.text == "Use {code} on PC-1"


def test_nothing_to_fill_returns_none_and_missing_slots_says_what_to_ask() -> None:
    templates = (ORDER_EMAIL, ORDER)

    assert choose(templates, {}, turn=0) is None
    assert missing_slots(templates, {}) == ("order_id",)  # ORDER lacks fewer
    assert missing_slots((ORDER_EMAIL,), {}) == ("email", "order_id")  # in the order the text uses them
    assert missing_slots((ORDER_EMAIL,), {"order_id": "PC-1"}) == ("email",)
    assert missing_slots(templates, {"order_id": "PC-1"}) == ()  # ORDER can be sent
    assert missing_slots((*PLAIN, ORDER), {}) == ()
    assert missing_slots((), {}) == ()
    assert choose((), {}, turn=3) is None


def test_unused_slots_are_not_reported() -> None:
    rendered = choose(PLAIN, {"order_id": "PC-1"}, turn=1)

    assert rendered == Rendered("Second.", (), frozenset())


def test_render() -> None:
    assert render(ORDER, {"order_id": "PC-9"}) == "Looking up PC-9."
    with pytest.raises(KeyError, match="order_id"):
        render(ORDER, {"order_id": " "})


def test_the_variation_closest_in_meaning_is_chosen() -> None:
    templates = [Template("Track it under Account > Orders."), Template("Marked delivered but not there? Check neighbours.")]

    chosen = [choose(templates, {}, turn=turn, scores=(0.31, 0.62)) for turn in range(3)]

    assert {c.text for c in chosen if c} == {"Marked delivered but not there? Check neighbours."}


def test_variations_about_as_close_rotate() -> None:
    templates = [Template("A."), Template("B."), Template("C.")]

    chosen = {r.text for turn in range(4) if (r := choose(templates, {}, turn=turn, scores=(0.500, 0.495, 0.2)))}

    assert chosen == {"A.", "B."}


def test_known_slots_come_before_closeness_and_misaligned_scores_are_ignored() -> None:
    templates = [Template("Send me your order number."), Template("Thanks, {order_id} is on its way.")]

    with_slot = choose(templates, {"order_id": "PC-1"}, turn=0, scores=(0.9, 0.1))
    misaligned = {r.text for t in range(2) if (r := choose(templates, {}, turn=t, scores=(0.9,)))}

    assert with_slot is not None and with_slot.text == "Thanks, PC-1 is on its way."
    assert misaligned == {"Send me your order number."}


def test_a_variation_saying_the_bot_is_a_person_is_never_sent() -> None:
    templates = [Template("I'm Sam from the support team, how can I help?"), Template("How can I help?")]

    chosen = {r.text for turn in range(3) if (r := choose(templates, {}, turn=turn))}

    assert chosen == {"How can I help?"}
