"""De-identification: every personal value in a text becomes a typed ``{placeholder}``.

Past conversations are knowledge for the bot, but they hold their customers' order numbers,
addresses and names; sent on as they are, customer A would read customer B's. So every text that
comes from a customer or an agent is de-identified before it is stored or indexed: when the KB is
built (kb/build.py: dialogue turns and approved pairs), on ``kb import`` (kb/importer.py) and when
an agent's answer is kept as a candidate (bot/service/candidates.py). The KB's own texts (templates, FAQ
answers) are not: what they hold is the shop's own (``deskmate kb validate`` warns when it looks
like a customer's, see kb/masking.py).

The output is in the KB's template syntax (kb/placeholders.py), so it passes ``slot_names`` and
a reply can be filled with the present customer's values with ``substitute``::

    found (first rule wins where two overlap)          becomes
    e-mail addresses                                   {email}
    values of the KB's pattern entities (entities.yml) {<entity>}, e.g. {order_id}
    kinds configured in kb.yml's masking:              {<kind>}
    IBANs, sort codes, account and customer numbers    {account}
    payment card numbers                               {card}
    postal addresses (street line, town, postcode)     {address}
    postcodes on their own                             {postcode}
    phone numbers                                      {phone}
    person names                                       {name}

The rules are in retrieval/privacy/pii.py and retrieval/privacy/names.py (where the name recogniser's choice is
measured). Lookup entities (product lists) are not personal data and stay. ``keep`` holds the
shop's own values: a value equal to one of them (case, spaces and punctuation aside) or inside
one where it is written stays; :func:`kb.masking.load_deidentifier` adds every value found in the KB's own
texts (its support e-mail, the example order number of its fallback message...). Kinds in
``disable`` are not masked at all.

A literal ``{`` or ``}`` of the text becomes ``{{`` or ``}}``. What is template syntax already,
``{{``, ``}}`` and ``{kind}`` of a kind this de-identifier writes (or of ``slots``), stays as it
is, and the marks of earlier imports (``[email]``, ``[order_id]``...) become ``{email}``... So
de-identifying twice changes nothing, and texts imported earlier can be de-identified again at
build time. :meth:`Deidentifier.find` gives the values found, with their places in the original
text, for tools that look for leaks.

A conversation is de-identified at once (:meth:`Deidentifier.deidentify_all`): a value found in
one of its texts is masked wherever it recurs in the others, a name also word by word, since
"Hi Oona" two turns after "my name is Oona Gallagher" has no cue of its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bot.errors import ConfigError
from kb.languages.segmentation import NOT_AFTER, NOT_BEFORE
from kb.placeholders import escape
from retrieval.privacy import pii
from retrieval.privacy.name_words import PLACE_WORDS
from retrieval.privacy.name_words import STOP as NAME_STOP
from retrieval.privacy.name_words import TITLES as NAME_TITLES
from retrieval.privacy.names import NameRecogniser
from retrieval.privacy.pii import ACCOUNT, ADDRESS, BUILT_IN, CARD, EMAIL, NAME, ORDER_ID, PHONE, POSTCODE, Finding

LEGACY_KINDS = (EMAIL, PHONE, CARD, ORDER_ID)  # written as [kind] by imports before placeholders
_SLOT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SURNAME = re.compile(r" ([A-Z][a-z][\w'’-]*)(?!\w)")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]{0,63})\}|\[([a-z][a-z0-9_]{0,31})\]")


@dataclass(frozen=True)
class Deidentified:
    """A de-identified text, the values replaced (in the original text) and their counts by kind."""

    text: str
    counts: Mapping[str, int]
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Deidentifier:
    """Replaces personal values with ``{kind}`` placeholders; see the module docstring.

    ``patterns`` maps more kinds (placeholder names) to regular expressions matched on whole words,
    e.g. ``{"order_id": r"PO-\\d{6}"}``; a kind may be a built-in one, adding to its rules.
    ``keep`` are values that stay, ``disable`` kinds that are not masked, ``slots`` more
    placeholder names left as they are, ``known_words`` words that are never names (casefolded).
    Raises :class:`~bot.errors.ConfigError` for a bad kind or pattern.
    """

    patterns: Mapping[str, str] = field(default_factory=dict)
    keep: Collection[str] = ()
    disable: Collection[str] = ()
    slots: Collection[str] = ()
    known_words: Collection[str] = frozenset()
    _rules: tuple[tuple[str, Callable[[str], Iterable[Finding]]], ...] = field(init=False, repr=False, compare=False)
    _kept: frozenset[str] = field(init=False, repr=False, compare=False)
    _kept_spans: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _kinds: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", dict(self.patterns))
        for name in ("keep", "disable", "slots"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "known_words", frozenset(self.known_words))
        custom: list[tuple[str, Callable[[str], Iterable[Finding]]]] = []
        for kind, regex in self.patterns.items():
            if not isinstance(kind, str) or not _SLOT.match(kind):
                raise ConfigError(
                    f"masking kind {kind!r} is invalid: a placeholder name is letters, digits and underscores, "
                    "not starting with a digit"
                )
            custom.append((kind, _pattern_rule(kind, pii.compile_pattern(kind, regex))))
        unknown = sorted(set(self.disable) - set(BUILT_IN) - set(self.patterns))
        if unknown:
            allowed = ", ".join((*BUILT_IN, *self.patterns))
            raise ConfigError(f"cannot disable unknown kind(s) {', '.join(unknown)}; use one of {allowed}")
        names = NameRecogniser(known_words=frozenset(self.known_words))
        rules = [
            (EMAIL, pii.find_emails),
            *custom,
            (ACCOUNT, pii.find_accounts),
            (CARD, pii.find_cards),
            (ADDRESS, pii.find_addresses),
            (POSTCODE, pii.find_postcodes),
            (PHONE, pii.find_phones),
            (NAME, lambda text: (Finding(NAME, s, e, text[s:e]) for s, e in names.find(text))),
        ]
        kept = [value for value in self.keep if value.strip()]
        object.__setattr__(self, "_rules", tuple((k, r) for k, r in rules if k not in self.disable))
        object.__setattr__(self, "_kept", frozenset(_normal(value) for value in kept))
        object.__setattr__(self, "_kept_spans", _whole_words(kept, re.IGNORECASE) if kept else None)
        object.__setattr__(self, "_kinds", frozenset((*BUILT_IN, *self.patterns, *self.slots)))

    def find(self, text: str) -> list[Finding]:
        """The personal values of ``text``, in order, not overlapping (kept values left out)."""
        return self._find(text, list(self._template_tokens(text)))

    def deidentify(self, text: str) -> Deidentified:
        """``text`` with each personal value replaced by ``{kind}`` and literal braces doubled."""
        return self.deidentify_all([text])[0]

    def deidentify_all(self, texts: Sequence[str]) -> list[Deidentified]:
        """The texts of one conversation de-identified together: a value found in one is masked in all.

        "my name is Oona Gallagher" tells that "Oona" and "Gallagher" are names, and an order number or
        the last digits of a card may be quoted again where no rule would see them. Each word of a
        name counts on its own too (case-sensitive; other values case-insensitive).
        """
        tokens = [list(self._template_tokens(text)) for text in texts]
        findings = [self._find(text, spans) for text, spans in zip(texts, tokens, strict=True)]
        recurrences = _recurrences(f for found in findings for f in found)
        if recurrences is not None:
            for index, text in enumerate(texts):
                again = list(recurrences(text))
                findings[index] = self._find(text, tokens[index], known=findings[index], again=again)
        return [_rewrite(text, found, spans) for text, found, spans in zip(texts, findings, tokens, strict=True)]

    def _find(
        self,
        text: str,
        tokens: list[tuple[int, int, str]],
        *,
        known: list[Finding] | None = None,
        again: Iterable[Finding] = (),
    ) -> list[Finding]:
        """The findings of the rules (or ``known`` ones), then those of ``again`` that fit in between."""
        taken = [(start, end) for start, end, _ in tokens]
        kept = [m.span() for m in self._kept_spans.finditer(text)] if self._kept_spans is not None else []
        found: list[Finding] = []
        rules = [lambda _: known] if known is not None else [rule for _, rule in self._rules]
        for rule in [*rules, lambda _: again]:
            for finding in sorted(rule(text), key=lambda f: (f.start, f.start - f.end)):
                overlaps = any(finding.start < end and start < finding.end for start, end in taken)
                inside_kept = any(start <= finding.start and finding.end <= end for start, end in kept)
                if overlaps or inside_kept or _normal(finding.value) in self._kept or finding.kind in self.disable:
                    continue
                taken.append((finding.start, finding.end))
                found.append(finding)
        return sorted(found, key=lambda f: f.start)

    def _template_tokens(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Template syntax already in ``text`` (kept as it is) and legacy ``[kind]`` marks (made ``{kind}``)."""
        legacy = {*LEGACY_KINDS, *self.patterns}
        for match in _TEMPLATE.finditer(text):
            slot, mark = match.group(1), match.group(2)
            if (slot is None and mark is None) or (slot is not None and slot in self._kinds):
                yield match.start(), match.end(), match.group()
            elif mark is not None and mark in legacy:
                yield match.start(), match.end(), "{" + mark + "}"


def _rewrite(text: str, findings: list[Finding], tokens: list[tuple[int, int, str]]) -> Deidentified:
    """``text`` with the findings made ``{kind}``, the template tokens as given and other braces doubled."""
    edits = sorted([(f.start, f.end, "{" + f.kind + "}") for f in findings] + tokens)
    pieces: list[str] = []
    position = 0
    for start, end, replacement in edits:
        pieces.append(escape(text[position:start]))
        pieces.append(replacement)
        position = end
    pieces.append(escape(text[position:]))
    return Deidentified("".join(pieces), dict(Counter(f.kind for f in findings)), tuple(findings))


def _recurrences(findings: Iterable[Finding]) -> Callable[[str], Iterator[Finding]] | None:
    """Where the values of ``findings`` occur again in a text (None when there are none).

    Names count word by word as well ("Oona" of "Oona Gallagher"), case-sensitively, with the
    capitalised word after them (a surname); other values case-insensitively, spacing aside.
    """
    values: dict[str, str] = {}
    for finding in findings:
        values.setdefault(finding.value, finding.kind)
        if finding.kind == NAME:
            for word in re.findall(r"[^\W\d_][\w'’-]{2,}", finding.value):
                if word[0].isupper() and word.casefold() not in NAME_TITLES:
                    values.setdefault(word, NAME)
    if not values:
        return None
    names = [value for value, kind in values.items() if kind == NAME]
    others = {_normal(value): (value, kind) for value, kind in values.items() if kind != NAME}
    name_rx = re.compile(rf"{NOT_AFTER}(?:{_alternatives(names)}){NOT_BEFORE}") if names else None
    other_rx = _whole_words([v for v, _ in others.values()], re.IGNORECASE) if others else None

    def occurrences(text: str) -> Iterator[Finding]:
        for match in other_rx.finditer(text) if other_rx is not None else ():
            yield Finding(others[_normal(match.group())][1], match.start(), match.end(), match.group())
        for match in name_rx.finditer(text) if name_rx is not None else ():
            end = match.end()
            surname = _SURNAME.match(text, end)
            if surname is not None and surname.group(1).casefold() not in NAME_STOP | PLACE_WORDS:
                end = surname.end()
            yield Finding(NAME, match.start(), end, text[match.start() : end])

    return occurrences


def _whole_words(values: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    """One pattern for ``values`` as whole words, longest first, any spacing between their words."""
    return re.compile(rf"{NOT_AFTER}(?:{_alternatives(values)}){NOT_BEFORE}", flags)


def _alternatives(values: Iterable[str]) -> str:
    return "|".join(r"\s+".join(map(re.escape, v.split())) for v in sorted(set(values), key=len, reverse=True))


def _pattern_rule(kind: str, pattern: re.Pattern[str]) -> Callable[[str], Iterable[Finding]]:
    return lambda text: pii.find_pattern(kind, pattern, text)


def _normal(value: str) -> str:
    """How kept values are compared: case, spaces and punctuation aside."""
    return re.sub(r"[\W_]+", "", value.casefold())
