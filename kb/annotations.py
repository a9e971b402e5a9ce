"""Inline entity annotations in examples, as Rasa writes them (see docs/kb-format.md).

``where is order [PO-123456](order_id)`` marks ``PO-123456`` as an ``order_id``;
``[NYC]{"entity": "city", "value": "New York"}`` also gives the value the text stands for, and so
does Rasa's older ``[NYC](city:New York)``. :func:`parse_annotated` strips the markup and returns the
plain text with the spans on it; :func:`annotate` writes spans back as markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from kb.model import EntitySpan

ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
KEYS = ("entity", "value")
_DECODER = json.JSONDecoder()


class AnnotationError(ValueError):
    """The markup of one example is malformed; the message says what to write instead."""


@dataclass(frozen=True)
class Annotated:
    """An example with its markup stripped."""

    text: str  # the plain text
    spans: tuple[EntitySpan, ...]  # offsets into ``text``, in order
    ignored: tuple[str, ...] = ()  # keys found and ignored (only those the caller allowed to ignore)


def parse_annotated(example: str, *, ignore_keys: Collection[str] = ()) -> Annotated:
    """Strip the entity markup of ``example``; raise :class:`AnnotationError` if it is malformed.

    Every ``[`` and ``]`` must belong to an annotation. Keys of the JSON form other than ``entity``
    and ``value`` are errors, except those in ``ignore_keys`` (the Rasa importer drops ``role`` and
    ``group``), which are listed in :attr:`Annotated.ignored`.
    """
    plain: list[str] = []
    length = 0
    spans: list[EntitySpan] = []
    ignored: list[str] = []
    i = 0
    while i < len(example):
        char = example[i]
        if char == "]":
            raise AnnotationError(f"`]` at column {i + 1} closes no `[`; remove it or write `[text](entity)`")
        if char != "[":
            plain.append(char)
            length += 1
            i += 1
            continue
        close = example.find("]", i + 1)
        inner_open = example.find("[", i + 1)
        if close < 0:
            raise AnnotationError(f"`[` at column {i + 1} is never closed; write `[text](entity)` or remove it")
        if 0 <= inner_open < close:
            raise AnnotationError(
                f"`[` at column {inner_open + 1} opens inside another annotation; annotations cannot nest"
            )
        text = example[i + 1 : close]
        if not text.strip():
            raise AnnotationError(f"`[{text}]` at column {i + 1} marks no text; put the entity's words inside the []")
        if text != text.strip():
            raise AnnotationError(f"the text of `[{text}]` starts or ends with a space; move the space outside the []")
        entity, value, i, extra = _markup(example, close + 1, text, ignore_keys)
        spans.append(EntitySpan(entity=entity, start=length, end=length + len(text), value=value or text))
        plain.append(text)
        length += len(text)
        ignored.extend(key for key in extra if key not in ignored)
    return Annotated("".join(plain), tuple(spans), tuple(ignored))


def _markup(example: str, at: int, text: str, ignore_keys: Collection[str]) -> tuple[str, str | None, int, list[str]]:
    """Parse the ``(entity)`` or ``{...}`` after ``[text]`` at ``at``: (entity, value, end, ignored keys)."""
    head = f"[{text}]"
    following = example[at : at + 1]
    if following == "(":
        close = example.find(")", at)
        if close < 0:
            raise AnnotationError(f"`{head}(` is never closed; write `{head}(entity)`")
        entity, _, value = example[at + 1 : close].partition(":")
        _check_name(entity.strip(), head)
        return entity.strip(), value.strip() or None, close + 1, []
    if following == "{":
        return _json_markup(example, at, head, ignore_keys)
    if following == "[":
        raise AnnotationError(f"`{head}[...]` (several entities on one text) is not supported; keep one entity")
    if following.isspace() and example[at:].lstrip()[:1] in ("(", "{"):
        raise AnnotationError(f"remove the space after `{head}`: write `{head}(entity)`")
    raise AnnotationError(
        f'`{head}` is not followed by `(entity)` or `{{"entity": ...}}`; annotate it or remove the brackets'
    )


def _json_markup(
    example: str, at: int, head: str, ignore_keys: Collection[str]
) -> tuple[str, str | None, int, list[str]]:
    example_form = f'{head}{{"entity": "name", "value": "..."}}'
    try:
        data, end = _DECODER.raw_decode(example, at)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"the JSON after `{head}` is invalid ({exc.msg}); write {example_form}") from exc
    if not isinstance(data, dict):
        raise AnnotationError(f"the JSON after `{head}` must be an object; write {example_form}")
    ignored = [key for key in data if key in ignore_keys]
    unknown = [key for key in data if key not in KEYS and key not in ignore_keys]
    if unknown and unknown[0] in ("role", "group"):
        raise AnnotationError(f"Deskmate does not use entity roles or groups; remove {unknown[0]!r} after `{head}`")
    if unknown:
        raise AnnotationError(f"unknown key {unknown[0]!r} after `{head}`; allowed: {', '.join(KEYS)}")
    entity, value = data.get("entity"), data.get("value")
    if not isinstance(entity, str):
        raise AnnotationError(f'the JSON after `{head}` needs "entity" as a string; write {example_form}')
    _check_name(entity, head)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise AnnotationError(f'"value" after `{head}` must be a non-empty string; quote it')
    return entity, value, end, ignored


def _check_name(entity: str, head: str) -> None:
    if not ENTITY_NAME.match(entity):
        raise AnnotationError(
            f"entity name {entity!r} after `{head}` is invalid: use letters, digits, `_`, `-` or `.`, "
            "starting with a letter"
        )


def annotate(text: str, spans: Sequence[EntitySpan]) -> str:
    """Write ``spans`` into ``text`` as markup: the inverse of :func:`parse_annotated`."""
    pieces: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < position or span.end > len(text) or span.start >= span.end:
            raise ValueError(f"span {span} does not fit in {text!r} after the spans before it")
        marked = text[span.start : span.end]
        if span.value == marked:
            markup = f"({span.entity})"
        else:
            markup = json.dumps({"entity": span.entity, "value": span.value}, ensure_ascii=False)
        pieces.extend([text[position : span.start], f"[{marked}]", markup])
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)
