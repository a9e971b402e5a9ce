"""retrieval.masking: personal data becomes placeholders; prices, dates, quantities and ids survive."""

from __future__ import annotations

import time

import pytest

from bot.errors import ConfigError
from retrieval.masking import Masker, luhn_valid

MASKER = Masker()


def masked(text: str, masker: Masker = MASKER) -> str:
    return masker.mask(text).text


# --- e-mail addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.com please", "write to [email] please"),
        ("Mail: J.Smith+orders@Shop.Example.co.uk.", "Mail: [email]."),
        ("<tom_99@mail-server.example.org>", "<[email]>"),
        ("a@b.io and c@d.io", "[email] and [email]"),
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
    result = MASKER.mask(f"call me on {phone} after six")

    assert result.text == "call me on [phone] after six"
    assert result.counts == {"phone": 1}


def test_phone_at_the_edges_of_a_sentence() -> None:
    assert masked("020 7946 0958") == "[phone]"
    assert masked("My number is 07700 900123.") == "My number is [phone]."
    assert masked("tel:+44 20 7946 0958, mobile 07700900123") == "tel:[phone], mobile [phone]"


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
        # versions, IP addresses, postcodes
        "app version 10.4.1 (build 1.2.3.4567)",
        "server 192.168.100.200",
        "ZIP 90210-1234, London SW1A 1AA, 10115 Berlin, 1012 AB Amsterdam",
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
    result = MASKER.mask(f"my card is {card}, thanks")

    assert result.text == "my card is [card], thanks"
    assert result.counts == {"card": 1}


def test_card_followed_by_a_security_code_is_still_masked() -> None:
    assert masked("4111 1111 1111 1111 123") == "[card] 123"


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
    assert masked(text, Masker(order_id=r"PO-\d{6}")) == "where is [order_id]?"


def test_order_id_pattern_matches_whole_words_only() -> None:
    masker = Masker(order_id=r"PO-\d{6}")

    assert masked("PO-1234567 and XPO-123456", masker) == "PO-1234567 and XPO-123456"
    assert masked("(PO-123456), PO-654321.", masker) == "([order_id]), [order_id]."


def test_extra_patterns_get_their_own_placeholders() -> None:
    masker = Masker(order_id=r"PO-\d{6}", patterns={"iban": r"GB\d\d ?[A-Z]{4}(?: ?\d{2,4}){3,5}"})

    result = masker.mask("refund PO-123456 to GB29 NWBK 6016 1331 9268 19 or jo@example.com")

    assert result.text == "refund [order_id] to [iban] or [email]"
    assert result.counts == {"email": 1, "order_id": 1, "iban": 1}


def test_order_ids_win_over_phone_numbers() -> None:
    masker = Masker(order_id=r"\d{3}-\d{3}-\d{4}")

    assert masked("order 555-123-4567", masker) == "order [order_id]"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order_id": "PO-(\\d{6}"}, "not a valid regular expression"),
        ({"order_id": ""}, "non-empty regular expression"),
        ({"order_id": "\\d*"}, "matches empty text"),
        ({"patterns": {"phone": "\\d+"}}, "built in"),
        ({"patterns": {"Member ID": "M\\d+"}}, "lowercase letters"),
    ],
)
def test_bad_configuration_says_what_to_fix(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Masker(**kwargs)  # type: ignore[arg-type]


# --- the result ---------------------------------------------------------------------------


def test_counts_by_kind_and_untouched_text() -> None:
    result = MASKER.mask("jo@example.com, 020 7946 0958, +1 555 123 4567 and 4111 1111 1111 1111")

    assert result.text == "[email], [phone], [phone] and [card]"
    assert result.counts == {"email": 1, "phone": 2, "card": 1}
    assert MASKER.mask("nothing personal here").counts == {}


def test_masking_is_idempotent() -> None:
    once = masked("jo@example.com 020 7946 0958 4111 1111 1111 1111")

    assert masked(once) == once


def test_long_digit_runs_stay_fast() -> None:
    text = ("1 2-3." * 5000) + "x" + "9" * 20000
    start = time.perf_counter()
    MASKER.mask(text)
    assert time.perf_counter() - start < 1.0
