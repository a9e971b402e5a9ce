"""Appending to a YAML file's text, so the admin's comments, order and spacing stay as written.

PyYAML (the only YAML library Deskmate depends on) cannot write a file back with its comments, so
nothing is re-dumped: :func:`yaml.compose` gives the position of every node, and new lines are
inserted after the last item of the list (or mapping) that grows, with that list's indentation.
A block list gets ``- item`` lines; a flow list (``[a, b]``) gets ``, "item"`` before its ``]``.
A missing top-level list is added at the end of the file. Each function returns the new text;
the caller validates it (kb/edits/changes.py) before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import yaml

from bot.errors import KBIssue, KBValidationError


def scalar(text: str, *, flow: bool = False) -> str:
    """``text`` as a YAML scalar: plain when it reads back unchanged, else double-quoted."""
    if not flow and "\n" not in text and _reads_back(f"- {text}", [text]):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted if _reads_back(quoted, text) else json.dumps(text)


def document(text: str, file: str) -> yaml.MappingNode:
    """The top-level mapping node of ``text``; a :class:`KBValidationError` naming ``file`` if there is none."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise refuse(file, line, f"invalid YAML ({exc.problem}); fix it by hand first") from exc
    if not isinstance(node, yaml.MappingNode):
        raise refuse(file, 1, "the file must be a YAML mapping (key: value) at the top level")
    return node


def value_of(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    """The value node of ``key`` in ``mapping`` (the last one when written twice), or None."""
    found = None
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found = value_node
    return found


def append_items(text: str, sequence: yaml.SequenceNode, items: Sequence[str]) -> str:
    """Append plain-text ``items`` to the list ``sequence`` of ``text``."""
    if not items:
        return text
    if sequence.flow_style:
        return _append_flow(text, sequence, items)
    dash = _dash_column(text, sequence)
    lines = [f"{' ' * dash}- {scalar(item)}\n" for item in items]
    return _insert(text, _after(sequence), lines)


def append_block(text: str, sequence: yaml.SequenceNode, block: Sequence[str], file: str) -> str:
    """Append one item written as ``block`` (its lines, the first starting with ``- ``, indented from 0)."""
    if sequence.flow_style or not sequence.value:
        line = sequence.start_mark.line + 1
        raise refuse(
            file, line, "this list is written in flow style ([...]); write it as a block list (`- item` lines) first"
        )
    dash = _dash_column(text, sequence)
    lines = [f"{' ' * dash}{row}\n" if row else "\n" for row in block]
    if _spaced(text, sequence):
        lines.insert(0, "\n")
    return _insert(text, _after(sequence), lines)


def append_entry(text: str, mapping: yaml.MappingNode, block: Sequence[str], file: str) -> str:
    """Append one entry, written as ``block`` (its lines, indented from 0), to the block mapping ``mapping``."""
    if mapping.flow_style or not mapping.value:
        line = mapping.start_mark.line + 1
        raise refuse(file, line, "this mapping is written in flow style ({...}); write it in block style first")
    column = mapping.value[0][0].start_mark.column
    lines = [f"{' ' * column}{row}\n" if row else "\n" for row in block]
    keys = [key for key, _ in mapping.value]
    if any(_blank_before(text, key.start_mark.line) for key in keys[1:]):
        lines.insert(0, "\n")
    return _insert(text, _after(mapping), lines)


def append_top_level_list(text: str, key: str, items: Sequence[str]) -> str:
    """``text`` with a new top-level ``key:`` list of ``items`` at its end."""
    body = text if not text or text.endswith("\n") else text + "\n"
    lines = [f"{key}:\n", *(f"  - {scalar(item)}\n" for item in items)]
    return body + ("\n" if body.strip() else "") + "".join(lines)


def _reads_back(source: str, expected: object) -> bool:
    try:
        return bool(yaml.safe_load(source) == expected)
    except yaml.YAMLError:
        return False


def _after(node: yaml.Node) -> int:
    """The index of the line before which new lines go: the one after the node's content."""
    end = _content_end(node)
    return end.line if end.column == 0 else end.line + 1


def _content_end(node: yaml.Node) -> yaml.Mark:
    """The end of a node's own content: for a block collection, that of its last item.

    (PyYAML ends a block collection where the next token starts, after any comments and blank
    lines that follow it; new lines go right after the last item instead, above those comments.)
    """
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    return node.end_mark


def _dash_column(text: str, sequence: yaml.SequenceNode) -> int:
    if not sequence.value:
        return sequence.start_mark.column
    first = sequence.value[0].start_mark
    line = text.splitlines()[first.line]
    dash = line.rfind("-", 0, first.column)
    return dash if dash >= 0 else sequence.start_mark.column


def _spaced(text: str, sequence: yaml.SequenceNode) -> bool:
    """Whether the list's items are separated by blank lines (as the demo's intents are)."""
    return any(_blank_before(text, item.start_mark.line) for item in sequence.value[1:])


def _blank_before(text: str, line: int) -> bool:
    lines = text.splitlines()
    return 0 < line <= len(lines) and not lines[line - 1].strip()


def _insert(text: str, at: int, new: list[str]) -> str:
    lines = text.splitlines(keepends=True)
    if at > 0 and at <= len(lines) and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines[at:at] = new
    return "".join(lines)


def _append_flow(text: str, sequence: yaml.SequenceNode, items: Sequence[str]) -> str:
    end = sequence.end_mark  # just after the closing bracket
    lines = text.splitlines(keepends=True)
    row = lines[end.line]
    close = end.column - 1
    added = ", ".join(scalar(item, flow=True) for item in items)
    prefix = ", " if sequence.value else ""
    lines[end.line] = row[:close] + prefix + added + row[close:]
    return "".join(lines)


def refuse(file: str, line: int | None, message: str) -> KBValidationError:
    """A refusal naming one file and line."""
    return KBValidationError([KBIssue(file, line, message)])
