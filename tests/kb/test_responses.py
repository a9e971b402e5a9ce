"""kb.responses: variations with buttons and {slots}; every problem names the line and the fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kb.loader import load_kb
from kb.model import Button, KnowledgeBase, Template
from tests.kb.test_loader import DEMO, RESPONSES_YML, issues_of, only_issue, write_kb

# Line numbers matter: the tests below point at them.
RICH_YML = """\
responses:
  lamp_broken:
    - "Sorry about that! Send us a photo and we will replace it."
    - text: "Is lamp {model} the one with the problem?"
      buttons:
        - {title: "Yes, replace it", intent: lamp_broken}
        - {title: Talk to a person, intent: ask_person}
  lamp_colour:
    text: "It comes in {{black}} and green."
"""


def rich_kb(tmp_path: Path, text: str) -> Path:
    return write_kb(tmp_path, responses_yml=text)


def test_rich_responses_load(tmp_path: Path) -> None:
    kb = load_kb(rich_kb(tmp_path, RICH_YML))

    plain, rich = kb.templates["lamp_broken"]
    assert plain == Template("Sorry about that! Send us a photo and we will replace it.")
    assert plain.slots == frozenset() and plain.buttons == ()
    assert rich.text == "Is lamp {model} the one with the problem?"
    assert rich.slots == frozenset({"model"})
    assert rich.buttons == (Button("Yes, replace it", "lamp_broken"), Button("Talk to a person", "ask_person"))
    assert kb.templates["lamp_colour"] == (Template("It comes in {{black}} and green."),)
    # the texts stay available as before, placeholders and all
    assert kb.responses == {
        "lamp_broken": (plain.text, rich.text),
        "lamp_colour": ("It comes in {{black}} and green.",),
    }


def test_plain_responses_become_plain_templates(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path))

    assert kb.templates["lamp_colour"] == (Template("The lamp comes in black, white and green."),)
    assert {k: tuple(t.text for t in v) for k, v in kb.templates.items()} == kb.responses


def test_buttons_change_the_content_hash(tmp_path: Path) -> None:
    one = RICH_YML
    other = RICH_YML.replace("intent: ask_person", "intent: lamp_colour")
    renamed = RICH_YML.replace("Talk to a person", "Talk to someone")
    hashes = {load_kb(rich_kb(tmp_path / str(i), text)).content_hash() for i, text in enumerate([one, other, renamed])}

    assert len(hashes) == 3


def test_kbs_without_buttons_keep_their_hash(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path))
    bare = KnowledgeBase(
        name=kb.name,
        description=kb.description,
        language=kb.language,
        system=kb.system,
        intents=kb.intents,
        responses=kb.responses,
        faq=kb.faq,
        dialogues=kb.dialogues,
    )

    assert bare.templates == kb.templates  # made from the responses
    assert bare.content_hash() == kb.content_hash()


def test_templates_must_hold_the_texts_of_the_responses(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path))

    with pytest.raises(ValueError, match="different texts"):
        replace(kb, responses={**kb.responses, "lamp_colour": ("Only black.",)})


def test_a_malformed_text_cannot_become_a_template() -> None:
    with pytest.raises(ValueError, match="not a slot name"):
        Template("Order {0} is on its way")


def test_demo_responses_use_slots_and_buttons() -> None:
    kb = load_kb(DEMO)

    assert any(t.slots == {"order_id"} for t in kb.templates["order_status"])
    assert any(t.buttons for templates in kb.templates.values() for t in templates)
    for name, templates in kb.templates.items():
        if name in kb.intent_names:  # every intent can answer before any slot is known
            assert any(not t.slots for t in templates), name
        for template in templates:  # a button is an intent, or a form question's slot value
            assert {b.intent for b in template.buttons if b.value is None} <= set(kb.intent_names)


def variation(text: str) -> str:
    """RESPONSES_YML with ``text`` as a second variation of lamp_colour, on line 6."""
    return RESPONSES_YML.replace(
        '  lamp_colour: "The lamp comes in black, white and green."\n',
        '  lamp_colour:\n    - "The lamp comes in black, white and green."\n' + text,
    )


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ('    - "Lamp { model} is fine"\n', 7, ["placeholder `{ model}` at character 6 is not a slot name", "`{{`"]),
        ('    - "Lamp {0} is fine"\n', 7, ["placeholder `{0}`", "lamp_colour"]),
        ('    - "Lamp {} is fine"\n', 7, ["empty placeholder `{}`", "like `{order_id}`"]),
        ('    - "Lamp {model is fine"\n', 7, ["`{` at character 6 is never closed"]),
        ('    - "Lamp {a{b}} is fine"\n', 7, ["`{` at character 6 is never closed"]),
        ('    - "Lamp model} is fine"\n', 7, ["`}` at character 11 closes no placeholder", "`}}`"]),
        ("    - text: 'Lamp {model is fine'\n", 7, ["is never closed"]),
        ("    - text: ''\n", 7, ["needs `text`"]),
        ("    - buttons: []\n", 7, ["needs `text`"]),
        ("    - text: Fine\n      image: lamp.png\n", 8, ["unknown key `image`", "allowed: text, buttons"]),
        ("    - text: Fine\n      buttons: Yes\n", 8, ["`buttons` of a response of `lamp_colour` must be a list"]),
        ("    - text: Fine\n      buttons: [Yes]\n", 8, ["must be a mapping with `title` and `intent`"]),
        (
            "    - text: Fine\n      buttons:\n        - title: Go\n          intent: lamp_price\n",
            10,
            ["names unknown intent `lamp_price`", "intents.yml"],
        ),
        ("    - text: Fine\n      buttons:\n        - title: Go\n", 9, ["needs `intent`"]),
        ("    - text: Fine\n      buttons:\n        - intent: ask_person\n", 9, ["needs `title`"]),
        (
            "    - text: Fine\n      buttons:\n        - {title: Go, intent: ask_person, payload: /x}\n",
            9,
            ["unknown key `payload` in a button", "allowed: title, intent"],
        ),
        (
            "    - text: Fine\n      buttons:\n        - {title: Go, intent: ask_person}\n        - {title: go, intent: lamp_broken}\n",
            10,
            ["two buttons of `lamp_colour` are titled 'go' (also on line 9)", "rename one"],
        ),
        ("    - 5\n", 7, ["must be a non-empty string, or a mapping with `text`"]),
    ],
)
def test_every_problem_names_file_line_and_fix(tmp_path: Path, text: str, line: int, fragments: list[str]) -> None:
    issue = only_issue(rich_kb(tmp_path, variation(text)))

    assert (issue.file, issue.line) == ("responses.yml", line)
    for fragment in fragments:
        assert fragment in issue.message


def test_an_empty_list_of_variations(tmp_path: Path) -> None:
    issue = only_issue(rich_kb(tmp_path, RESPONSES_YML.replace('"The lamp comes in black, white and green."', "[]")))

    assert (issue.file, issue.line) == ("responses.yml", 5)
    assert "a non-empty list of them" in issue.message


def test_several_button_problems_are_reported_together(tmp_path: Path) -> None:
    text = (
        "    - text: Fine\n      buttons:\n        - {title: '', intent: nope}\n        - {title: Ok, intent: gone}\n"
    )
    issues = issues_of(rich_kb(tmp_path, variation(text)))

    assert [(i.line, i.message.split(";")[0]) for i in issues] == [
        (9, "a button of `lamp_colour` needs `title`: the non-empty text shown"),
        (9, "a button of `lamp_colour` names unknown intent `nope`"),
        (10, "a button of `lamp_colour` names unknown intent `gone`"),
    ]
