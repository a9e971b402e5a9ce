"""Personal-data masking: emails, phone numbers, card numbers and order ids become placeholders.

Pure text in, text out, so past conversations can be stored and indexed without the customers'
details. What is masked, in this order (earlier kinds win where two overlap):

- ``[email]``: e-mail addresses;
- ``[order_id]``: order ids, only when the shop's pattern is configured (e.g. ``PO-\\d{6}``);
- ``[<kind>]``: each extra configured pattern, in the order given;
- ``[card]``: payment card numbers, 13 to 19 digits with optional single spaces or dashes that
  pass the Luhn check (so most long numbers that are not cards are left alone);
- ``[phone]``: phone numbers in international form (``+44 20 7946 0958``, ``0049 30 1234567``) or
  national form with a leading 0 (``020 7946 0958``, ``07700900123``) or grouped in three or more
  blocks (``(555) 123-4567``, ``1-800-555-0199``, ``555.123.4567``).

Kept as they are: prices (``£1,299.99``), quantities, years and year ranges, dates (``2024-03-15``,
``15.03.2024``), times, versions and IP addresses (``10.4.1``), postcodes (``90210-1234``), numbers
grouped like amounts (``1 000 000 000``), and numbers glued to letters or ``#``/``=`` (ids, URLs).
A bare run of digits without a leading 0 or ``+`` (``5551234567``) is not taken for a phone number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import ConfigError

EMAIL = "email"
PHONE = "phone"
CARD = "card"
ORDER_ID = "order_id"
BUILT_IN = (EMAIL, CARD, PHONE)

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?!\w)")

# Numbers must not be glued to a word, a decimal or thousands part, a date, a URL or an id.
_NOT_AFTER = r"(?<![\w+/.,=#@-])"
_NOT_BEFORE = r"(?!\w|[.,/:-]?\d)"

# Single digits with optional single separators: unambiguous, so matching stays linear.
_CARD = re.compile(_NOT_AFTER + r"[1-9](?:[ -]?\d){12,18}" + _NOT_BEFORE)

# Digit blocks joined by one separator, or by a parenthesised block: "+44 (0)20 7946 0958".
_PHONE = re.compile(_NOT_AFTER + r"(?:\+ ?)?(?:\(\d{1,5}\) ?)?\d+(?:(?:[ .-]| ?\(\d{1,5}\) ?)\d+)*" + _NOT_BEFORE)
_NANP_DOTS = re.compile(r"^\d{3}\.\d{3}\.\d{4}$")  # 555.123.4567: the only dotted form taken
_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class Masked:
    """A masked text and how many placeholders of each kind went into it."""

    text: str
    counts: Mapping[str, int]


@dataclass(frozen=True)
class Masker:
    """Replaces personal data with placeholders; see the module docstring for what is masked.

    ``order_id`` is a regular expression for the shop's order ids (``[order_id]``); ``patterns``
    maps more kinds (lowercase names) to regular expressions (``[kind]``). Patterns match whole
    words only. Raises :class:`~bot.errors.ConfigError` for a bad name or pattern.
    """

    order_id: str | None = None
    patterns: Mapping[str, str] = field(default_factory=dict)
    _custom: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        custom = [(ORDER_ID, self.order_id)] if self.order_id is not None else []
        custom.extend(self.patterns.items())
        object.__setattr__(self, "_custom", tuple((kind, compile_pattern(kind, rx)) for kind, rx in custom))

    def mask(self, text: str) -> Masked:
        counts: Counter[str] = Counter()

        def replace(kind: str, pattern: re.Pattern[str], text: str) -> str:
            def placeholder(match: re.Match[str]) -> str:
                counts[kind] += 1
                return f"[{kind}]"

            return pattern.sub(placeholder, text)

        text = replace(EMAIL, _EMAIL, text)
        for kind, pattern in self._custom:
            text = replace(kind, pattern, text)
        text = _CARD.sub(lambda m: _mask_card(m.group(), counts), text)
        text = _PHONE.sub(lambda m: _mask_phone(m.group(), counts), text)
        return Masked(text, dict(counts))


def compile_pattern(kind: str, regex: object) -> re.Pattern[str]:
    """Check one configured ``kind: regex`` and compile it to match whole words only."""
    if not isinstance(kind, str) or not KIND_NAME.match(kind):
        raise ConfigError(
            f"masking kind {kind!r} is invalid: use lowercase letters, digits and underscores, starting with a letter"
        )
    if kind in BUILT_IN:
        raise ConfigError(f"`{kind}` is masked already (built in); remove it or give your pattern another name")
    if not isinstance(regex, str) or not regex.strip():
        raise ConfigError(f"masking pattern `{kind}` must be a non-empty regular expression, e.g. 'PO-\\d{{6}}'")
    try:
        pattern = re.compile(rf"(?<!\w)(?:{regex})(?!\w)")
    except re.error as exc:
        raise ConfigError(f"masking pattern `{kind}` is not a valid regular expression ({exc}); fix it") from exc
    if pattern.fullmatch(""):
        raise ConfigError(f"masking pattern `{kind}` matches empty text; make it match at least one character")
    return pattern


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of payment card numbers (``digits`` holds digits only)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_card(candidate: str, counts: Counter[str]) -> str:
    """Mask the longest Luhn-valid card number at the start of ``candidate`` (a CVV may follow it)."""
    cuts = [len(candidate)] + [i for i in range(len(candidate) - 1, 0, -1) if candidate[i] in " -"]
    for cut in cuts:
        digits = re.sub(r"\D", "", candidate[:cut])
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            counts[CARD] += 1
            return f"[{CARD}]{candidate[cut:]}"
    return candidate


def _mask_phone(candidate: str, counts: Counter[str]) -> str:
    if _is_phone(candidate):
        counts[PHONE] += 1
        return f"[{PHONE}]"
    return candidate


def _is_phone(candidate: str) -> bool:
    blocks = re.findall(r"\d+", candidate)
    digits = "".join(blocks)
    if "." in candidate:
        return bool(_NANP_DOTS.match(candidate))
    if candidate.startswith("+") or re.match(r"00[1-9]", digits):
        national = digits[2:] if not candidate.startswith("+") else digits
        return 8 <= len(national) <= 15
    if digits.startswith("0"):
        return 9 <= len(digits) <= 12
    if len(blocks) < 3 or not 9 <= len(digits) <= 12:
        return False
    if all(_YEAR.match(block) for block in blocks):
        return False  # "2019 2020 2021"
    amount = " " in candidate and "-" not in candidate and "(" not in candidate
    return not (amount and len(blocks[0]) <= 3 and all(len(block) == 3 for block in blocks[1:]))
