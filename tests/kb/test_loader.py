"""kb.loader: the bundled demo KB loads; broken KBs report every problem with file, line and fix."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import KBIssue, KBValidationError
from kb.loader import load_kb
from kb.model import SYSTEM_DEFAULTS, EntitySpan, KnowledgeBase

DEMO = Path(__file__).resolve().parents[2] / "kb" / "demo"

KB_YML = """\
name: Lamp Corner
description: A made-up shop that sells desk lamps.
system:
  greeting: "Hello from Lamp Corner!"
"""

# Line numbers matter: the tests below point at them.
INTENTS_YML = """\
intents:
  - name: lamp_broken
    label: Report a broken lamp
    examples:
      - my lamp flickers
      - the bulb went dark after a day
      - the switch on my lamp is stuck
      - lamp arrived with a cracked shade
      - the cable of my lamp is frayed
  - name: lamp_colour
    label: Ask about colours
    examples:
      - which colours does the desk lamp come in
      - is there a green lamp
      - do you sell the lamp in matte black
      - can I get a white shade
      - what finishes are available
  - name: ask_person
    label: Talk to a person
    handoff: true
    examples:
      - let me talk to someone
      - a human please
      - put me through to staff
      - I want a real person
      - operator
"""

RESPONSES_YML = """\
responses:
  lamp_broken:
    - "Sorry about that! Send us a photo and we will replace it."
    - "That should not happen. We will send a new one."
  lamp_colour: "The lamp comes in black, white and green."
"""

FAQ_YML = """\
faq:
  - question: Do lamps come with a bulb?
    answer: Yes, every lamp ships with a warm LED bulb.
    intent: lamp_colour
  - question: How long is the warranty?
    answer: Two years on every lamp.
"""

DIALOGUES = [
    {
        "id": "t1",
        "turns": [{"speaker": "customer", "text": "my lamp hums"}, {"speaker": "agent", "text": "Try another socket."}],
    },
    {
        "id": "t2",
        "turns": [
            {"speaker": "customer", "text": "is the shade glass"},
            {"speaker": "agent", "text": "It is frosted glass."},
        ],
    },
]


def jsonl(dialogues: list[dict[str, object]]) -> str:
    return "".join(json.dumps(d) + "\n" for d in dialogues)


def write_kb(root: Path, **files: str | None) -> Path:
    """Write a valid KB into ``root``; keyword arguments replace (or, with None, omit) files."""
    contents: dict[str, str | None] = {
        "kb.yml": KB_YML,
        "intents.yml": INTENTS_YML,
        "responses.yml": RESPONSES_YML,
        "faq.yml": FAQ_YML,
        "dialogues.jsonl": jsonl(DIALOGUES),
    }
    for key, value in files.items():
        contents[key.replace("_yml", ".yml").replace("_jsonl", ".jsonl")] = value
    root.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        if text is not None:
            (root / name).write_text(text, encoding="utf-8")
    return root


def issues_of(root: Path) -> list[KBIssue]:
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    assert info.value.issues, "a KBValidationError must list its issues"
    return info.value.issues


def only_issue(root: Path) -> KBIssue:
    issues = issues_of(root)
    assert len(issues) == 1, [str(i) for i in issues]
    return issues[0]


# --- the bundled demo KB ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> KnowledgeBase:
    return load_kb(DEMO)


def test_demo_kb_has_enough_intents_and_examples(demo: KnowledgeBase) -> None:
    assert demo.name
    assert len(demo.intents) >= 20
    for intent in demo.intents:
        assert len(intent.examples) >= 15, intent.name
        assert len(set(e.casefold() for e in intent.examples)) == len(intent.examples), intent.name


def test_demo_kb_has_a_handoff_intent(demo: KnowledgeBase) -> None:
    human = demo.intent("talk_to_human")
    assert human.handoff is True
    assert human.label


def test_demo_kb_answers_every_other_intent(demo: KnowledgeBase) -> None:
    for intent in demo.intents:
        if not intent.handoff:
            assert demo.responses.get(intent.name) or intent.form in demo.forms, intent.name
    questions = {name for form in demo.forms.values() for slot in form.slot_names for name in form.ask_responses(slot)}
    endings = {form.confirm for form in demo.forms.values()} | {form.done_response for form in demo.forms.values()}
    assert set(demo.responses) <= set(demo.intent_names) | questions | endings


def test_demo_kb_has_faq_and_dialogues(demo: KnowledgeBase) -> None:
    assert demo.faq
    assert demo.dialogues
    assert len({d.id for d in demo.dialogues}) == len(demo.dialogues)
    for dialogue in demo.dialogues:
        assert {t.speaker for t in dialogue.turns} <= {"customer", "agent"}
    assert set(SYSTEM_DEFAULTS) == set(demo.system)


def test_demo_kb_hashes_are_stable(demo: KnowledgeBase) -> None:
    again = load_kb(DEMO)
    assert again == demo
    assert again.content_hash() == demo.content_hash()
    assert again.training_hash() == demo.training_hash()


# --- a valid KB of our own ----------------------------------------------------------------


def test_valid_kb_loads(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path))

    assert kb.name == "Lamp Corner"
    assert kb.language == "en"
    assert kb.root == tmp_path
    assert kb.intent_names == ["lamp_broken", "lamp_colour", "ask_person"]
    assert kb.intent("ask_person").handoff is True
    assert kb.intent("lamp_broken").label == "Report a broken lamp"
    assert kb.intent("lamp_broken").examples[0] == "my lamp flickers"
    assert kb.responses["lamp_broken"] == (
        "Sorry about that! Send us a photo and we will replace it.",
        "That should not happen. We will send a new one.",
    )
    assert kb.responses["lamp_colour"] == ("The lamp comes in black, white and green.",)  # one string is fine
    assert "ask_person" not in kb.responses
    assert kb.system["greeting"] == "Hello from Lamp Corner!"
    assert kb.system["fallback"] == SYSTEM_DEFAULTS["fallback"]
    assert [f.intent for f in kb.faq] == ["lamp_colour", None]
    assert [d.id for d in kb.dialogues] == ["t1", "t2"]
    assert kb.dialogues[0].turns[1].speaker == "agent"
    texts, labels = kb.training_examples()
    assert len(texts) == len(labels) == 15
    with pytest.raises(KeyError):
        kb.intent("nope")


def test_optional_files_may_be_missing(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, faq_yml=None, dialogues_jsonl=None))

    assert kb.faq == ()
    assert kb.dialogues == ()


def test_training_hash_ignores_responses_but_content_hash_does_not(tmp_path: Path) -> None:
    a = load_kb(write_kb(tmp_path / "a"))
    b = load_kb(write_kb(tmp_path / "b", responses_yml=RESPONSES_YML.replace("green.", "red.")))

    assert a.training_hash() == b.training_hash()
    assert a.content_hash() != b.content_hash()


# --- broken KBs -----------------------------------------------------------------------------


def test_bad_yaml_syntax_names_file_and_line(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("    label: Ask about colours", "    label: Ask: about: colours")
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert issue.file == "intents.yml"
    assert issue.line == 11
    assert "invalid YAML" in issue.message
    assert "fix the YAML syntax" in issue.message


def test_duplicate_example_names_both_lines(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("is frayed\n", "is frayed\n      - My Lamp flickers\n")
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert issue.file == "intents.yml"
    assert issue.line == 10
    assert "duplicate example" in issue.message
    assert "lamp_broken" in issue.message
    assert "line 5" in issue.message
    assert "remove one" in issue.message


def test_example_of_two_intents_names_both_places_and_the_fix(tmp_path: Path) -> None:
    # "hi" in greet and in goodbye, as a new user wrote it; compared with case and spaces ignored
    broken = INTENTS_YML.replace(
        "what finishes are available\n", "what finishes are available\n      - '  My   LAMP flickers '\n"
    )
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert (issue.file, issue.line) == ("intents.yml", 18)
    assert "'My   LAMP flickers' of intent `lamp_colour`" in issue.message
    assert "also an example of intent `lamp_broken` as 'my lamp flickers' (intents.yml:5)" in issue.message
    assert "keep it in one intent, or reword" in issue.message


def test_examples_differing_only_in_spacing_are_duplicates(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("is frayed\n", "is frayed\n      - my  lamp   flickers\n")
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert issue.line == 10 and "duplicate example" in issue.message and "line 5" in issue.message


def test_unknown_intent_in_responses(tmp_path: Path) -> None:
    broken = RESPONSES_YML + '  lamp_delivery: "It ships in two days."\n'
    issue = only_issue(write_kb(tmp_path, responses_yml=broken))

    assert issue.file == "responses.yml"
    assert issue.line == 6
    assert "unknown intent `lamp_delivery`" in issue.message
    assert "intents.yml" in issue.message


def test_intent_without_response(tmp_path: Path) -> None:
    broken = 'responses:\n  lamp_colour: "Black or white."\n'
    issue = only_issue(write_kb(tmp_path, responses_yml=broken))

    assert issue.file == "responses.yml"
    assert issue.line == 2
    assert "`lamp_broken` has no response" in issue.message
    assert "add `lamp_broken:`" in issue.message
    assert "handoff: true" in issue.message


def test_too_few_examples(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("      - lamp arrived with a cracked shade\n", "").replace(
        "      - the cable of my lamp is frayed\n", ""
    )
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert issue.file == "intents.yml"
    assert issue.line == 5  # the examples list starts here
    assert "`lamp_broken` has 3 examples" in issue.message
    assert "add at least 5" in issue.message


def test_invalid_json_line_in_dialogues(tmp_path: Path) -> None:
    text = jsonl(DIALOGUES) + '{"id": "t3", "turns": [\n'
    issue = only_issue(write_kb(tmp_path, dialogues_jsonl=text))

    assert issue.file == "dialogues.jsonl"
    assert issue.line == 3
    assert "invalid JSON" in issue.message
    assert "one JSON object" in issue.message


def test_blank_lines_in_dialogues_are_skipped_but_counted(tmp_path: Path) -> None:
    text = "\n" + jsonl(DIALOGUES[:1]) + "\nnot json\n"
    issue = only_issue(write_kb(tmp_path, dialogues_jsonl=text))

    assert issue.line == 4


def test_bad_speaker(tmp_path: Path) -> None:
    bad = {"id": "t3", "turns": [{"speaker": "customer", "text": "hi"}, {"speaker": "bot", "text": "hello"}]}
    issue = only_issue(write_kb(tmp_path, dialogues_jsonl=jsonl([*DIALOGUES, bad])))

    assert issue.file == "dialogues.jsonl"
    assert issue.line == 3
    assert "turn 2" in issue.message
    assert "'bot'" in issue.message
    assert '"customer" or "agent"' in issue.message


def test_duplicate_dialogue_id(tmp_path: Path) -> None:
    issue = only_issue(write_kb(tmp_path, dialogues_jsonl=jsonl([*DIALOGUES, DIALOGUES[0]])))

    assert (issue.file, issue.line) == ("dialogues.jsonl", 3)
    assert "`t1` is used twice (first on line 1)" in issue.message


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('["t1"]', "must be a JSON object"),
        ('{"turns": [{"speaker": "customer", "text": "x"}]}', "needs an `id`"),
        ('{"id": "t9", "turns": []}', "needs `turns`"),
        ('{"id": "t9", "turns": ["hello"]}', "turn 1 must be an object"),
        ('{"id": "t9", "turns": [{"speaker": "agent", "text": "  "}]}', "turn 1 needs a non-empty `text`"),
    ],
)
def test_malformed_dialogue_shapes(tmp_path: Path, line: str, fragment: str) -> None:
    issue = only_issue(write_kb(tmp_path, dialogues_jsonl=line + "\n"))

    assert (issue.file, issue.line) == ("dialogues.jsonl", 1)
    assert fragment in issue.message


def test_missing_required_file(tmp_path: Path) -> None:
    issue = only_issue(write_kb(tmp_path, responses_yml=None))

    assert issue.file == "responses.yml"
    assert issue.line is None
    assert "missing" in issue.message
    assert "create responses.yml" in issue.message


def test_all_missing_files_are_reported_together(tmp_path: Path) -> None:
    issues = issues_of(write_kb(tmp_path, kb_yml=None, intents_yml=None))

    assert sorted(i.file for i in issues) == ["intents.yml", "kb.yml"]


def test_missing_folder(tmp_path: Path) -> None:
    issue = only_issue(tmp_path / "nowhere")

    assert issue.line is None
    assert "no such folder" in issue.message


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    intents = INTENTS_YML.replace("is frayed\n", "is frayed\n      - my lamp flickers\n")
    responses = RESPONSES_YML + '  lamp_delivery: "Two days."\n'
    bad = {"id": "t3", "turns": [{"speaker": "robot", "text": "beep"}]}
    root = write_kb(
        tmp_path,
        kb_yml="description: no name here\n",
        intents_yml=intents,
        responses_yml=responses,
        dialogues_jsonl=jsonl([*DIALOGUES, bad]) + "{oops\n",
    )

    issues = issues_of(root)
    where = {(i.file, i.line) for i in issues}

    assert ("kb.yml", 1) in where
    assert ("intents.yml", 10) in where
    assert ("responses.yml", 6) in where
    assert ("dialogues.jsonl", 3) in where
    assert ("dialogues.jsonl", 4) in where
    assert len(issues) == 5

    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    text = str(info.value)
    assert text.startswith("the knowledge base has 5 problems:")
    assert "  - intents.yml:10: duplicate example" in text
    assert "  - dialogues.jsonl:4: invalid JSON" in text


def test_syntax_errors_in_several_files_are_reported_together(tmp_path: Path) -> None:
    root = write_kb(tmp_path, kb_yml="name: [Lamp\n", responses_yml="responses:\n  a: b: c\n")

    issues = issues_of(root)

    assert {(i.file, i.line) for i in issues} == {("kb.yml", 2), ("responses.yml", 2)}


def test_name_is_required(tmp_path: Path) -> None:
    issue = only_issue(write_kb(tmp_path, kb_yml="description: a shop\n"))

    assert (issue.file, issue.line) == ("kb.yml", 1)
    assert "`name` is required" in issue.message


def test_unknown_system_message(tmp_path: Path) -> None:
    issue = only_issue(write_kb(tmp_path, kb_yml="name: Lamps\nsystem:\n  greeting: hi\n  farewell: bye\n"))

    assert (issue.file, issue.line) == ("kb.yml", 4)
    assert "unknown system message `farewell`" in issue.message
    assert "greeting" in issue.message


def test_empty_file(tmp_path: Path) -> None:
    issue = only_issue(write_kb(tmp_path, responses_yml="# nothing yet\n"))

    assert (issue.file, issue.line) == ("responses.yml", 1)
    assert "empty" in issue.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    issue = only_issue(write_kb(tmp_path, kb_yml="- Lamp Corner\n"))

    assert (issue.file, issue.line) == ("kb.yml", 1)
    assert "mapping" in issue.message


def test_invalid_intent_name(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("name: lamp_colour", "name: Lamp Colour")
    issues = issues_of(write_kb(tmp_path, intents_yml=broken))

    assert issues[0].file == "intents.yml"
    assert issues[0].line == 10
    assert "'Lamp Colour' is invalid" in issues[0].message
    # its response now names an unknown intent, and that is reported too
    assert any(i.file == "responses.yml" and "lamp_colour" in i.message for i in issues)


def test_intent_defined_twice(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("name: ask_person", "name: lamp_broken")
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert (issue.file, issue.line) == ("intents.yml", 18)
    assert "defined twice (first on line 2)" in issue.message


def test_handoff_must_be_boolean(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("handoff: true", "handoff: maybe")
    issues = issues_of(write_kb(tmp_path, intents_yml=broken))

    assert any(i.line == 20 and "must be true or false" in i.message for i in issues)


def test_single_intent_is_not_enough(tmp_path: Path) -> None:
    intents = "\n".join(INTENTS_YML.splitlines()[:9]) + "\n"
    issue = only_issue(
        write_kb(
            tmp_path,
            intents_yml=intents,
            responses_yml=RESPONSES_YML.replace('  lamp_colour: "The lamp comes in black, white and green."\n', ""),
            faq_yml=None,
        )
    )

    assert issue.file == "intents.yml"
    assert "at least two intents" in issue.message


def test_empty_response_variation(tmp_path: Path) -> None:
    broken = RESPONSES_YML.replace('    - "That should not happen. We will send a new one."', '    - ""')
    issue = only_issue(write_kb(tmp_path, responses_yml=broken))

    assert (issue.file, issue.line) == ("responses.yml", 4)
    assert "non-empty string" in issue.message


def test_faq_entry_problems(tmp_path: Path) -> None:
    faq = "faq:\n  - question: Is it bright?\n    intent: lamp_size\n  - answer: no question here\n"
    issues = issues_of(write_kb(tmp_path, faq_yml=faq))

    assert {(i.file, i.line) for i in issues} == {("faq.yml", 2), ("faq.yml", 3), ("faq.yml", 4)}
    messages = " ".join(i.message for i in issues)
    assert "unknown intent `lamp_size`" in messages
    assert "non-empty `answer`" in messages
    assert "non-empty `question`" in messages


def test_faq_intent_that_is_not_a_name_is_reported_not_crashed(tmp_path: Path) -> None:
    faq = "faq:\n  - question: Is it bright?\n    answer: Very.\n    intent: [lamp_colour]\n"
    issue = only_issue(write_kb(tmp_path, faq_yml=faq))

    assert (issue.file, issue.line) == ("faq.yml", 4)
    assert "intent" in issue.message


def test_issue_text_names_file_and_line() -> None:
    assert str(KBIssue("intents.yml", 7, "fix it")) == "intents.yml:7: fix it"
    assert str(KBIssue("kb.yml", None, "create it")) == "kb.yml: create it"
    assert str(KBValidationError([KBIssue("kb.yml", None, "x")])).startswith("the knowledge base has 1 problem:")


# --- out-of-scope examples --------------------------------------------------------------------

OUT_OF_SCOPE_YML = """\
out_of_scope:
  - will it rain tomorrow
  - tell me a joke
"""


def test_out_of_scope_examples_load_and_join_the_scope_examples(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, intents_yml=INTENTS_YML + OUT_OF_SCOPE_YML))

    assert kb.out_of_scope == ("will it rain tomorrow", "tell me a joke")
    texts, labels = kb.scope_examples()
    assert texts[-2:] == ["will it rain tomorrow", "tell me a joke"]
    assert labels[-2:] == ["out_of_scope", "out_of_scope"]
    assert "out_of_scope" not in kb.intent_names
    assert kb.training_hash() == load_kb(write_kb(tmp_path / "plain")).training_hash()
    assert kb.content_hash() != load_kb(write_kb(tmp_path / "plain")).content_hash()


def test_out_of_scope_example_that_is_also_an_intent_example(tmp_path: Path) -> None:
    broken = INTENTS_YML + OUT_OF_SCOPE_YML + "  - Operator\n"
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert issue.file == "intents.yml"
    assert issue.line == 30
    assert "ask_person" in issue.message and "keep it in one place" in issue.message


def test_out_of_scope_must_be_a_list_and_is_not_an_intent_name(tmp_path: Path) -> None:
    not_a_list = only_issue(write_kb(tmp_path / "a", intents_yml=INTENTS_YML + "out_of_scope: nope\n"))
    assert not_a_list.line == 27 and "must be a list" in not_a_list.message

    reserved = INTENTS_YML.replace("name: lamp_colour", "name: out_of_scope")
    first = issues_of(write_kb(tmp_path / "b", intents_yml=reserved))[0]
    assert first.line == 10
    assert "reserved" in first.message and "top-level `out_of_scope:`" in first.message


# --- entity annotations -------------------------------------------------------------------------

ANNOTATED_YML = INTENTS_YML.replace("      - my lamp flickers\n", "      - my lamp [L-200](model) flickers\n").replace(
    "      - is there a green lamp\n", """      - 'is there a [lime]{"entity": "colour", "value": "green"} lamp'\n"""
)
PLAIN_YML = INTENTS_YML.replace("my lamp flickers", "my lamp L-200 flickers").replace(
    "is there a green lamp", "is there a lime lamp"
)


def test_annotations_are_stripped_and_their_spans_kept(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path, intents_yml=ANNOTATED_YML))

    broken, colour = kb.intent("lamp_broken"), kb.intent("lamp_colour")
    assert broken.examples[0] == "my lamp L-200 flickers"
    assert broken.spans(0) == (EntitySpan("model", 8, 13, "L-200"),)
    assert broken.examples[0][8:13] == "L-200"
    assert colour.examples[1] == "is there a lime lamp"
    assert colour.spans(1) == (EntitySpan("colour", 11, 15, "green"),)
    assert len(broken.annotations) == len(broken.examples)
    assert broken.spans(1) == () and kb.intent("ask_person").annotations == ((),) * 5
    texts, _ = kb.training_examples()
    assert "my lamp L-200 flickers" in texts
    assert not any("[" in text for text in texts)


def test_annotations_change_the_content_hash_but_not_the_training_hash(tmp_path: Path) -> None:
    annotated = load_kb(write_kb(tmp_path / "a", intents_yml=ANNOTATED_YML))
    plain = load_kb(write_kb(tmp_path / "p", intents_yml=PLAIN_YML))

    assert annotated.intent("lamp_broken").examples == plain.intent("lamp_broken").examples
    assert annotated.training_hash() == plain.training_hash()
    assert annotated.content_hash() != plain.content_hash()
    renamed = ANNOTATED_YML.replace("[L-200](model)", "[L-200](lamp_model)")
    assert load_kb(write_kb(tmp_path / "r", intents_yml=renamed)).content_hash() != annotated.content_hash()


def test_unannotated_intents_hash_as_before(tmp_path: Path) -> None:
    kb = load_kb(write_kb(tmp_path))
    bare = replace(kb, intents=tuple(replace(i, annotations=()) for i in kb.intents))

    assert kb.intent("lamp_broken").annotations == ((),) * 5
    assert bare.content_hash() == kb.content_hash()  # without spans the hash has no annotations, as before them


@pytest.mark.parametrize(
    ("example", "fragment"),
    [
        ("my lamp [L-200] (model) flickers", "remove the space after `[L-200]`"),
        ("my lamp [L-200 flickers", "is never closed"),
        ("my lamp L-200](model) flickers", "closes no `[`"),
        ("my lamp [L-200](lamp model) flickers", "entity name 'lamp model' after `[L-200]` is invalid"),
        ("""'my lamp [L-200]{"entity": 5} flickers'""", 'needs "entity" as a string'),
    ],
)
def test_malformed_markup_names_file_line_and_fix(tmp_path: Path, example: str, fragment: str) -> None:
    broken = INTENTS_YML.replace("      - my lamp flickers\n", f"      - {example}\n")
    issues = issues_of(write_kb(tmp_path, intents_yml=broken))

    assert (issues[0].file, issues[0].line) == ("intents.yml", 5)
    assert "entity markup" in issues[0].message and "lamp_broken" in issues[0].message
    assert fragment in issues[0].message
    # the example is left out, so the intent is also one example short
    assert [i.message for i in issues[1:]] == [
        "intent `lamp_broken` has 4 examples; add at least 5 (15 or more works best)"
    ]


def test_duplicates_are_found_on_the_stripped_text(tmp_path: Path) -> None:
    broken = INTENTS_YML.replace("is frayed\n", "is frayed\n      - my [lamp](product) flickers\n")
    issue = only_issue(write_kb(tmp_path, intents_yml=broken))

    assert (issue.file, issue.line) == ("intents.yml", 10)
    assert "duplicate example 'my lamp flickers'" in issue.message
