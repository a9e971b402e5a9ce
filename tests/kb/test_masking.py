"""kb.masking and load_deidentifier: kb.yml's masking settings, the KB's entities and own values, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from bot.errors import KBValidationError
from bot.ops.config import DEMO_KB
from kb.loader import load_kb
from kb.masking import MaskingSettings, load_deidentifier, own_texts, personal_data_warnings, read_masking_settings
from tests.kb.test_loader import KB_YML, RESPONSES_YML, write_kb

ENTITIES_YML = """\
entities:
  - name: order_id
    pattern: 'LC-\\d{5}'
  - name: colour
    lookup: [green, matte black]
"""

# Line numbers matter: the warning test points at them.
RESPONSES_WITH_DATA = """\
responses:
  lamp_broken:
    - "Sorry about that! Send a photo to help@lampcorner.example and we will replace it."
    - text: "We sent LC-55555 to 14 Larch Road, Leeds, LS6 2QT yesterday."
  lamp_colour: "The lamp comes in black, white and green; ask for order LC-12345 as an example."
"""

FAQ_WITH_DATA = """\
faq:
  - question: Where are you?
    answer: >-
      We are a small shop; write to us
      at help@lampcorner.example or call 0113 496 0000.
"""


def settings_of(tmp_path: Path, masking: str) -> MaskingSettings:
    (tmp_path / "kb.yml").write_text("name: Lamp Corner\n" + masking, encoding="utf-8")
    return read_masking_settings(tmp_path, entity_kinds=["order_id"])


def issues_of(tmp_path: Path, masking: str) -> list[str]:
    with pytest.raises(KBValidationError) as info:
        settings_of(tmp_path, masking)
    return [str(issue) for issue in info.value.issues]


# --- kb.yml settings -----------------------------------------------------------------------


def test_todays_form_stays_valid_and_keep_and_disable_are_added(tmp_path: Path) -> None:
    masking = (
        "masking:\n"
        "  order_id: 'PO-\\d{6}'\n"
        "  member_no: 'M-\\d{4,8}'\n"
        "  keep: [help@shop.example, 2 Mill Yard, 1234]\n"
        "  disable: [name, order_id]\n"
    )

    assert settings_of(tmp_path, masking) == MaskingSettings(
        patterns={"order_id": r"PO-\d{6}", "member_no": r"M-\d{4,8}"},
        keep=("help@shop.example", "2 Mill Yard", "1234"),
        disable=("name", "order_id"),
    )
    assert settings_of(tmp_path, "masking:\n  keep: help@shop.example\n").keep == ("help@shop.example",)
    assert settings_of(tmp_path, "") == MaskingSettings()
    assert read_masking_settings(tmp_path / "nowhere") == MaskingSettings()


@pytest.mark.parametrize(
    ("masking", "expected"),
    [
        ("masking: PO-\\d{6}\n", "kb.yml:2: `masking` must be a mapping like"),
        ("masking:\n  Member ID: 'M\\d+'\n", "kb.yml:3: masking kind 'Member ID' is invalid"),
        (
            "masking:\n  order_id: 'PO-(\\d{6}'\n",
            "kb.yml:3: masking pattern `order_id` is not a valid regular expression",
        ),
        (
            "masking:\n  keep:\n    - help@shop.example\n    - \n",
            "kb.yml:5: each `keep` value must be a non-empty string",
        ),
        ("masking:\n  keep: {a: b}\n", "kb.yml:3: each `keep` value must be a non-empty string"),
        (
            "masking:\n  disable:\n    - name\n    - names\n",
            "kb.yml:5: `disable` names unknown kind 'names'; use one of email",
        ),
        ("masking:\n  disable: phones\n", "kb.yml:3: `disable` names unknown kind 'phones'"),
    ],
)
def test_bad_settings_name_kb_yml_the_line_and_the_fix(tmp_path: Path, masking: str, expected: str) -> None:
    (issue,) = issues_of(tmp_path, masking)
    assert issue.startswith(expected)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, "masking:\n  order_id: '('\n  disable: [nobody]\n  keep: [' ']\n")

    assert [issue.split(":")[1] for issue in issues] == ["3", "5", "4"]


# --- load_deidentifier ---------------------------------------------------------------------


def test_pattern_entities_are_masked_and_lookup_entities_stay(tmp_path: Path) -> None:
    root = write_kb(tmp_path, entities_yml=ENTITIES_YML)
    deidentifier = load_deidentifier(root)

    text = "Is LC-55555 the matte black one? {colour} please"
    assert deidentifier.deidentify(text).text == "Is {order_id} the matte black one? {colour} please"


def test_a_masking_pattern_adds_to_the_entity_of_the_same_name(tmp_path: Path) -> None:
    kb_yml = KB_YML + "masking:\n  order_id: 'OLD-\\d{4}'\n"
    root = write_kb(tmp_path, kb_yml=kb_yml, entities_yml=ENTITIES_YML)

    result = load_deidentifier(root).deidentify("LC-55555 and OLD-1234")

    assert result.text == "{order_id} and {order_id}"


def test_the_kbs_own_values_are_kept(tmp_path: Path) -> None:
    root = write_kb(tmp_path, entities_yml=ENTITIES_YML, responses_yml=RESPONSES_WITH_DATA, faq_yml=FAQ_WITH_DATA)
    deidentifier = load_deidentifier(root)

    assert set(deidentifier.keep) >= {"help@lampcorner.example", "LC-12345", "0113 496 0000", "LC-55555"}
    text = "Mail help@lampcorner.example about LC-12345 or LC-99999, from ann@example.com"
    assert (
        deidentifier.deidentify(text).text == "Mail help@lampcorner.example about LC-12345 or {order_id}, from {email}"
    )
    assert load_deidentifier(root, own_values=False).deidentify("LC-12345").text == "{order_id}"


def test_kept_values_of_kb_yml_and_disabled_kinds_apply(tmp_path: Path) -> None:
    kb_yml = KB_YML + "masking:\n  keep: ['Unit 4, Mill Yard, Kendal LA9 6ND']\n  disable: [name]\n"
    root = write_kb(tmp_path, kb_yml=kb_yml)

    text = "Hi Sarah, return it to Unit 4, Mill Yard, Kendal LA9 6ND, not to 2 Mill Yard, Kendal"
    assert load_deidentifier(root).deidentify(text).text == (
        "Hi Sarah, return it to Unit 4, Mill Yard, Kendal LA9 6ND, not to {address}"
    )


def test_a_folder_with_only_kb_yml_gets_its_settings(tmp_path: Path) -> None:
    (tmp_path / "kb.yml").write_text("name: X\nmasking:\n  order_id: 'PO-\\d{6}'\n", encoding="utf-8")

    assert load_deidentifier(tmp_path).deidentify("PO-123456").text == "{order_id}"


def test_the_demo_kb_keeps_its_support_address_and_example_order_number() -> None:
    deidentifier = load_deidentifier(DEMO_KB)

    text = "It looks like PC-123456; yours is PC-402217. Email help@pinecone-outfitters.example"
    assert deidentifier.deidentify(text).text == (
        "It looks like PC-123456; yours is {order_id}. Email help@pinecone-outfitters.example"
    )


# --- warnings for kb validate ------------------------------------------------------------


def test_personal_data_in_templates_and_faq_answers_is_warned_about_with_its_line(tmp_path: Path) -> None:
    root = write_kb(tmp_path, entities_yml=ENTITIES_YML, responses_yml=RESPONSES_WITH_DATA, faq_yml=FAQ_WITH_DATA)
    kb = load_kb(root)

    warnings = personal_data_warnings(kb, load_deidentifier(root, kb, own_values=False).find)

    assert [(w.file, w.line, w.message.split(" in ")[0]) for w in warnings] == [
        ("responses.yml", 3, "email 'help@lampcorner.example'"),
        ("responses.yml", 4, "order_id 'LC-55555'"),
        ("responses.yml", 4, "address '14 Larch Road, Leeds, LS6 2QT'"),
        ("responses.yml", 5, "order_id 'LC-12345'"),
        ("faq.yml", 5, "email 'help@lampcorner.example'"),
        ("faq.yml", 5, "phone '0113 496 0000'"),
    ]
    assert warnings[0].message.endswith(
        "in a template of `lamp_broken`: replace it with a {slot}, or add it to masking.keep in kb.yml if it is "
        "the shop's own"
    )
    assert "the answer of FAQ entry 1" in warnings[-1].message


def test_values_in_masking_keep_are_not_warned_about(tmp_path: Path) -> None:
    kb_yml = KB_YML + "masking:\n  keep: [help@lampcorner.example, LC-12345]\n"
    root = write_kb(tmp_path, kb_yml=kb_yml, entities_yml=ENTITIES_YML, responses_yml=RESPONSES_WITH_DATA)
    kb = load_kb(root)

    warnings = personal_data_warnings(kb, load_deidentifier(root, kb, own_values=False).find)

    assert [w.message.split(" in ")[0] for w in warnings] == [
        "order_id 'LC-55555'",
        "address '14 Larch Road, Leeds, LS6 2QT'",
    ]


def test_own_texts_cover_system_messages_templates_and_faq() -> None:
    texts = own_texts(load_kb(DEMO_KB))

    assert {own.file for own in texts} == {"kb.yml", "responses.yml", "faq.yml"}
    assert all(own.line is not None for own in texts)
    fallback = next(own for own in texts if own.what == "system message `fallback`")
    assert "PC-123456" in fallback.text and fallback.line == 11


def test_kb_validate_warns_but_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_kb(tmp_path, entities_yml=ENTITIES_YML, responses_yml=RESPONSES_WITH_DATA)

    assert main(["kb", "validate", str(root)]) == 0

    out, err = capsys.readouterr()
    assert "Lamp Corner: OK" in out
    assert "warning: responses.yml:4: address '14 Larch Road, Leeds, LS6 2QT' in a template of `lamp_broken`" in err
    assert err.count("warning:") == 4


def test_kb_validate_of_the_demo_kb_gives_no_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "validate", str(DEMO_KB)]) == 0
    assert capsys.readouterr().err == ""


def test_kb_validate_reports_bad_masking_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_kb(tmp_path, kb_yml=KB_YML + "masking:\n  disable: [nobody]\n")

    assert main(["kb", "validate", str(root)]) == 2
    assert "kb.yml:6: `disable` names unknown kind 'nobody'" in capsys.readouterr().err


def test_the_plain_responses_of_the_test_kb_hold_nothing_personal(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, responses_yml=RESPONSES_YML))
    assert personal_data_warnings(kb, load_deidentifier(tmp_path, kb, own_values=False).find) == []


def test_a_template_saying_the_bot_is_a_person_is_warned_about(tmp_path: Path) -> None:
    from kb.masking import persona_warnings

    responses = RESPONSES_YML.replace("That should not happen.", "I'm Sam from the support team.")
    kb = load_kb(write_kb(tmp_path, responses_yml=responses))

    (warning,) = persona_warnings(kb)

    assert (warning.file, warning.line) == ("responses.yml", 4)
    assert "says the bot is a person" in warning.message and "never sends it" in warning.message
    assert persona_warnings(load_kb(DEMO_KB)) == []
