"""kb.yamlio: YAML loading that remembers the line of every mapping key and sequence item."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.yamlio import LineDict, LineList, YAMLSyntaxError, load_yaml

DOC = """\
# a comment on line 1
title: Lamp shop
intents:
  - name: lamp_broken
    examples:
      - my lamp flickers
      - the bulb went dark

  - name: lamp_colour
    examples: [red lamp, blue lamp]
settings:
  loud: true
"""


def write(tmp_path: Path, text: str, name: str = "doc.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mappings_and_sequences_carry_their_lines(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, DOC))

    assert isinstance(doc, LineDict)
    assert doc.line == 2  # the mapping starts at its first key
    assert doc.line_of("title") == 2
    assert doc.line_of("intents") == 3
    assert doc.line_of("settings") == 11

    intents = doc["intents"]
    assert isinstance(intents, LineList)
    assert intents.line == 4
    assert intents.item_lines == [4, 9]
    assert intents.line_of(0) == 4
    assert intents.line_of(1) == 9

    first = intents[0]
    assert isinstance(first, LineDict)
    assert first.line == 4
    assert first.line_of("name") == 4
    assert first.line_of("examples") == 5
    assert first["examples"].item_lines == [6, 7]

    flow = intents[1]["examples"]
    assert isinstance(flow, LineList)
    assert flow == ["red lamp", "blue lamp"]
    assert flow.line == 10
    assert doc["settings"].line_of("loud") == 12


def test_values_are_plain_python_values(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, DOC))

    assert doc == {
        "title": "Lamp shop",
        "intents": [
            {"name": "lamp_broken", "examples": ["my lamp flickers", "the bulb went dark"]},
            {"name": "lamp_colour", "examples": ["red lamp", "blue lamp"]},
        ],
        "settings": {"loud": True},
    }


def test_line_of_unknown_key_or_index_falls_back_to_the_start(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, DOC))

    assert doc.line_of("missing") == doc.line
    intents = doc["intents"]
    assert intents.line_of(5) == intents.line
    assert intents.line_of(-1) == intents.line


def test_non_string_keys_become_strings(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, "1: one\n2: two\n"))

    assert doc == {"1": "one", "2": "two"}
    assert doc.line_of("2") == 2


def test_empty_document_is_none(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, "# only a comment\n")) is None


def test_top_level_list(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, "- a\n- b\n"))

    assert isinstance(doc, LineList)
    assert doc.item_lines == [1, 2]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("title: ok\nlamp:\n  label: Broken: lamp: here\n", 3),  # mapping values not allowed
        ("title: [a, b\nnext: 3\n", 2),  # unclosed flow sequence
        ("title: ok\n\tindented: with a tab\n", 2),
        ("items:\n  - one\n - two\n", 3),  # bad indentation
    ],
)
def test_syntax_error_reports_the_line(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(YAMLSyntaxError) as info:
        load_yaml(write(tmp_path, text))

    assert info.value.line == line
    assert str(info.value).startswith("invalid YAML: ")


def test_unsafe_tags_are_refused(tmp_path: Path) -> None:
    with pytest.raises(YAMLSyntaxError) as info:
        load_yaml(write(tmp_path, "x: !!python/object/apply:os.system ['true']\n"))

    assert info.value.line == 1
