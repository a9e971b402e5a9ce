"""retrieval.privacy.pii: accounts, postcodes, addresses and card cues (e-mails, phones and cards: test_masking.py)."""

from __future__ import annotations

import pytest

from retrieval.privacy.masking import Deidentifier
from retrieval.privacy.pii import find_accounts, find_addresses, find_postcodes

MASKER = Deidentifier()


def masked(text: str) -> str:
    return MASKER.deidentify(text).text


# --- bank accounts and customer numbers --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My IBAN is GB82 WEST 1234 5698 7654 32, please", "My IBAN is {account}, please"),
        ("IBAN: GB82WEST12345698765432.", "IBAN: {account}."),
        ("DE89 3704 0044 0532 0130 00 is mine", "{account} is mine"),
        ("sort code 20-00-00, account 31926819", "sort code {account}, account {account}"),
        ("my account is 31926819 sort code 20-00-00", "my account is {account} sort code {account}"),
        ("pay 20-00-00 31926819 today", "pay {account} today"),
        ("my account number with you is 55120894 and", "my account number with you is {account} and"),
        ("Account no. 12345678", "Account no. {account}"),
        ("membership number M-00912", "membership number {account}"),
        ("customer number: C88123", "customer number: {account}"),
    ],
)
def test_accounts_are_masked(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GB82 WEST 1234 5698 7654 33 fails its check digits",
        "log in to your account 2 days after ordering",
        "the account page lists 3 orders",
        "customer number one, our reply time",
        "order PC-483920 and ticket #0123456789",
    ],
)
def test_things_that_are_not_accounts_survive(text: str) -> None:
    assert list(find_accounts(text)) == []


# --- postcodes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Bristol BS1 6PQ", "BS1 6PQ"),
        ("in LS6 2QT now", "LS6 2QT"),
        ("ZZ9 9ZZ", "ZZ9 9ZZ"),
        ("London SW1A 1AA.", "SW1A 1AA"),
        ("postcode ls6 2qt", "ls6 2qt"),
        ("postcode BS16PQ", "BS16PQ"),
        ("Austin, TX 78701", "78701"),
        ("ZIP 90210-1234", "90210-1234"),
        ("my postcode is 1012 AB", "1012 AB"),
        ("Postal code: 10115.", "10115"),
        ("zip code 02139", "02139"),
    ],
)
def test_postcodes_are_found(text: str, value: str) -> None:
    assert [f.value for f in find_postcodes(text)] == [value]
    assert masked(text) == text.replace(value, "{postcode}")


@pytest.mark.parametrize(
    "text",
    [
        "90210 people, 10115 Berlin, 1012 AB Amsterdam",  # numbers without a cue or a state
        "the postcode is in the email",
        "size UK 9, EU 43",
        "order PC-483920",
        "an MP3 player and a 4K TV",
    ],
)
def test_numbers_without_a_postcode_cue_survive(text: str) -> None:
    assert list(find_postcodes(text)) == []


# --- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("deliver to 2 Mill Yard please", "2 Mill Yard"),
        ("it should go to 14 Larch Road, Leeds, LS6 2QT", "14 Larch Road, Leeds, LS6 2QT"),
        ("221B Baker Street", "221B Baker Street"),
        ("Flat 3, 12 High St, London.", "Flat 3, 12 High St, London"),
        ("at Unit 6, Tannery Court, Leeds LS2 7EY today", "Unit 6, Tannery Court, Leeds LS2 7EY"),
        ("Fellwalker Design Ltd, 2 Mill Yard, Bristol BS1 6PQ", "Fellwalker Design Ltd, 2 Mill Yard, Bristol BS1 6PQ"),
        ("27 Wren Street, Norwich NR2 4PL", "27 Wren Street, Norwich NR2 4PL"),
        ("1600 Pennsylvania Avenue NW, Washington, DC 20500", "1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ("to 8 Hollin Lane, Kendal, Cumbria LA9 7NS on Thursday", "8 Hollin Lane, Kendal, Cumbria LA9 7NS"),
        ("send it to 14 larch road, leeds ls6 2qt", "14 larch road, leeds ls6 2qt"),
        ("Write to PO Box 123, Leeds LS1 1AA", "PO Box 123, Leeds LS1 1AA"),
        ("at 2 Mill Yard, Thanks", "2 Mill Yard"),
    ],
)
def test_addresses_are_one_value_with_their_town_and_postcode(text: str, value: str) -> None:
    assert [f.value for f in find_addresses(text)] == [value]
    assert masked(text) == text.replace(value, "{address}")


@pytest.mark.parametrize(
    "text",
    [
        "I ordered 2 Alpine Down Jackets",
        "we walked 5 miles down the road",
        "send 14 larch road maps",  # lower case without a postcode
        "the Basecamp 4 tent and 3 Trail Runner shoes",
        "Account > Orders > Edit delivery address",
    ],
)
def test_things_that_are_not_addresses_survive(text: str) -> None:
    assert list(find_addresses(text)) == []


def test_a_standalone_postcode_is_a_postcode_and_one_after_a_street_is_part_of_the_address() -> None:
    assert masked("Is LS6 2QT in your delivery area?") == "Is {postcode} in your delivery area?"
    assert masked("14 Larch Road, Leeds LS6 2QT") == "{address}"


# --- card cues -----------------------------------------------------------------------------


def test_a_card_number_after_the_word_card_is_masked_even_without_a_valid_checksum() -> None:
    assert masked("my card 4929 1203 5566 7781 was charged twice") == "my card {card} was charged twice"
    assert masked("reference 4929 1203 5566 7781") == "reference 4929 1203 5566 7781"


def test_the_last_digits_of_a_card_are_masked_after_card_ending() -> None:
    assert masked("the card ending 7781 and your Mastercard ending in 4471.") == (
        "the card ending {card} and your Mastercard ending in {card}."
    )
