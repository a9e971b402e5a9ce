"""``{slot}`` placeholders in response texts (see docs/kb-format.md, "Rich responses").

A placeholder is a slot name in braces: ``Let me look up {order_id}``. ``{{`` and ``}}`` stand for
a literal ``{`` and ``}``; any other brace is an error. :func:`slot_names` validates a text and
lists its placeholders; :func:`substitute` fills them with one regex pass, so a value is inserted
as plain text and never read as a placeholder or a format string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SLOT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# ``{{`` and ``}}`` first, so ``{{name}}`` is the literal text ``{name}``, as in str.format
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]{0,63})\}|[{}]")
_FIX = "write `{slot_name}` (letters, digits and `_`, not starting with a digit), or `{{` and `}}` for literal braces"


class PlaceholderError(ValueError):
    """A text has a malformed brace; the message says where and what to write instead."""


def slot_names(text: str) -> tuple[str, ...]:
    """The slot names of ``text``'s placeholders, in order of first appearance, each once.

    Raises :class:`PlaceholderError` for a brace that is neither a placeholder nor ``{{``/``}}``.
    """
    names: list[str] = []
    for match in _TOKEN.finditer(text):
        token, name = match.group(0), match.group(1)
        if name is not None:
            if name not in names:
                names.append(name)
        elif token in ("{", "}"):
            raise PlaceholderError(_describe(text, match.start()))
    return tuple(names)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder replaced by its value and ``{{``/``}}`` by ``{``/``}``.

    The values are inserted literally (a value holding ``{other}`` stays as written). Raises
    :class:`KeyError` naming a slot without a value, :class:`PlaceholderError` for a malformed brace.
    """

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is not None:
            return values[name]
        if token in ("{{", "}}"):
            return token[0]
        raise PlaceholderError(_describe(text, match.start()))

    return _TOKEN.sub(replace, text)


def known_slots(slots: Mapping[str, object]) -> dict[str, str]:
    """The slots that have a value: a string that is not blank (the only ones a placeholder takes)."""
    return {name: value for name, value in slots.items() if isinstance(value, str) and value.strip()}


def escape(text: str) -> str:
    """``text`` as literal template text: its braces doubled, so no part of it reads as a placeholder."""
    return text.replace("{", "{{").replace("}", "}}")


def placeholder_names(text: str) -> tuple[str, ...]:
    """Like :func:`slot_names`, but a malformed brace counts as literal text instead of an error.

    For texts that were not written as templates (past replies from older builds).
    """
    return tuple(dict.fromkeys(m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None))


def fill_known(text: str, values: Mapping[str, str]) -> str:
    """``text`` with the placeholders that have a value filled; the others stay visible as ``{name}``.

    For agents: a suggestion shows what is still to fill in. ``{{``/``}}`` become ``{``/``}``, and
    a malformed brace stays as written.
    """

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is not None:
            return values.get(name, token)
        return token[0] if token in ("{{", "}}") else token

    return _TOKEN.sub(replace, text)


def _describe(text: str, at: int) -> str:
    where = f"at character {at + 1}"
    if text[at] == "}":
        return f"`}}` {where} closes no placeholder; {_FIX}"
    close = text.find("}", at + 1)
    reopen = text.find("{", at + 1)
    if close < 0 or 0 <= reopen < close:
        return f"`{{` {where} is never closed; {_FIX}"
    inside = text[at : close + 1]
    if inside == "{}":
        return f"empty placeholder `{{}}` {where}; put a slot name inside, like `{{order_id}}`"
    return f"placeholder `{inside}` {where} is not a slot name; {_FIX}"
