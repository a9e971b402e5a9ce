"""kb.rasa.importer: a small Rasa project becomes a KB that loads; bad Rasa files name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.errors import KBError, KBIssue, KBValidationError
from kb.loader import load_kb
from kb.model import EntitySpan, Intent
from kb.rasa.importer import RasaImportSummary, deskmate_name, import_rasa

# A made-up bike-rental shop, written for these tests. Line numbers are looked up with line_of().
NLU_YML = """\
version: "3.1"
nlu:
- intent: rent_bike
  examples: |
    - I want to rent a [city bike](bike_type)
    - can I hire a [tandem](bike_type) for [Saturday](date)
    - do you rent bikes
    - rent me an [e-bike]{"entity": "bike_type", "value": "electric"} please
    - how much is a bike for a day
    - book a bike for tomorrow
- intent: Report-Puncture
  examples: |
    - my tyre is flat
    - I got a puncture near [Riverside Park](place)
    - the [front]{"entity": "wheel", "role": "position"} wheel lost air
    - flat tyre on bike [B-0042]{"entity": "bike_id"}
    - the tube burst
    - My tyre is flat
    - tyre went [down](oops
- intent: faq/opening_hours
  examples: |
    - when do you open
    - are you open on sundays
    - what time do you close
    - opening hours please
    - until when are you open today
- intent: lost_key
  examples: |
    - I lost the lock key
    - my key is gone
- intent: out_of_scope
  examples: |
    - what is the capital of [France](country)
    - write me a poem
- synonym: electric
  examples: |
    - e-bike
    - ebike
- regex: bike_id
  examples: |
    - B-\\d{4}
- lookup: place
  examples: |
    - Riverside Park
    - Old Town
"""

DOMAIN_YML = """\
version: "3.1"
intents:
  - rent_bike
  - Report-Puncture
  - faq/opening_hours
  - lost_key
  - out_of_scope
  - thank_you
entities:
  - bike_type
  - date
responses:
  utter_rent_bike:
  - text: "You can rent a bike at any station, or in the app."
  - text: "Pick up your bike at {station} station."
    buttons:
    - title: "Open the app"
      payload: "/open_app"
  utter_faq/opening_hours:
  - text: "We are open 8:00-20:00, every day."
  utter_lost_key:
  - text: "Come by the shop, we keep spare keys."
  utter_default:
  - text: "Sorry, I did not catch that."
  utter_thank_you:
  - text: "You're welcome!"
  - image: "https://example.com/thumbs-up.png"
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of ``text`` containing ``needle``."""
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def rasa_project(root: Path, nlu: str = NLU_YML, domain: str = DOMAIN_YML) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "nlu.yml").write_text(nlu, encoding="utf-8")
    (root / "domain.yml").write_text(domain, encoding="utf-8")
    return root / "nlu.yml", root / "domain.yml"


def import_issues(tmp_path: Path, nlu: str = NLU_YML, domain: str = DOMAIN_YML) -> list[KBIssue]:
    paths = rasa_project(tmp_path / "rasa", nlu, domain)
    with pytest.raises(KBValidationError) as info:
        import_rasa(*paths, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "nothing may be written when the Rasa files have problems"
    return info.value.issues


def note_at(summary: RasaImportSummary, file: Path, line: int | None) -> str:
    notes = [n.message for n in summary.notes if n.file == str(file) and n.line == line]
    assert notes, f"no note at {file}:{line}; notes: {[str(n) for n in summary.notes]}"
    return " | ".join(notes)


@pytest.fixture
def imported(tmp_path: Path) -> tuple[RasaImportSummary, Path, Path]:
    nlu, domain = rasa_project(tmp_path / "rasa")
    return import_rasa(nlu, domain, tmp_path / "kb", name="Spoke & Wheel"), nlu, domain


# --- a project that imports -------------------------------------------------------------------


def test_imported_kb_loads_with_intents_responses_and_out_of_scope(imported, tmp_path: Path) -> None:
    summary, _, _ = imported
    kb = load_kb(tmp_path / "kb")

    assert kb.name == "Spoke & Wheel"
    assert kb.intent_names == ["rent_bike", "report_puncture", "faq_opening_hours"]
    assert kb.responses["rent_bike"] == (
        "You can rent a bike at any station, or in the app.",
        "Pick up your bike at {station} station.",
    )
    assert kb.responses["faq_opening_hours"] == ("We are open 8:00-20:00, every day.",)
    assert kb.intent("report_puncture").handoff is True  # no utter_Report-Puncture
    assert "report_puncture" not in kb.responses
    assert kb.out_of_scope == ("what is the capital of France", "write me a poem")
    assert kb.system["fallback"] == "Sorry, I did not catch that."
    assert kb.intent("faq_opening_hours").examples[0] == "when do you open"

    assert summary.intents == ("rent_bike", "report_puncture", "faq_opening_hours")
    assert summary.examples == 16
    assert summary.annotated == 6
    assert summary.entities == ("bike_id", "bike_type", "date", "place", "wheel")
    assert summary.handoff == ("report_puncture",)
    assert summary.out_of_scope == 2
    assert summary.skipped == ("lost_key",)


def test_entity_spans_survive_the_import(imported, tmp_path: Path) -> None:
    kb = load_kb(tmp_path / "kb")
    rent, puncture = kb.intent("rent_bike"), kb.intent("report_puncture")

    def spans(intent: Intent, index: int) -> list[tuple[str, str, str]]:
        text = intent.examples[index]
        return [(s.entity, text[s.start : s.end], s.value) for s in intent.spans(index)]

    assert rent.examples[0] == "I want to rent a city bike"
    assert rent.spans(0) == (EntitySpan("bike_type", 17, 26, "city bike"),)
    assert spans(rent, 1) == [("bike_type", "tandem", "tandem"), ("date", "Saturday", "Saturday")]
    assert rent.examples[3] == "rent me an e-bike please"
    assert spans(rent, 3) == [("bike_type", "e-bike", "electric")]  # the JSON form's value
    assert rent.spans(2) == ()
    assert spans(puncture, 1) == [("place", "Riverside Park", "Riverside Park")]
    assert spans(puncture, 2) == [("wheel", "front", "front")]  # its role is dropped
    assert spans(puncture, 3) == [("bike_id", "B-0042", "B-0042")]


def test_written_intents_use_deskmate_markup(imported, tmp_path: Path) -> None:
    written = yaml.safe_load((tmp_path / "kb" / "intents.yml").read_text(encoding="utf-8"))

    examples = written["intents"][0]["examples"]
    assert examples[0] == "I want to rent a [city bike](bike_type)"
    assert examples[3] == 'rent me an [e-bike]{"entity": "bike_type", "value": "electric"} please'
    assert written["intents"][1]["handoff"] is True


def test_regexes_and_lookups_become_entities_and_the_rest_is_kept_in_rasa_yml(imported, tmp_path: Path) -> None:
    summary, _, _ = imported
    kept = yaml.safe_load((tmp_path / "kb" / "rasa.yml").read_text(encoding="utf-8"))
    entities = {e.name: e for e in load_kb(tmp_path / "kb").entities}

    assert kept["skipped_intents"] == {
        "lost_key": {
            "examples": ["I lost the lock key", "my key is gone"],
            "response": ["Come by the shop, we keep spare keys."],
        }
    }
    assert entities["bike_id"].pattern == "B-\\d{4}"
    assert entities["place"].lookup == ("Riverside Park", "Old Town")
    assert kept["synonyms"] == {"electric": ["e-bike", "ebike"]}  # bike_type has no lookup list to hold it
    assert "regexes" not in kept and "lookup_tables" not in kept
    assert kept["responses"] == {"utter_thank_you": ["You're welcome!"]}
    assert summary.kept == {"responses": 1, "skipped_intents": 1, "synonyms": 1}
    assert summary.declared == {"bike_id": "pattern", "place": "lookup"}


def test_every_change_is_reported_with_file_and_line(imported) -> None:
    summary, nlu, domain = imported

    assert "imported as `report_puncture`" in note_at(summary, nlu, line_of(NLU_YML, "Report-Puncture"))
    assert "`role` dropped" in note_at(summary, nlu, line_of(NLU_YML, "[front]"))
    assert "repeats line 13" in note_at(summary, nlu, line_of(NLU_YML, "My tyre is flat"))
    malformed = note_at(summary, nlu, line_of(NLU_YML, "tyre went"))
    assert "left out" in malformed and "never closed" in malformed
    no_response = note_at(summary, nlu, line_of(NLU_YML, "Report-Puncture"))
    assert "handoff: true" in no_response and "add `report_puncture:` to responses.yml" in no_response
    too_few = note_at(summary, nlu, line_of(NLU_YML, "intent: lost_key"))
    assert "2 usable examples" in too_few and "needs 5" in too_few and "add examples" in too_few
    assert not any("{station}" in n.message for n in summary.notes)  # Deskmate fills slots in texts
    button = note_at(summary, domain, line_of(DOMAIN_YML, 'title: "Open the app"'))
    assert "left out" in button and "intent `open_app` of its payload is not imported" in button
    assert "`utter_thank_you` answers no imported intent" in note_at(
        summary, domain, line_of(DOMAIN_YML, "utter_thank_you")
    )
    assert "no `text`" in note_at(summary, domain, line_of(DOMAIN_YML, "image:"))
    assert "`thank_you` has no examples" in note_at(summary, domain, line_of(DOMAIN_YML, "- thank_you"))
    learned = note_at(summary, nlu, line_of(NLU_YML, "[city bike]"))
    assert "entity `bike_type`" in learned and "lookup: [city bike, tandem, electric]" in learned
    assert "synonym `electric` not imported" in note_at(summary, nlu, line_of(NLU_YML, "synonym: electric"))
    text = "\n".join(summary.describe())
    assert "Hand off to an agent until you add a response: report_puncture" in text
    assert "Not imported (fewer than 5 examples): lost_key" in text


def test_intent_names_are_made_valid() -> None:
    assert deskmate_name("faq/Ask-Hours") == "faq_ask_hours"
    assert deskmate_name("greet") == "greet"
    assert deskmate_name("2fa_help") == "intent_2fa_help"


# --- the output folder ------------------------------------------------------------------------


def test_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    nlu, domain = rasa_project(tmp_path / "rasa")
    out = tmp_path / "kb"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")

    with pytest.raises(KBError, match=r"not empty.*--force"):
        import_rasa(nlu, domain, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_force_overwrites_the_kb_files_and_keeps_the_others(tmp_path: Path) -> None:
    nlu, domain = rasa_project(tmp_path / "rasa")
    out = tmp_path / "kb"
    import_rasa(nlu, domain, out)
    (out / "faq.yml").write_text("faq:\n  - question: Do you rent helmets?\n    answer: Yes.\n", encoding="utf-8")
    # nothing left over for rasa.yml this time
    rasa_project(
        tmp_path / "rasa",
        nlu=NLU_YML[: NLU_YML.index("- intent: lost_key")],
        domain=DOMAIN_YML[: DOMAIN_YML.index("  utter_lost_key:")],
    )

    summary = import_rasa(nlu, domain, out, force=True)

    assert summary.kept == {}
    assert not (out / "rasa.yml").exists()  # the stale one is gone
    assert load_kb(out).faq[0].question == "Do you rent helmets?"


def test_cli_imports_and_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nlu, domain = rasa_project(tmp_path / "rasa")
    args = ["kb", "import-rasa", "--nlu", str(nlu), "--domain", str(domain), "--out", str(tmp_path / "kb")]

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Imported 3 intents (16 examples, 6 with entities" in out
    assert f"{nlu}:{line_of(NLU_YML, 'tyre went')}: example" in out
    assert main(args) == 1
    assert "pass --force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


# --- Rasa files that cannot be imported -------------------------------------------------------


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    broken = NLU_YML.replace("- intent: lost_key", "- intent: [lost_key")
    issues = import_issues(tmp_path, nlu=broken)

    assert len(issues) == 1
    assert issues[0].file.endswith("nlu.yml")
    assert issues[0].line == line_of(broken, "[lost_key") + 1  # PyYAML notices on the next line
    assert "invalid YAML" in issues[0].message and "fix the YAML syntax" in issues[0].message


@pytest.mark.parametrize(
    ("nlu", "needle", "fragment"),
    [
        ("version: '3.1'\nnlu:\n- story: happy path\n  steps: []\n", "story", "exactly one of intent"),
        ("version: '3.1'\nnlu:\n- intent: a\n  synonym: b\n  examples: '- x'\n", "intent: a", "found `intent`"),
        ("version: '3.1'\nnlu:\n- just a string\n", "just a string", "must be a mapping"),
        ("version: '3.1'\nnlu:\n- intent: yes\n  examples: |\n    - sure\n", "intent: yes", "quote it"),
        ("version: '3.1'\nnlu:\n- intent: a\n  examples: |\n    - ok\n    fine\n", "fine", "start with `- `"),
        ("version: '3.1'\nnlu:\n- intent: a\n", "intent: a", "no `examples:`"),
        ("version: '3.1'\nnlu:\n- intent: a\n  examples: 12\n", "examples: 12", "block of `- ` lines"),
        ("version: '3.1'\nrules: []\n", "version", "no `nlu:` list"),
        ("version: '1.0'\nnlu: []\n", "version", "not supported"),
        ("- intent: a\n", "intent", "mapping at the top level"),
    ],
)
def test_unknown_nlu_structure_names_the_line(tmp_path: Path, nlu: str, needle: str, fragment: str) -> None:
    issues = import_issues(tmp_path, nlu=nlu)

    assert issues[0].file.endswith("nlu.yml")
    assert issues[0].line == line_of(nlu, needle)
    assert fragment in issues[0].message


@pytest.mark.parametrize(
    ("domain", "needle", "fragment"),
    [
        ("responses:\n  utter_rent_bike: Hello\n", "utter_rent_bike", "list of variations"),
        ("responses:\n  utter_rent_bike:\n  - Hello\n", "- Hello", "must be a mapping like `- text: Hello!`"),
        ("responses:\n  utter_rent_bike:\n  - text: ''\n", "text:", "non-empty string"),
        ("responses: [utter_rent_bike]\n", "responses", "map `utter_...` names"),
        ("intents: rent_bike\n", "intents", "list of intent names"),
    ],
)
def test_unknown_domain_structure_names_the_line(tmp_path: Path, domain: str, needle: str, fragment: str) -> None:
    issues = import_issues(tmp_path, domain=domain)

    assert issues[0].file.endswith("domain.yml")
    assert issues[0].line == line_of(domain, needle)
    assert fragment in issues[0].message


def test_missing_file(tmp_path: Path) -> None:
    nlu, _ = rasa_project(tmp_path / "rasa")

    with pytest.raises(KBValidationError) as info:
        import_rasa(nlu, tmp_path / "rasa" / "nowhere.yml", tmp_path / "out")
    assert info.value.issues[0].file.endswith("nowhere.yml")
    assert "no such file" in info.value.issues[0].message


def test_too_few_usable_intents(tmp_path: Path) -> None:
    nlu = NLU_YML[: NLU_YML.index("- intent: Report-Puncture")]
    issues = import_issues(tmp_path, nlu=nlu)

    assert len(issues) == 1
    assert "only 1 intents have 5 or more examples" in issues[0].message


def test_names_that_collide_after_renaming(tmp_path: Path) -> None:
    nlu = NLU_YML + "- intent: Rent-Bike\n  examples: |\n    - a bike please\n"
    issues = import_issues(tmp_path, nlu=nlu)

    assert len(issues) == 1
    assert issues[0].line == line_of(nlu, "Rent-Bike")
    assert "like `rent_bike` (line 3)" in issues[0].message and "rename one" in issues[0].message


def test_an_example_of_two_intents_stays_with_the_first_and_is_reported(tmp_path: Path) -> None:
    # Rasa trains on it (its `rasa data validate` only warns); Deskmate's loader refuses it
    nlu = NLU_YML.replace(
        "    - until when are you open today\n", "    - until when are you open today\n    - Do  you rent BIKES\n"
    )
    summary = import_rasa(*rasa_project(tmp_path / "rasa", nlu=nlu), tmp_path / "kb")
    kb = load_kb(tmp_path / "kb")

    assert "do you rent bikes" in kb.intent("rent_bike").examples
    assert "Do  you rent BIKES" not in kb.intent("faq_opening_hours").examples
    assert len(kb.intent("faq_opening_hours").examples) == 5
    note = note_at(summary, tmp_path / "rasa" / "nlu.yml", line_of(nlu, "Do  you rent BIKES"))
    assert "'Do  you rent BIKES' of `faq/opening_hours` is also an example of `rent_bike`" in note
    assert f"(nlu.yml:{line_of(nlu, 'do you rent bikes')})" in note and "left out" in note
