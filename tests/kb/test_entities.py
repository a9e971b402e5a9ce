"""kb.entities: the optional entities.yml loads into EntityDefinitions; every problem names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.entities import ENTITIES, compile_lookup, compile_pattern, lookup_key
from kb.loader import FILES, load_kb
from kb.model import EntityDefinition
from tests.kb.test_loader import ANNOTATED_YML, DEMO, only_issue, write_kb

# Line numbers matter: the tests below point at them.
ENTITIES_YML = """\
entities:
  - name: order_id
    pattern: 'L-\\d{3}'
  - name: colour
    lookup: [green, matte black, white]
    synonyms:
      matte black: [black, jet black]
      green: lime
"""


def entities_kb(tmp_path: Path, text: str) -> Path:
    return write_kb(tmp_path, entities_yml=text)


def test_entities_load(tmp_path: Path) -> None:
    kb = load_kb(entities_kb(tmp_path, ENTITIES_YML))

    assert kb.entities == (
        EntityDefinition("order_id", pattern="L-\\d{3}"),
        EntityDefinition(
            "colour",
            lookup=("green", "matte black", "white"),
            synonyms=(("black", "matte black"), ("jet black", "matte black"), ("lime", "green")),
        ),
    )


def test_entities_are_optional_and_copied_into_builds(tmp_path: Path) -> None:
    assert load_kb(write_kb(tmp_path)).entities == ()
    assert ENTITIES in FILES


def test_entities_change_the_content_hash_but_not_the_training_hash(tmp_path: Path) -> None:
    plain = load_kb(write_kb(tmp_path / "p"))
    with_entities = load_kb(entities_kb(tmp_path / "e", ENTITIES_YML))
    other = load_kb(entities_kb(tmp_path / "o", ENTITIES_YML.replace("jet black", "coal black")))

    assert with_entities.training_hash() == plain.training_hash()
    assert len({plain.content_hash(), with_entities.content_hash(), other.content_hash()}) == 3


def test_an_empty_list_is_fine(tmp_path: Path) -> None:
    assert load_kb(entities_kb(tmp_path, "entities: []\n")).entities == ()


def test_demo_entities(tmp_path: Path) -> None:
    kb = load_kb(DEMO)
    by_name = {e.name: e for e in kb.entities}

    assert by_name["order_id"].pattern == "PC-\\d{6}"
    assert by_name["email"].pattern
    assert {"tent", "backpack", "boots", "jacket", "sleeping bag"} <= set(by_name["product"].lookup)


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ("entities:\n  name: x\n", 1, ["`entities` must be a list"]),
        ("entities:\n  - order_id\n", 2, ["must be a mapping with `name`"]),
        ("entities:\n  - name: order id\n    pattern: x\n", 2, ["entity name 'order id' is invalid"]),
        ("entities:\n  - name: 1st\n    pattern: x\n", 2, ["entity name '1st' is invalid"]),
        ("entities:\n  - pattern: x\n", 2, ["entity name None is invalid"]),
        (
            "entities:\n  - name: a\n    pattern: x\n  - name: a\n    pattern: y\n",
            4,
            ["entity `a` is declared twice (first on line 2)", "merge"],
        ),
        ("entities:\n  - name: a\n", 2, ["needs `pattern`", "or `lookup`"]),
        ("entities:\n  - name: a\n    pattern: x\n    lookup: [y]\n", 2, ["both `pattern` and `lookup`", "keep one"]),
        ("entities:\n  - name: a\n    pattern: x\n    look_up: [y]\n", 4, ["unknown key `look_up`", "allowed:"]),
        ("entities:\n  - name: a\n    pattern: ''\n", 3, ["must be a regular expression"]),
        ("entities:\n  - name: a\n    pattern: 'PC-(\\d{6}'\n", 3, ["not a valid regular expression", "fix it"]),
        ("entities:\n  - name: a\n    pattern: '(?i)pc-\\d{6}'\n", 3, ["put flags inside, like `(?i:pc)"]),
        ("entities:\n  - name: a\n    pattern: '\\d*'\n", 3, ["can match empty text", "at least one character"]),
        ("entities:\n  - name: a\n    pattern: 'x|'\n", 3, ["can match empty text"]),
        ("entities:\n  - name: a\n    pattern: '\\b'\n", 3, ["can match empty text"]),
        ("entities:\n  - name: a\n    pattern: x\n    synonyms: {x: [y]}\n", 4, ["only go with `lookup`"]),
        ("entities:\n  - name: a\n    lookup: []\n", 3, ["non-empty list of values"]),
        ("entities:\n  - name: a\n    lookup: tent\n", 3, ["non-empty list of values"]),
        ("entities:\n  - name: a\n    lookup:\n      - tent\n      - ''\n", 5, ["must be a non-empty string"]),
        (
            "entities:\n  - name: a\n    lookup:\n      - Sleeping Bag\n      - sleeping  bag\n",
            5,
            ["'sleeping  bag' of entity `a` is listed twice (also on line 4)", "remove one"],
        ),
        ("entities:\n  - name: a\n    lookup: [tent]\n    synonyms: [tents]\n", 4, ["must map a lookup value"]),
        (
            "entities:\n  - name: a\n    lookup: [tent]\n    synonyms:\n      tnet: [tents]\n",
            5,
            ["'tnet' is not in `lookup`", "fix the spelling"],
        ),
        ("entities:\n  - name: a\n    lookup: [tent]\n    synonyms:\n      tent: []\n", 5, ["non-empty list"]),
        (
            "entities:\n  - name: a\n    lookup: [tent]\n    synonyms:\n      tent:\n        - tents\n        - ' '\n",
            7,
            ["each synonym of 'tent'", "non-empty string"],
        ),
        (
            "entities:\n  - name: a\n    lookup: [tent, tarp]\n    synonyms:\n      tent: [Tarp]\n",
            5,
            ["synonym 'Tarp' of 'tent'", "is a lookup value", "remove it"],
        ),
        (
            "entities:\n  - name: a\n    lookup: [tent, tarp]\n    synonyms:\n      tent: [shelter]\n      tarp: [shelter]\n",
            6,
            ["synonym 'shelter' of 'tarp'", "already a synonym of 'tent'"],
        ),
    ],
)
def test_every_problem_names_file_line_and_fix(tmp_path: Path, text: str, line: int, fragments: list[str]) -> None:
    issue = only_issue(entities_kb(tmp_path, text))

    assert (issue.file, issue.line) == (ENTITIES, line)
    for fragment in fragments:
        assert fragment in issue.message


def test_bad_yaml_and_empty_file_name_the_file(tmp_path: Path) -> None:
    issue = only_issue(entities_kb(tmp_path / "y", "entities:\n  - name: [a\n"))
    assert issue.file == ENTITIES and "invalid YAML" in issue.message

    issue = only_issue(entities_kb(tmp_path / "e", "# nothing yet\n"))
    assert (issue.file, issue.line) == (ENTITIES, 1) and "empty" in issue.message


def test_compile_pattern_matches_whole_words_only() -> None:
    pattern = compile_pattern("PC-\\d{6}")

    assert pattern.findall("PC-123456, PC-1234567, xPC-123456, (PC-654321)") == ["PC-123456", "PC-654321"]
    assert compile_pattern("(?i:pc)-\\d{2}").findall("pc-12 Pc-34") == ["pc-12", "Pc-34"]


def test_compile_lookup_prefers_the_longest_phrase_and_any_spacing() -> None:
    pattern = compile_lookup(["jacket", "Down Jacket"])

    assert pattern.findall("a DOWN\tjacket, a jacket, jackets") == ["DOWN\tjacket", "jacket"]
    assert lookup_key("  Down \n Jacket ") == "down jacket"
    with pytest.raises(ValueError, match="at least one"):
        compile_lookup([" "])


def test_annotations_may_use_undeclared_entities(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, intents_yml=ANNOTATED_YML, entities_yml=ENTITIES_YML))

    annotated = {span.entity for intent in kb.intents for spans in intent.annotations for span in spans}
    assert "model" in annotated and "model" not in {e.name for e in kb.entities}
