"""bot.core.customer: who the customer is, from the conversation's events."""

from __future__ import annotations

from typing import Any

from bot.core.customer import customer_card, visitor_label
from bot.core.events import BOT_REPLY, CONTACT_REQUEST, SLOT_SET, VISIT, StoredEvent


def event(seq: int, kind: str, **data: Any) -> StoredEvent:
    return StoredEvent("c_1", seq, kind, data, 1_700_000_000.0 + seq)


def test_an_anonymous_customer_is_a_visitor_with_a_stable_number() -> None:
    card = customer_card("c_1", [event(1, VISIT, page="https://shop.example/"), event(2, BOT_REPLY, text="Hi")])

    assert card.label == visitor_label("c_1") == customer_card("c_1", []).label
    assert card.label.startswith("Visitor ") and len(card.label) == len("Visitor 1234")
    assert visitor_label("c_2") != visitor_label("c_1") or visitor_label("c_3") != visitor_label("c_1")
    assert card.page == "https://shop.example/"
    assert card.started == 1_700_000_001.0
    assert card.to_dict()["started"] == "2023-11-14T22:13:21+00:00"


def test_the_latest_email_from_a_slot_or_a_contact_request_names_them() -> None:
    events = [
        event(1, SLOT_SET, slot="name", value="Jo Park", source="entity"),
        event(2, SLOT_SET, slot="email", value="old@example.com", source="form"),
        event(3, CONTACT_REQUEST, email="jo@example.com", text="call me"),
    ]
    card = customer_card("c_1", events)

    assert (card.label, card.email, card.name) == ("jo@example.com", "jo@example.com", "Jo Park")
    assert customer_card("c_1", events[:1]).label == "Jo Park"


def test_values_that_are_not_text_are_ignored() -> None:
    card = customer_card("c_1", [event(1, SLOT_SET, slot="email", value=None), event(2, SLOT_SET, slot="name", value=" ")])

    assert card.email is None and card.name is None and card.label.startswith("Visitor ")
