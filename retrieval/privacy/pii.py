"""The rules that find personal values in text: each returns :class:`Finding` spans of one kind.

Pure functions over the original text; :class:`~retrieval.privacy.masking.Deidentifier` runs them,
settles overlaps and writes the placeholders. What each kind takes (and what it leaves):

- ``email``: e-mail addresses.
- ``phone``: international (``+44 20 7946 0958``, ``0049 30 1234567``), national with a leading 0
  (``020 7946 0958``, ``07700900123``) or three or more blocks (``(555) 123-4567``,
  ``555.123.4567``). Not prices, quantities, years, dates, times, versions, IP addresses, numbers
  grouped like amounts (``1 000 000``) or glued to letters, ``#`` or ``=``, nor a bare digit run
  without a leading 0 or ``+``.
- ``card``: 13 to 19 digits with optional single spaces or dashes that pass the Luhn check (a
  security code after it is left) or follow the word "card", and the last four digits after
  "card ending".
- ``account``: IBANs that pass their check digits (python-stdnum), UK sort codes and the account
  number beside them, and numbers after a cue: "account (number|no) ...", "membership number",
  "customer number"...
- ``postcode``: UK postcodes (``LS6 2QT``, ``SW1A 1AA``), a US ZIP code after a state
  (``TX 78701``), and any code after "postcode", "post code", "zip" or "postal code".
- ``address``: a street line (a house number, or a flat or unit, then capitalised words ending in
  a street type: ``221B Baker Street``, ``Flat 3, 12 High St``, ``Unit 6, Tannery Court``), with
  the town, county and postcode after it and a company name ("... Ltd") before it, as one value.
  Also ``PO Box 123``.
- configured kinds: a regular expression per kind, matched on whole words (:func:`compile_pattern`).

Person names are found by :mod:`retrieval.privacy.names`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stdnum import iban

from bot.errors import ConfigError
from kb.languages.segmentation import IDEOGRAPHIC, NOT_AFTER, NOT_BEFORE, SPACED_WORD

EMAIL = "email"
PHONE = "phone"
CARD = "card"
ACCOUNT = "account"
POSTCODE = "postcode"
ADDRESS = "address"
NAME = "name"
ORDER_ID = "order_id"
BUILT_IN = (EMAIL, PHONE, CARD, ACCOUNT, POSTCODE, ADDRESS, NAME)

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Finding:
    """A personal value: ``value`` is ``text[start:end]`` of the original text, of type ``kind``."""

    kind: str
    start: int
    end: int
    value: str


def compile_pattern(kind: str, regex: object) -> re.Pattern[str]:
    """Check the regular expression configured for ``kind`` and compile it to match whole words only.

    Raises :class:`~bot.errors.ConfigError` saying what to fix.
    """
    if not isinstance(regex, str) or not regex.strip():
        raise ConfigError(f"masking pattern `{kind}` must be a non-empty regular expression, e.g. 'PO-\\d{{6}}'")
    try:
        pattern = re.compile(rf"{NOT_AFTER}(?:{regex}){NOT_BEFORE}")
    except re.error as exc:
        raise ConfigError(f"masking pattern `{kind}` is not a valid regular expression ({exc}); fix it") from exc
    if pattern.fullmatch(""):
        raise ConfigError(f"masking pattern `{kind}` matches empty text; make it match at least one character")
    return pattern


def whole_word(value: str) -> str:
    """A regular expression for ``value`` as a whole: ``PC-123`` is not in ``PC-1234``."""
    return rf"(?<!\w){re.escape(value)}(?!\w)"


def occurs(value: str, text: str) -> bool:
    """Whether ``value`` occurs in ``text`` as a whole, case aside."""
    return re.search(whole_word(value), text, flags=re.IGNORECASE) is not None


def find_pattern(kind: str, pattern: re.Pattern[str], text: str) -> Iterator[Finding]:
    for match in pattern.finditer(text):
        if match.end() > match.start():
            yield Finding(kind, match.start(), match.end(), match.group())


# --- e-mail addresses ----------------------------------------------------------------------

_W = SPACED_WORD  # a word character that is not an ideograph: "邮箱abc@x.com谢谢" holds abc@x.com
_EMAIL = re.compile(
    rf"(?<!{_W}|[.%+-])(?:{_W}|[.%+-])+@(?:{_W}|-)+(?:\.(?:{_W}|-)+)*\.[^\W\d_{IDEOGRAPHIC}]{{2,}}(?!{_W})"
)


def find_emails(text: str) -> Iterator[Finding]:
    return find_pattern(EMAIL, _EMAIL, text)


# --- phone numbers and payment cards -----------------------------------------------------

# Numbers must not be glued to a word, a decimal or thousands part, a date, a URL or an id.
_NOT_AFTER = rf"(?<!{SPACED_WORD}|[+/.,=#@-])"  # an ideograph is an edge: 电话13812345678
_NOT_BEFORE = rf"(?!{SPACED_WORD}|[.,/:-]?\d)"
# Single digits with optional single separators: unambiguous, so matching stays linear.
_CARD = re.compile(_NOT_AFTER + r"[1-9](?:[ -]?\d){12,18}" + _NOT_BEFORE)
# after "card": a card-shaped number even when it fails the Luhn check (a typo is still someone's card)
_CARD_CUE = re.compile(r"(?i:\bcard(?:\s+(?:number|no\.?))?(?:\s+(?:is|was))?\s*:?\s*)((?:\d[ -]?){12,18}\d)(?![\w-])")
_CARD_ENDING = re.compile(
    r"(?i:\b(?:card|visa|mastercard|amex|debit card|credit card)\s+(?:number\s+)?ending(?:\s+in|\s+with)?:?\s+)(\d{4})\b"
)
# Digit blocks joined by one separator, or by a parenthesised block: "+44 (0)20 7946 0958".
_PHONE = re.compile(_NOT_AFTER + r"(?:\+ ?)?(?:\(\d{1,5}\) ?)?\d+(?:(?:[ .-]| ?\(\d{1,5}\) ?)\d+)*" + _NOT_BEFORE)
_NANP_DOTS = re.compile(r"^\d{3}\.\d{3}\.\d{4}$")  # 555.123.4567: the only dotted form taken
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def find_cards(text: str) -> Iterator[Finding]:
    for match in _CARD.finditer(text):
        cut = _card_length(match.group())
        if cut:
            yield Finding(CARD, match.start(), match.start() + cut, match.group()[:cut])
    for pattern in (_CARD_CUE, _CARD_ENDING):
        for match in pattern.finditer(text):
            yield Finding(CARD, match.start(1), match.end(1), match.group(1))


def find_phones(text: str) -> Iterator[Finding]:
    for match in _PHONE.finditer(text):
        if _is_phone(match.group()):
            yield Finding(PHONE, match.start(), match.end(), match.group())


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of payment card numbers (``digits`` holds digits only)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_length(candidate: str) -> int:
    """The length of the longest Luhn-valid card number at the start of ``candidate`` (0: none)."""
    cuts = [len(candidate)] + [i for i in range(len(candidate) - 1, 0, -1) if candidate[i] in " -"]
    for cut in cuts:
        digits = re.sub(r"\D", "", candidate[:cut])
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return cut
    return 0


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


# --- bank accounts and customer numbers --------------------------------------------------

_IBAN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w-])")
_SORT_CODE = r"\d{2}[- ]\d{2}[- ]\d{2}"
_SORT_CODE_CUE = re.compile(rf"(?i:\bsort[ -]?code)(?:\s*(?:is|:|-))?\s*({_SORT_CODE}|\d{{6}})\b")
_SORT_AND_ACCOUNT = re.compile(rf"(?<![\w-]){_SORT_CODE}[ ,]+\d{{8}}(?![\w-])")
_ACCOUNT_CUE = re.compile(
    r"(?i:\b(?:(?:bank|savings|current|customer|member|membership|loyalty(?: card)?|client)\s+)?"
    r"(?:account|acct|a/c|membership|member|customer|loyalty card|client)\s*"
    r"(?:number|no\.?|num|#|id|ref(?:erence)?)(?:(?:\s+[a-z]+){0,3}\s+(?:is|was))?\s*[:#-]?\s*)"
    r"(?=[A-Za-z0-9-]*\d)([A-Za-z0-9][A-Za-z0-9-]{3,23})(?![\w-])"
)
_ACCOUNT_BARE = re.compile(r"(?i:\b(?:bank\s+)?(?:account|acct|a/c)(?:\s+(?:is|was))?\s*:?\s*)(\d{6,12})(?![\w-])")


def find_accounts(text: str) -> Iterator[Finding]:
    for match in _IBAN.finditer(text):
        value = _valid_iban_prefix(match.group())
        if value:
            yield Finding(ACCOUNT, match.start(), match.start() + len(value), value)
    for match in _SORT_AND_ACCOUNT.finditer(text):
        yield Finding(ACCOUNT, match.start(), match.end(), match.group())
    for pattern in (_SORT_CODE_CUE, _ACCOUNT_CUE, _ACCOUNT_BARE):
        for match in pattern.finditer(text):
            if sum(char.isdigit() for char in match.group(1)) >= 4:
                yield Finding(ACCOUNT, match.start(1), match.end(1), match.group(1))


def _valid_iban_prefix(candidate: str) -> str:
    """The longest prefix of ``candidate`` (whole groups) that is a valid IBAN, or ``""``."""
    groups = candidate.split(" ") if " " in candidate else [candidate]
    for count in range(len(groups), 0, -1):
        value = " ".join(groups[:count])
        if len(value.replace(" ", "")) >= 15 and iban.is_valid(value):
            return value
    return ""


# --- postcodes and addresses ---------------------------------------------------------------

_UK_POSTCODE = r"(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}|(?i:[a-z]{1,2}\d[a-z\d]? \d[abd-hjlnp-uw-z]{2}))"
_US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
)
_US_STATE_ZIP = rf"(?:{'|'.join(_US_STATES.split())})\.?,? +(\d{{5}}(?:-\d{{4}})?)"
_POSTCODE_UK = re.compile(rf"(?<![\w-]){_UK_POSTCODE}(?![\w-])")
_POSTCODE_US = re.compile(rf"(?<![\w-]){_US_STATE_ZIP}(?![\w-])")
_POSTCODE_CUE = re.compile(
    r"(?i:\b(?:post ?code|postal code|zip(?: ?code)?|eircode|plz)(?:\s+(?:is|was))?\s*[:-]?\s*)"
    r"(?=[A-Za-z0-9 -]*\d)([A-Za-z0-9]{2,8}(?:[ -][A-Za-z0-9]{2,4})?)(?![\w-])"
)

_STREET_TYPES = (
    "Road Rd Street St Lane Ln Avenue Ave Av Yard Close Cl Drive Dr Way Court Ct Place Pl Crescent Cres "
    "Gardens Gdns Terrace Terr Tce Grove Gr Square Sq Hill Row Mews Walk Park Parade Pde Green Rise View "
    "Boulevard Blvd Highway Hwy Wharf Quay Gate Circus Vale Wynd Brow Fold Croft Parkway Pkwy Trail Path "
    "Common End Bank Passage Approach Embankment Meadow Meadows Heights Chase Lea Broadway Alley Plaza Circle "
    "Cir Pike Causeway Crossing Loop Ridge Side Hollow Orchard Cottages Buildings Estate"
)
_TYPE = rf"(?:{'|'.join(_STREET_TYPES.split())}|{'|'.join(t.lower() for t in _STREET_TYPES.split() if len(t) > 3)})\.?"
_NAME_WORD = r"(?:[A-Z][A-Za-z'’-]*\.?|of|the|upon|on)"
_HOUSE = r"\d{1,4}[A-Za-z]?(?:[-–/]\d{1,4}[A-Za-z]?)?"
_UNIT = r"(?:Flat|Apartment|Apt|Unit|Suite|Room)\.? ?\d{1,4}[A-Za-z]?"
_DIRECTION = r"(?: (?:N|S|E|W|NE|NW|SE|SW)\b)?"
_STREET = re.compile(
    rf"(?<![\w-])(?:{_UNIT},? +(?:{_HOUSE},? +)?|{_HOUSE},? +)"
    rf"(?:{_NAME_WORD} ){{0,3}}[A-Z][A-Za-z'’-]* {_TYPE}{_DIRECTION}(?![\w-])"
)
# in lower case ("14 larch road"), a street line counts only with a postcode after it
_STREET_LOWER = re.compile(
    rf"(?<![\w-])(?:{_HOUSE},? +)(?:[a-z][a-z'’-]* ){{1,3}}(?:{'|'.join(t.lower() for t in _STREET_TYPES.split() if len(t) > 3)})"
    rf"(?![\w-])"
)
_PO_BOX = re.compile(r"(?<![\w-])(?i:P\.? ?O\.? Box) \d{1,6}(?![\w-])")
_TOWN = r"[A-Z][A-Za-z'’-]+(?!\w)(?:[ -](?:upon |on |under |in |le |by )?[A-Z][A-Za-z'’-]+(?!\w)){0,2}"
_TOWN_PART = re.compile(rf",? *\n? *({_TOWN})")
_TOWN_WORD_PART = re.compile(r",? *\n? *([A-Za-z][A-Za-z'’-]+)(?!\w)")  # for lower-case addresses: one word a part
_POSTCODE_PART = re.compile(rf",? *\n? *(?:{_UK_POSTCODE}|{_US_STATE_ZIP})(?![\w-])")
_COMPANY_BEFORE = re.compile(r"(?:[A-Z][\w&'’.-]*[ ]){1,4}(?:Ltd|Limited|LLP|PLC|plc|Inc|LLC|GmbH|Co)\.?,?[ ]*\n?[ ]*$")
_CLAUSE_END = re.compile(r"\s*(?:$|[.,;!?\n)])")
# capitalised words after a street line that start the next sentence, not a town
_NOT_TOWNS = frozenset(
    {"Thanks", "Thank", "Please", "Cheers", "Regards", "Best", "Kind", "Many", "Sorry", "Hi", "Hello", "Dear"}
    | {"I", "It", "The", "Is", "Can"}
)


def find_postcodes(text: str) -> Iterator[Finding]:
    spans = {match.span() for match in _POSTCODE_UK.finditer(text)}
    for pattern in (_POSTCODE_US, _POSTCODE_CUE):
        spans.update(m.span(1) for m in pattern.finditer(text) if any(char.isdigit() for char in m.group(1)))
    for start, end in sorted(spans):
        yield Finding(POSTCODE, start, end, text[start:end])


def find_addresses(text: str) -> Iterator[Finding]:
    for pattern in (_STREET, _STREET_LOWER, _PO_BOX):
        for match in pattern.finditer(text):
            lower = pattern is _STREET_LOWER
            start, (end, postcode) = match.start(), _address_end(text, match.end(), lower=lower)
            if lower and not postcode:
                continue
            company = _COMPANY_BEFORE.search(text, max(0, start - 120), start)
            if company is not None:
                start = company.start()
            yield Finding(ADDRESS, start, end, text[start:end])


def _address_end(text: str, end: int, *, lower: bool = False) -> tuple[int, bool]:
    """Where an address whose street line ends at ``end`` ends, after its town and postcode; and
    whether it has a postcode.

    Up to three town or county parts are taken when a postcode follows them; without one, only a
    single town that ends the sentence or the clause (``14 Larch Road, Leeds.``). With ``lower``,
    town words may be in lower case.
    """
    position, towns = end, []
    town_part = _TOWN_WORD_PART if lower else _TOWN_PART
    for _ in range(3):
        postcode = _POSTCODE_PART.match(text, position)
        if postcode is not None:
            return postcode.end(), True
        town = town_part.match(text, position)
        if town is None or town.group(1).split()[0] in _NOT_TOWNS:
            break
        towns.append(town.end())
        position = town.end()
    if towns and text[end] == "," and _CLAUSE_END.match(text, towns[0]):
        return towns[0], False
    return end, False
