"""kb.forms: forms.yml read into Form values; every problem names the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import KBValidationError
from kb.forms_model import BUTTON, ENTITY, INTENT, TEXT, SlotCheck
from kb.loader import load_kb
from kb.model import Button

INTENTS = """intents:
  - name: order_status
    form: lookup
    examples: [where is my order, track my order, order status, has it shipped, where is my parcel]
  - name: greet
    examples: [hi, hello, hey, good morning, hiya]
"""
RESPONSES = """responses:
  greet: ["Hello!"]
  ask_order_id: ["Your order number?"]
  ask_kind:
    - text: "Which kind?"
      buttons:
        - {title: Big, value: large}
        - {title: Small}
  ask_note: ["Anything to add?"]
  ask_gift: ["Is it a gift?"]
  done_lookup: ["Looking up {order_id}."]
"""
ENTITIES = """entities:
  - name: order_id
    pattern: 'PC-\\d{6}'
"""
FORMS = """forms:
  lookup:
    slots:
      - order_id
      - name: kind
        from: button
      - name: note
        from: text
        not_intent: [greet]
      - name: gift
        from: intent
        intents: {affirm: true, deny: false}
        check: {lookup: [true, false]}
    max_failures: 2
    done: {response: done_lookup}
"""


def write(root: Path, *, forms: str = FORMS, intents: str = INTENTS, responses: str = RESPONSES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "kb.yml").write_text("name: Shop\n")
    (root / "intents.yml").write_text(intents)
    (root / "responses.yml").write_text(responses)
    (root / "entities.yml").write_text(ENTITIES)
    (root / "forms.yml").write_text(forms)
    return root


def problems(root: Path) -> list[str]:
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    return [str(issue) for issue in info.value.issues]


def test_a_form_with_every_kind_of_slot(tmp_path: Path) -> None:
    kb = load_kb(write(tmp_path / "kb"))
    form = kb.forms["lookup"]
    assert kb.intent("order_status").form == "lookup"
    assert [(s.name, s.source) for s in form.slots] == [
        ("order_id", ENTITY),
        ("kind", BUTTON),
        ("note", TEXT),
        ("gift", INTENT),
    ]
    assert form.slot("gift").values == (("affirm", True), ("deny", False))  # type: ignore[union-attr]
    assert form.slot("note").not_intents == ("greet",)  # type: ignore[union-attr]
    assert form.done_response == "done_lookup" and form.max_failures == 2
    assert kb.templates["ask_kind"][0].buttons == (Button("Big", value="large"), Button("Small", value="Small"))
    assert form.slot("gift").check == SlotCheck(lookup=("True", "False"))  # type: ignore[union-attr]


def test_the_forms_are_part_of_the_content_hash(tmp_path: Path) -> None:
    one = load_kb(write(tmp_path / "one"))
    two = load_kb(write(tmp_path / "two", forms=FORMS.replace("max_failures: 2", "max_failures: 3")))
    assert one.content_hash() != two.content_hash()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("      - order_id\n", "      - name: order_id\n        form: entity\n"), "forms.yml:5: unknown key `form`"),
        (("  ask_note:", "  ask_other:"), "nothing asks for slot `note` of form `lookup`: add `ask_note:`"),
        (
            ("done: {response: done_lookup}", "done: {}"),
            "`done` of form `lookup` must say what runs when it is complete",
        ),
        (
            ("        from: button\n", "        from: buttons\n"),
            "`from` of slot `kind` of form `lookup` must be one of",
        ),
        (("intents: {affirm: true, deny: false}", "intents: {agree: true}"), "maps unknown intent `agree`"),
        (("max_failures: 2", "max_failures: 0"), "`max_failures` of form `lookup` must be a whole number"),
    ],
)
def test_problems_name_the_line_and_the_fix(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    forms = FORMS.replace(*change) if change[0] in FORMS else FORMS
    responses = RESPONSES.replace(*change) if change[0] in RESPONSES else RESPONSES
    found = problems(write(tmp_path / "kb", forms=forms, responses=responses))
    assert any(expected in p for p in found), found


def test_an_entity_slot_needs_a_declared_entity(tmp_path: Path) -> None:
    forms = FORMS.replace("      - order_id\n", "      - name: order_id\n        entity: order_number\n")
    found = problems(write(tmp_path / "kb", forms=forms))
    assert any("forms.yml:5" in p and "entity `order_number`, which entities.yml does not declare" in p for p in found)


def test_a_bad_check_pattern_is_reported(tmp_path: Path) -> None:
    forms = FORMS.replace(
        "      - order_id\n", "      - name: order_id\n        check: {pattern: 'PC-(', message: x}\n"
    )
    found = problems(write(tmp_path / "kb", forms=forms))
    assert any("forms.yml:5" in p and "not a valid regular expression" in p for p in found), found


def test_a_button_slot_needs_buttons(tmp_path: Path) -> None:
    responses = RESPONSES.replace(
        '    - text: "Which kind?"\n      buttons:\n        - {title: Big, value: large}\n        - {title: Small}\n',
        '    - "Which kind?"\n',
    )
    found = problems(write(tmp_path / "kb", responses=responses))
    assert any("`ask_kind` in responses.yml has no buttons" in p for p in found), found


def test_an_intent_naming_an_unknown_form(tmp_path: Path) -> None:
    found = problems(write(tmp_path / "kb", intents=INTENTS.replace("form: lookup", "form: lokup")))
    assert any("intents.yml:3" in p and "starts form `lokup`, which forms.yml does not define" in p for p in found)


def test_a_response_no_intent_or_form_uses_is_still_refused(tmp_path: Path) -> None:
    found = problems(write(tmp_path / "kb", responses=RESPONSES + "  ask_nothing: [Pardon]\n"))
    assert any("response for unknown intent `ask_nothing`" in p for p in found), found


def test_value_buttons_only_on_form_responses(tmp_path: Path) -> None:
    responses = RESPONSES.replace(
        '  greet: ["Hello!"]', "  greet:\n    - text: Hello!\n      buttons: [{title: Big, value: x}]"
    )
    found = problems(write(tmp_path / "kb", responses=responses))
    assert any("unknown key `value` in a button of `greet`" in p for p in found), found
