"""retrieval.privacy.masking: personal data becomes {kind} placeholders; prices, dates, quantities and ids survive."""

from __future__ import annotations

import time

import pytest

from bot.errors import ConfigError
from kb.placeholders import slot_names, substitute
from retrieval.privacy.masking import Deidentifier
from retrieval.privacy.pii import Finding, luhn_valid

MASKER = Deidentifier()


def masked(text: str, masker: Deidentifier = MASKER) -> str:
    return masker.deidentify(text).text


# --- e-mail addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.com please", "write to {email} please"),
        ("Mail: J.Smith+orders@Shop.Example.co.uk.", "Mail: {email}."),
        ("<tom_99@mail-server.example.org>", "<{email}>"),
        ("a@b.io and c@d.io", "{email} and {email}"),
    ],
)
def test_emails_are_masked(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize("text", ["we are @acme on social media", "email us at support at acme", "rate: 5@home"])
def test_things_that_only_look_like_emails_survive(text: str) -> None:
    assert masked(text) == text


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+442079460958",
        "+1 (555) 123-4567",
        "+49 30 12345678",
        "+33 1 23 45 67 89",
        "0044 20 7946 0958",
        "0049-30-1234567",
        "020 7946 0958",
        "(020) 7946 0958",
        "07700 900123",
        "07700900123",
        "030 12345678",
        "0800-123-456",
        "(555) 123-4567",
        "555-123-4567",
        "555 123 4567",
        "555.123.4567",
        "1-800-555-0199",
    ],
)
def test_phone_numbers_are_masked(phone: str) -> None:
    result = MASKER.deidentify(f"call me on {phone} after six")

    assert result.text == "call me on {phone} after six"
    assert result.counts == {"phone": 1}


def test_phone_at_the_edges_of_a_sentence() -> None:
    assert masked("020 7946 0958") == "{phone}"
    assert masked("My number is 07700 900123.") == "My number is {phone}."
    assert masked("tel:+44 20 7946 0958, mobile 07700900123") == "tel:{phone}, mobile {phone}"


@pytest.mark.parametrize(
    "text",
    [
        # prices and quantities
        "It costs £1,299.99 or $12.50 (1 299,99 € in France)",
        "I ordered 3 tents and 12 pegs, 250 ml each",
        "a budget of 1 000 000 000 EUR",
        "qty 10000",
        # years, dates and times
        "bought in 2023, returned in 2024",
        "the 2019 2020 2021 models",
        "valid 2023-2024",
        "delivered on 2024-03-15, 15.03.2024, 15/03/2024 or 03-15-2024",
        "on 2024-03-15T10:30:00",
        "open 9:00-17:30, Mon-Fri",
        # versions, IP addresses, postcodes without a cue
        "app version 10.4.1 (build 1.2.3.4567)",
        "server 192.168.100.200",
        "90210-1234, 10115 Berlin, 1012 AB Amsterdam",
        # ids glued to letters, URLs, short local numbers, bare long numbers
        "order PC-483920 and ticket #0123456789",
        "https://shop.example/orders/0123456789?ref=0207946095",
        "tracking 1Z999AA10123456784",
        "extension 555-1234",
        "invoice 2024001234",
    ],
)
def test_numbers_that_are_not_phones_survive(text: str) -> None:
    assert masked(text) == text


# --- payment cards ------------------------------------------------------------------------


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("1234567890123456")


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",  # Visa test number
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",  # Mastercard test number
        "3782 822463 10005",  # American Express, 15 digits
        "6011000990139424",  # Discover
        "4222222222222",  # 13 digits
    ],
)
def test_luhn_valid_card_numbers_are_masked(card: str) -> None:
    result = MASKER.deidentify(f"my card is {card}, thanks")

    assert result.text == "my card is {card}, thanks"
    assert result.counts == {"card": 1}


def test_card_followed_by_a_security_code_is_still_masked() -> None:
    assert masked("4111 1111 1111 1111 123") == "{card} 123"


@pytest.mark.parametrize(
    "text",
    [
        "reference 1234 5678 9012 3456",  # fails the Luhn check
        "parcel 4111111111111112",
        "number 12345678901234567890123",  # too long for a card
    ],
)
def test_long_numbers_that_fail_the_luhn_check_survive(text: str) -> None:
    assert masked(text) == text


# --- order ids and extra patterns ---------------------------------------------------------


def test_order_ids_are_masked_only_when_configured() -> None:
    text = "where is PO-123456?"

    assert masked(text) == text
    assert masked(text, Deidentifier(patterns={"order_id": r"PO-\d{6}"})) == "where is {order_id}?"


def test_order_id_pattern_matches_whole_words_only() -> None:
    masker = Deidentifier(patterns={"order_id": r"PO-\d{6}"})

    assert masked("PO-1234567 and XPO-123456", masker) == "PO-1234567 and XPO-123456"
    assert masked("(PO-123456), PO-654321.", masker) == "({order_id}), {order_id}."


def test_extra_patterns_get_their_own_placeholders() -> None:
    masker = Deidentifier(patterns={"order_id": r"PO-\d{6}", "iban": r"GB\d\d ?[A-Z]{4}(?: ?\d{2,4}){3,5}"})

    result = masker.deidentify("refund PO-123456 to GB29 NWBK 6016 1331 9268 19 or jo@example.com")

    assert result.text == "refund {order_id} to {iban} or {email}"
    assert result.counts == {"email": 1, "order_id": 1, "iban": 1}


def test_order_ids_win_over_phone_numbers() -> None:
    masker = Deidentifier(patterns={"order_id": r"\d{3}-\d{3}-\d{4}"})

    assert masked("order 555-123-4567", masker) == "order {order_id}"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patterns": {"order_id": "PO-(\\d{6}"}}, "not a valid regular expression"),
        ({"patterns": {"order_id": ""}}, "non-empty regular expression"),
        ({"patterns": {"order_id": "\\d*"}}, "matches empty text"),
        ({"patterns": {"Member ID": "M\\d+"}}, "letters, digits and underscores"),
        ({"disable": ["names"]}, "cannot disable unknown kind.*names.*use one of email"),
    ],
)
def test_bad_configuration_says_what_to_fix(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Deidentifier(**kwargs)  # type: ignore[arg-type]


# --- the result ---------------------------------------------------------------------------


def test_counts_by_kind_and_untouched_text() -> None:
    result = MASKER.deidentify("jo@example.com, 020 7946 0958, +1 555 123 4567 and 4111 1111 1111 1111")

    assert result.text == "{email}, {phone}, {phone} and {card}"
    assert result.counts == {"email": 1, "phone": 2, "card": 1}
    assert MASKER.deidentify("nothing personal here").counts == {}


def test_masking_is_idempotent() -> None:
    once = masked("jo@example.com 020 7946 0958 4111 1111 1111 1111")

    assert masked(once) == once


def test_long_digit_runs_stay_fast() -> None:
    text = ("1 2-3." * 5000) + "x" + "9" * 20000
    start = time.perf_counter()
    MASKER.deidentify(text)
    assert time.perf_counter() - start < 1.0


def test_long_texts_of_capitalised_words_stay_fast() -> None:
    text = "Hi Sarah, " + "Mill Road Leeds Station Park " * 2000 + "14 Larch Road, Leeds, LS6 2QT"
    start = time.perf_counter()
    result = MASKER.deidentify(text)
    assert time.perf_counter() - start < 2.0
    assert result.counts == {"name": 1, "address": 1}


# --- template syntax: braces, placeholders already there, marks of earlier imports ---------


def test_literal_braces_are_escaped_so_the_output_is_a_valid_template() -> None:
    text = 'my config is {"size": 9} and {oops, sent by jo@example.com }'

    result = masked(text)

    assert result == 'my config is {{"size": 9}} and {{oops, sent by {email} }}'
    assert slot_names(result) == ("email",)
    assert substitute(result, {"email": "ann@example.org"}) == text.replace("jo@example.com", "ann@example.org")


def test_template_syntax_already_there_is_kept_so_twice_changes_nothing() -> None:
    text = "Hi {name}, {order_id} ships to {address}; use {{code}} and {unknown} please"
    masker = Deidentifier(patterns={"order_id": r"PC-\d{6}"})

    once = masked(text, masker)

    assert once == "Hi {name}, {order_id} ships to {address}; use {{code}} and {{unknown}} please"
    assert masked(once, masker) == once
    assert slot_names(once) == ("name", "order_id", "address")


def test_placeholders_of_other_slots_are_kept_when_named() -> None:
    assert masked("Is the {product} in stock?", Deidentifier(slots=["product"])) == "Is the {product} in stock?"
    assert masked("Is the {product} in stock?") == "Is the {{product}} in stock?"


def test_marks_of_earlier_imports_become_placeholders() -> None:
    masker = Deidentifier(patterns={"order_id": r"PC-\d{6}", "member": r"M-\d{4}"})
    text = "I am [email] ([phone]), card [card], order [order_id], member [member]; see [note]"

    result = masker.deidentify(text)

    assert result.text == "I am {email} ({phone}), card {card}, order {order_id}, member {member}; see [note]"
    assert result.counts == {}  # no personal value was in the text
    assert masked("[order_id]") == "{order_id}"  # a mark of the old built-in order_id kind


# --- keep, disable, and what find returns ----------------------------------------------


def test_kept_values_stay_however_they_are_spaced_or_cased() -> None:
    masker = Deidentifier(keep=["help@shop.example", "020 7946 0958", "2 Mill Yard, Kendal LA9 6ND"])

    text = "Mail HELP@shop.example or call 02079460958; we are at 2 Mill Yard,  Kendal LA9 6ND."
    assert masked(text, masker) == text
    assert masked("or call 020 7946 0000", masker) == "or call {phone}"


def test_a_kept_value_does_not_shelter_a_longer_one_around_it() -> None:
    masker = Deidentifier(keep=["LA9 6ND"])

    assert masked("Our postcode is LA9 6ND.", masker) == "Our postcode is LA9 6ND."
    assert masked("Send it to 12 Mill Lane, Kendal LA9 6ND.", masker) == "Send it to {address}."


def test_disabled_kinds_are_not_masked() -> None:
    masker = Deidentifier(patterns={"order_id": r"PC-\d{6}"}, disable=["name", "order_id"])

    assert masked("Hi Sarah, PC-123456 is on its way to jo@example.com", masker) == (
        "Hi Sarah, PC-123456 is on its way to {email}"
    )


def test_find_gives_kind_place_and_value_in_the_original_text() -> None:
    masker = Deidentifier(patterns={"order_id": r"PC-\d{6}"})
    text = "{x} Hi Sarah Jones, PC-123456 goes to 14 Larch Road, Leeds, LS6 2QT"

    findings = masker.find(text)

    assert findings == [
        Finding("name", 7, 18, "Sarah Jones"),
        Finding("order_id", 20, 29, "PC-123456"),
        Finding("address", 38, 67, "14 Larch Road, Leeds, LS6 2QT"),
    ]
    assert all(text[f.start : f.end] == f.value for f in findings)
    assert masker.deidentify(text).findings == tuple(findings)


def test_overlaps_go_to_the_first_rule() -> None:
    # the company, street, town and postcode are one address; the e-mail wins over a name in it
    result = MASKER.deidentify("Fellwalker Design Ltd, 2 Mill Yard, Bristol BS1 6PQ; sarah.jones@example.com")

    assert result.text == "{address}; {email}"


# --- a conversation at once ---------------------------------------------------------------


def test_a_value_found_in_one_turn_is_masked_in_all_turns_of_the_conversation() -> None:
    masker = Deidentifier(patterns={"order_id": r"PC-\d{6}"})
    turns = [
        "hi it's Oona Gallagher, my card ending 7781 was charged twice",
        "Hi Oona, I've refunded the charge on 7781. Thanks, Ms Gallagher",
        "The gift was for my brother Callum Reid",
        "Re-sent to Callum Reid and Callum's inbox",
    ]

    results = masker.deidentify_all(turns)

    assert [r.text for r in results] == [
        "hi it's {name}, my card ending {card} was charged twice",
        "Hi {name}, I've refunded the charge on {card}. Thanks, {name}",
        "The gift was for my brother {name}",
        "Re-sent to {name} and {name}'s inbox",
    ]
    assert results[1].counts == {"name": 2, "card": 1}


def test_names_recur_case_sensitively_only() -> None:
    results = MASKER.deidentify_all(["I'm Will Turner", "Will it arrive? Turner said so"])

    assert [r.text for r in results] == ["I'm {name}", "{name} it arrive? {name} said so"]
    assert [r.text for r in MASKER.deidentify_all(["Dear Will,", "will it arrive?"])] == [
        "Dear {name},",
        "will it arrive?",
    ]
