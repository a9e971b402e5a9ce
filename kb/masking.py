"""A KB's de-identification settings: kb.yml's ``masking:``, the KB's own texts, and their warnings.

::

    masking:                        # optional
      order_id: 'PO-\\d{6}'          # a kind of your own: a regular expression -> {order_id}
      member_no: 'M-\\d{4,8}'        # -> {member_no}
      keep: [help@shop.example, 2 Mill Yard, Kendal LA9 6ND]   # the shop's own values: never masked
      disable: [name]               # kinds not masked at all

:func:`read_masking_settings` validates the mapping (every problem names kb.yml, the line and the
fix). :func:`own_texts` lists what the KB itself says (system messages, templates, FAQ entries):
the values found there are the shop's, so de-identification keeps them
(:func:`load_deidentifier`, here), and :func:`personal_data_warnings` points at them
for ``deskmate kb validate``, unless they are in ``keep``, since a template that holds one
customer's order number or address shows it to every customer.

This module only reads files; the rules themselves are in retrieval/privacy/pii.py and retrieval/privacy/names.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, KBIssue, KBValidationError
from kb.loader import REQUIRED_FILES, load_kb
from kb.model import KnowledgeBase
from kb.yamlio import LineDict, LineList, YAMLSyntaxError, load_yaml
from retrieval.persona import claims_to_be_person
from retrieval.privacy.masking import Deidentifier
from retrieval.privacy.names import vocabulary
from retrieval.privacy.pii import BUILT_IN, KIND_NAME, NAME, Finding, compile_pattern

KB_FILE = "kb.yml"
KEEP = "keep"
DISABLE = "disable"
RESERVED = (KEEP, DISABLE)
FIX = "replace it with a {slot}, or add it to masking.keep in kb.yml if it is the shop's own"
_EXAMPLE = "`masking: {order_id: 'PO-\\d{6}', keep: [help@shop.example], disable: [name]}`"


@dataclass(frozen=True)
class MaskingSettings:
    """kb.yml's ``masking:``: extra kinds by regular expression, values kept, kinds switched off."""

    patterns: dict[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class OwnText:
    """A text the KB sends to customers, and where it is written (``line`` None when unknown)."""

    file: str
    line: int | None
    text: str
    what: str  # "a template of `greet`", "the answer of FAQ entry 3"...


def read_masking_settings(root: str | Path, *, entity_kinds: Collection[str] = ()) -> MaskingSettings:
    """The ``masking:`` settings of ``root``/kb.yml (defaults when the file or the key is absent).

    ``entity_kinds`` are the KB's pattern entities, which ``disable`` may also name. Raises
    :class:`KBValidationError` listing every problem.
    """
    path = Path(root) / KB_FILE
    if not path.is_file():
        return MaskingSettings()
    try:
        doc = load_yaml(path)
    except YAMLSyntaxError as exc:
        message = f"{exc}; fix the YAML syntax (put regular expressions in single quotes)"
        raise KBValidationError([KBIssue(KB_FILE, exc.line, message)]) from exc
    except UnicodeDecodeError as exc:
        raise KBValidationError([KBIssue(KB_FILE, None, "file is not UTF-8; save it as UTF-8")]) from exc
    raw = doc.get("masking") if isinstance(doc, LineDict) else None
    if raw is None:
        return MaskingSettings()
    if not isinstance(raw, LineDict):
        message = f"`masking` must be a mapping like {_EXAMPLE}"
        raise KBValidationError([KBIssue(KB_FILE, doc.line_of("masking"), message)])
    issues: list[KBIssue] = []
    patterns: dict[str, str] = {}
    for kind, regex in raw.items():
        if kind in RESERVED:
            continue
        try:
            _check_kind(kind)
            compile_pattern(kind, regex)
        except ConfigError as exc:
            issues.append(KBIssue(KB_FILE, raw.line_of(kind), str(exc)))
            continue
        patterns[kind] = regex
    keep = _values(raw, KEEP, issues)
    allowed = (*BUILT_IN, *sorted(set(entity_kinds) | set(patterns)))
    disable = _values(raw, DISABLE, issues)
    for index, kind in enumerate(disable):
        if kind not in allowed:
            line = raw[DISABLE].line_of(index) if isinstance(raw[DISABLE], LineList) else raw.line_of(DISABLE)
            message = f"`disable` names unknown kind {kind!r}; use one of {', '.join(allowed)}"
            issues.append(KBIssue(KB_FILE, line, message))
    if issues:
        raise KBValidationError(issues)
    return MaskingSettings(patterns, tuple(keep), tuple(disable))


def own_texts(kb: KnowledgeBase) -> list[OwnText]:
    """What the KB sends to customers: kb.yml's system messages, responses.yml's templates, faq.yml.

    With lines when the KB was loaded from a folder (read again from its YAML files), else without.
    """
    if kb.root is not None and (kb.root / KB_FILE).is_file():
        return _texts_with_lines(kb.root)
    texts = [OwnText(KB_FILE, None, text, f"system message `{key}`") for key, text in kb.system.items()]
    for intent, variations in kb.responses.items():
        texts.extend(OwnText("responses.yml", None, text, f"a template of `{intent}`") for text in variations)
    for number, entry in enumerate(kb.faq, start=1):
        texts.append(OwnText("faq.yml", None, entry.question, f"the question of FAQ entry {number}"))
        texts.append(OwnText("faq.yml", None, entry.answer, f"the answer of FAQ entry {number}"))
    return texts


def personal_data_warnings(
    kb: KnowledgeBase, find: Callable[[str], Iterable[Finding]], *, skip_kinds: Collection[str] = ()
) -> list[KBIssue]:
    """One warning per personal value that ``find`` finds in the KB's own texts (FAQ questions aside).

    ``find`` is a de-identifier's, built without the own values kept (values in masking.keep stay
    unreported). Kinds in ``skip_kinds`` are not reported.
    """
    warnings: list[KBIssue] = []
    lines: dict[str, list[str]] = {}
    for own in own_texts(kb):
        if own.what.startswith("the question"):
            continue
        for finding in find(own.text):
            if finding.kind in skip_kinds:
                continue
            line = own.line
            if line is not None and kb.root is not None:
                if own.file not in lines:
                    lines[own.file] = (kb.root / own.file).read_text(encoding="utf-8").splitlines()
                line = _line_of_value(lines[own.file], line, finding.value)
            message = f"{finding.kind} {finding.value!r} in {own.what}: {FIX}"
            warnings.append(KBIssue(own.file, line, message))
    return warnings


def _check_kind(kind: str) -> None:
    if not KIND_NAME.match(kind):
        raise ConfigError(
            f"masking kind {kind!r} is invalid: use lowercase letters, digits and underscores, starting with a letter"
            f" (`{KEEP}` and `{DISABLE}` are reserved)"
        )


def _values(raw: LineDict, key: str, issues: list[KBIssue]) -> list[str]:
    """The strings listed under ``key`` (a single value counts as a list of one)."""
    if key not in raw or raw[key] is None:
        return []
    value = raw[key]
    items = list(value) if isinstance(value, LineList) else [value]
    values: list[str] = []
    for index, item in enumerate(items):
        text = str(item).strip() if isinstance(item, str | int) and not isinstance(item, bool) else ""
        if not text:
            line = value.line_of(index) if isinstance(value, LineList) else raw.line_of(key)
            example = "keep: [help@shop.example, 2 Mill Yard]" if key == KEEP else "disable: [name]"
            issues.append(KBIssue(KB_FILE, line, f"each `{key}` value must be a non-empty string, like `{example}`"))
            continue
        values.append(text)
    return values


def _texts_with_lines(root: Path) -> list[OwnText]:
    texts: list[OwnText] = []
    system = _mapping(root / KB_FILE, "system")
    for key, value in system.items():
        if isinstance(value, str):
            texts.append(OwnText(KB_FILE, system.line_of(key), value, f"system message `{key}`"))
    responses = _mapping(root / "responses.yml", "responses")
    for intent, value in responses.items():
        variations: list[tuple[Any, int]]
        if isinstance(value, LineList):
            variations = [(item, value.line_of(index)) for index, item in enumerate(value)]
        else:
            variations = [(value, responses.line_of(intent))]
        for item, line in variations:
            text = item.get("text") if isinstance(item, LineDict) else item
            where = item.line_of("text") if isinstance(item, LineDict) else line
            if isinstance(text, str):
                texts.append(OwnText("responses.yml", where, text, f"a template of `{intent}`"))
    faq = _read(root / "faq.yml").get("faq")
    for number, entry in enumerate(faq if isinstance(faq, LineList) else [], start=1):
        if not isinstance(entry, LineDict):
            continue
        for key in ("question", "answer"):
            if isinstance(entry.get(key), str):
                what = f"the {key} of FAQ entry {number}"
                texts.append(OwnText("faq.yml", entry.line_of(key), entry[key], what))
    return texts


def _read(path: Path) -> LineDict:
    if not path.is_file():
        return LineDict()
    try:
        doc = load_yaml(path)
    except (YAMLSyntaxError, UnicodeDecodeError):
        return LineDict()  # the loader reports it
    return doc if isinstance(doc, LineDict) else LineDict()


def _mapping(path: Path, key: str) -> LineDict:
    value = _read(path).get(key)
    return value if isinstance(value, LineDict) else LineDict()


def _line_of_value(lines: list[str], start: int, value: str, *, reach: int = 30) -> int:
    """The line, from ``start`` on, where ``value`` is written (``start`` if it is split over lines)."""
    pattern = re.compile(r"\s+".join(re.escape(part) for part in value.split()))
    for number in range(start, min(start + reach, len(lines) + 1)):
        if pattern.search(lines[number - 1]):
            return number
    return start


def persona_warnings(kb: KnowledgeBase) -> list[KBIssue]:
    """One warning per text the bot sends that says it is a person (such a template is never sent)."""
    return [
        KBIssue(
            own.file,
            own.line,
            f"{own.what} says the bot is a person ({own.text[:60]!r}); "
            + ("system messages are always sent: reword it" if own.what.startswith("system") else "the bot never sends it: reword it")
            + " (\"I'm the shop's assistant\")",
        )
        for own in own_texts(kb)
        if not own.what.startswith("the question") and claims_to_be_person(own.text)
    ]


def load_deidentifier(
    root: str | Path | None, kb: KnowledgeBase | None = None, *, own_values: bool = True
) -> Deidentifier:
    """The de-identifier of the KB folder ``root``: kb.yml's ``masking:``, pattern entities, own values.

    ``kb`` is the KB loaded from ``root`` (loaded here when None and the folder holds a whole KB;
    a folder with only kb.yml gets its masking settings alone). With ``own_values``, the values
    found in the KB's own texts are kept (:func:`kb.masking.own_texts`); ``kb validate`` turns that
    off to warn about them. Raises :class:`~bot.errors.KBValidationError` for bad settings.
    """
    folder = Path(root) if root is not None else None
    if kb is None and folder is not None and all((folder / name).is_file() for name in REQUIRED_FILES):
        kb = load_kb(folder)
    entities = [e for e in kb.entities if e.pattern is not None] if kb is not None else []
    settings = read_masking_settings(folder, entity_kinds=[e.name for e in entities]) if folder is not None else None
    patterns: dict[str, str] = {}
    configured = list(settings.patterns.items()) if settings is not None else []
    for kind, regex in [(e.name, str(e.pattern)) for e in entities] + configured:
        patterns[kind] = f"(?:{patterns[kind]})|(?:{regex})" if kind in patterns else regex
    keep = list(settings.keep) if settings else []
    # what the bot sends: a value in an FAQ question (copied from a ticket?) is not the shop's own
    texts = [own.text for own in own_texts(kb) if not own.what.startswith("the question")] if kb is not None else []
    deidentifier = Deidentifier(
        patterns=patterns,
        keep=keep,
        disable=settings.disable if settings else (),
        slots=[e.name for e in kb.entities] if kb is not None else (),
        known_words=vocabulary([*texts, *_names_of(kb)]) if kb is not None else frozenset(),
    )
    if not own_values or not texts:
        return deidentifier
    own = {f.value for text in texts for f in deidentifier.find(text) if f.kind != NAME}
    return Deidentifier(
        patterns=deidentifier.patterns,
        keep=[*keep, *sorted(own)],
        disable=deidentifier.disable,
        slots=deidentifier.slots,
        known_words=deidentifier.known_words,
    )


def _names_of(kb: KnowledgeBase | None) -> list[str]:
    """The KB's name, description and lookup values: product and brand names, never person names."""
    if kb is None:
        return []
    values = [kb.name, kb.description]
    for entity in kb.entities:
        values.extend(entity.lookup)
        values.extend(variant for variant, _ in entity.synonyms)
    return values
