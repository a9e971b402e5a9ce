"""kb.rasa.importer on whole Rasa projects: rules, stories, forms, entities and buttons keep their behaviour.

The main fixture, tests/fixtures/rasa_helpdesk, is a Rasa 3 IT-helpdesk bot written for these
tests (its actions run on a real rasa-sdk action server). A small Rasa 2 project is written here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.core.entities import EntityExtractor
from bot.errors import KBValidationError
from kb.forms_model import BUTTON, CUSTOM, ENTITY, INTENT, TEXT, TRIGGER, StopQuestion
from kb.loader import load_kb
from kb.model import SYSTEM_DEFAULTS, Button, KnowledgeBase
from kb.rasa.importer import RasaImportSummary, import_rasa, import_rasa_project

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "rasa_helpdesk"
RULES, STORIES = FIXTURE / "data" / "rules.yml", FIXTURE / "data" / "stories.yml"
DOMAIN, RESPONSES = FIXTURE / "domain" / "domain.yml", FIXTURE / "domain" / "responses.yml"
HELPDESK_NLU, ENTITIES_NLU = FIXTURE / "data" / "nlu" / "helpdesk.yml", FIXTURE / "data" / "nlu" / "entities.yml"
FAQ = ("opening_hours", "wifi_access", "printer_setup", "vpn_setup")


def line_of(path: Path, needle: str, *, after: str | None = None) -> int:
    """The 1-based line of the first line of ``path`` holding ``needle`` (after the line holding ``after``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0 if after is None else next(i for i, line in enumerate(lines) if after in line) + 1
    return next(number for number, line in enumerate(lines[start:], start=start + 1) if needle in line)


def note_at(summary: RasaImportSummary, path: Path, line: int | None) -> str:
    notes = [n.message for n in summary.notes if n.file == str(path) and n.line == line]
    assert notes, f"no note at {path}:{line}; notes: {[str(n) for n in summary.notes]}"
    return " | ".join(notes)


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory: pytest.TempPathFactory) -> tuple[RasaImportSummary, KnowledgeBase, Path]:
    out = tmp_path_factory.mktemp("import") / "helpdesk-kb"
    summary = import_rasa_project(FIXTURE, out, name="IT Helpdesk")
    return summary, load_kb(out), out


def written(out: Path, name: str) -> dict:
    return yaml.safe_load((out / name).read_text(encoding="utf-8"))


# --- the helpdesk project ---------------------------------------------------------------------


def test_every_intent_rasa_answers_is_answered(helpdesk) -> None:
    summary, kb, _ = helpdesk

    assert kb.name == "IT Helpdesk"
    assert set(kb.intent_names) == {
        "greet", "goodbye", "thank_you", "affirm", "deny", "stop", "bot_challenge",
        *(f"faq_{name}" for name in FAQ),
        "reset_password", "open_ticket", "inform", "check_ticket_status", "check_service_status",
    }  # fmt: skip
    assert summary.handoff == ()  # the helpdesk hands nothing off
    # `inform` only answers forms' questions; outside a form, the fallback message (a handoff would break the forms)
    assert kb.responses["inform"] == ("Sorry, I didn't understand that. Could you say it another way?",)
    assert kb.intent("check_ticket_status").action == "action_check_ticket_status"  # a rule
    assert kb.intent("check_service_status").action == "action_service_status"  # a one-turn story
    assert kb.intent("reset_password").form == "password_reset_form"
    assert kb.intent("open_ticket").form == "ticket_form"
    assert summary.by_form == {"reset_password": "password_reset_form", "open_ticket": "ticket_form"}
    assert kb.responses["bot_challenge"] == (
        "I'm the helpdesk's virtual assistant. A technician reads every ticket I open.",
    )
    assert kb.responses["stop"] == ("Okay, stopped. Is there anything else I can help with?",)
    goodbye = ("Glad I could help. Have a good day!", "You're welcome. Bye for now!")
    assert kb.responses["goodbye"] == goodbye
    assert kb.responses["thank_you"] == goodbye  # utter_goodbye answers thank_you too: copied
    assert kb.responses["deny"] == goodbye  # from the `or:` after a ticket: no other answer for deny
    assert kb.responses["affirm"] == ("What else can I do for you?",)  # a later story turn, kept for any context
    # the nlu_fallback rule answers with utter_default
    assert kb.system["fallback"] == "Sorry, I didn't understand that. Could you say it another way?"


def test_retrieval_intents_are_answered_by_their_responses(helpdesk) -> None:
    _, kb, _ = helpdesk
    faq = yaml.safe_load((FIXTURE / "data" / "nlu" / "faq.yml").read_text(encoding="utf-8"))["responses"]

    for name in FAQ:
        assert kb.responses[f"faq_{name}"] == (faq[f"utter_faq/{name}"][0]["text"],)
    assert kb.intent("faq_vpn_setup").spans(7)[0].value == "VPN client"


def test_forms_follow_the_domain(helpdesk) -> None:
    summary, kb, out = helpdesk
    reset, ticket = kb.forms["password_reset_form"], kb.forms["ticket_form"]

    assert reset.slot_names == ("username", "email")
    assert [(s.source, s.entity) for s in reset.slots] == [(ENTITY, "username"), (ENTITY, "email")]
    assert (reset.done_action, reset.validate) == ("action_reset_password", None)

    assert ticket.slot_names == ("issue_type", "asset_tag", "description", "urgent")  # required_slots order
    issue, asset, description, urgent = ticket.slots
    assert issue.source == BUTTON  # an entity Deskmate cannot find, filled by the question's buttons
    assert asset.source == CUSTOM  # filled by validate_ticket_form's extract_asset_tag
    assert description.source == TEXT
    assert description.not_intents == ("stop", *(f"faq_{name}" for name in FAQ))  # `faq` is the retrieval intent
    assert (urgent.source, dict(urgent.values)) == (INTENT, {"affirm": True, "deny": False})
    assert urgent.ask_action == "action_ask_urgent"
    assert ticket.validate == "validate_ticket_form"
    assert ticket.done == (("action", "action_submit_ticket"), ("response", "anything_else"))  # in Rasa's order
    assert ticket.ignored_intents == ("greet", "thank_you")
    # story 'Stop opening a ticket': stop -> utter_ask_continue, deny -> leave -> utter_ticket_cancelled
    assert ticket.stop == StopQuestion(
        ask="ask_continue", leave_on="deny", stopped="ticket_cancelled", intents=("stop",)
    )
    assert summary.forms == {
        "password_reset_form": ("username", "email"),
        "ticket_form": ("issue_type", "asset_tag", "description", "urgent"),
    }
    assert written(out, "forms.yml")["forms"]["ticket_form"]["slots"][3] == {
        "name": "urgent",
        "from": "intent",
        "intents": {"affirm": True, "deny": False},
        "ask_action": "action_ask_urgent",
    }
    assert set(summary.actions) == {
        "action_ask_urgent", "action_check_ticket_status", "action_reset_password",
        "action_service_status", "action_submit_ticket", "validate_ticket_form",
    }  # fmt: skip


def test_form_questions_are_named_responses(helpdesk) -> None:
    _, kb, _ = helpdesk

    assert kb.responses["ask_username"] == ("What's your username? It is two letters and five digits, like ab12345.",)
    assert kb.templates["ask_email"][0].slots == {"username"}  # slots in texts are fine now
    assert kb.responses["ask_ticket_form_asset_tag"][0].startswith("What's the asset tag")
    assert "ask_description" in kb.responses


def test_entities_from_regexes_lookups_and_synonyms(helpdesk) -> None:
    summary, kb, out = helpdesk
    entities = {e["name"]: e for e in written(out, "entities.yml")["entities"]}

    assert entities["username"] == {"name": "username", "pattern": "[a-z]{2}\\d{5}"}
    assert entities["ticket_id"]["pattern"] == "(?:HD-\\d{6}|(?i:hd\\d{6}))"  # two regexes, the flag scoped
    assert entities["software"]["lookup"] == ["Outlook", "Microsoft Teams", "Zoom", "SharePoint", "Jira", "VPN client"]
    assert entities["software"]["synonyms"] == {
        "Microsoft Teams": ["teams", "MS Teams"],
        "VPN client": ["GlobalProtect", "vpn app"],
    }
    assert summary.declared == {"username": "pattern", "email": "pattern", "ticket_id": "pattern", "software": "lookup"}
    found = EntityExtractor(kb.entities).extract("is teams down? my ticket is hd330918, I'm jd48213")
    assert {(e.entity, e.value) for e in found} == {
        ("software", "Microsoft Teams"),
        ("ticket_id", "hd330918"),
        ("username", "jd48213"),
    }
    learned = note_at(summary, HELPDESK_NLU, line_of(HELPDESK_NLU, "[hardware](issue_type)"))
    assert "entity `issue_type`" in learned and "lookup: [hardware, software, network, access]" in learned
    synonym = note_at(summary, ENTITIES_NLU, line_of(ENTITIES_NLU, "synonym: access"))
    assert "not imported" in synonym and "`issue_type` has no lookup list" in synonym
    assert "added to the lookup list of `software`" in note_at(
        summary, ENTITIES_NLU, line_of(ENTITIES_NLU, "synonym: VPN client")
    )
    assert written(out, "rasa.yml")["synonyms"] == {"access": ["log in", "permissions"]}


def test_buttons_are_kept(helpdesk) -> None:
    summary, kb, _ = helpdesk

    assert kb.templates["greet"][0].buttons == (
        Button(title="Reset my password", intent="reset_password"),
        Button(title="Report a problem", intent="open_ticket"),
    )
    assert kb.templates["ask_issue_type"][0].buttons == (
        Button(title="Hardware", value="hardware"),
        Button(title="Software", value="software"),
        Button(title="Network", value="network"),
        Button(title="Access or permissions", value="access"),
    )
    assert kb.templates["affirm"][0].buttons == (Button(title="Check a ticket", intent="check_ticket_status"),)
    link = note_at(summary, RESPONSES, line_of(RESPONSES, 'title: "Self-service portal"'))
    assert "left out" in link and "is a link" in link


def test_what_does_not_map_is_reported_with_file_and_line(helpdesk) -> None:
    summary, _, _ = helpdesk

    start = note_at(summary, RULES, line_of(RULES, "rule: Welcome at the start"))
    assert "`conversation_start: true`" in start
    welcome = note_at(summary, RULES, line_of(RULES, "action: utter_welcome"))
    assert "only at the start of a conversation" in welcome and "with `utter_greet`" in welcome
    assert "`condition:`" in note_at(summary, RULES, line_of(RULES, "rule: Ticket status before"))
    interruption = note_at(summary, RULES, line_of(RULES, "intent: faq", after="rule: An IT question"))
    assert "answers the interruption, then asks its question again" in interruption
    assert "deny, thank_you" in note_at(summary, STORIES, line_of(STORIES, "- or:"))
    memory = note_at(summary, STORIES, line_of(STORIES, "action: action_escalate_ticket"))
    assert "Rasa remembers the conversation" in memory and "with `utter_how_can_i_help`" in memory
    stop = note_at(summary, STORIES, line_of(STORIES, "intent: stop", after="story: Stop opening"))
    assert "asks `utter_ask_continue`, and `deny` leaves the form: the form's `stop:` question" in stop
    after = note_at(summary, STORIES, line_of(STORIES, "checkpoint: password_was_reset", after="story: Thanks after"))
    assert "checkpoint `password_was_reset`" in after
    inform = note_at(summary, HELPDESK_NLU, line_of(HELPDESK_NLU, "intent: inform"))
    assert "answers forms' questions" in inform and "answered with the fallback message" in inform
    button = note_at(summary, DOMAIN, line_of(DOMAIN, "type: from_entity", after="  issue_type:"))
    assert "`from: button`" in button
    assert not any("{username}" in n.message for n in summary.notes)


def test_describe_says_what_answers_what(helpdesk) -> None:
    summary, _, _ = helpdesk
    text = "\n".join(summary.describe())

    assert text.startswith("Imported 16 intents (")
    assert "Answered by a custom action: check_ticket_status (action_check_ticket_status)" in text
    assert "Starting a form: reset_password (password_reset_form), open_ticket (ticket_form)" in text
    assert "Forms (forms.yml): password_reset_form (username, email), ticket_form (issue_type, asset_tag" in text
    assert "Entities (entities.yml): username (pattern)" in text
    assert "DESKMATE_ACTION_SERVER_URL" in text
    assert "Hand off to an agent" not in text
    assert f"  - {RULES}:{line_of(RULES, 'rule: Welcome at the start')}: " in text


# --- the command line and the --nlu/--domain form ---------------------------------------------


def test_cli_imports_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "import-rasa", str(FIXTURE), "--out", str(tmp_path / "kb")]) == 0
    out = capsys.readouterr().out
    assert "Imported 16 intents" in out and "The KB loads" in out

    assert main(["kb", "import-rasa", "--out", str(tmp_path / "other")]) == 1
    assert "pass the Rasa project folder" in capsys.readouterr().err
    nlu = str(FIXTURE / "data" / "nlu" / "basics.yml")
    assert main(["kb", "import-rasa", str(FIXTURE), "--nlu", nlu, "--out", str(tmp_path / "other")]) == 1


def test_nlu_and_domain_options_still_work(tmp_path: Path) -> None:
    """One NLU file and the domain folder: no rules, so responses are found by name; forms only collect."""
    nlu = FIXTURE / "data" / "nlu" / "basics.yml"

    summary = import_rasa(nlu, FIXTURE / "domain", tmp_path / "kb")

    kb = load_kb(tmp_path / "kb")
    assert kb.responses["goodbye"] == ("Glad I could help. Have a good day!", "You're welcome. Bye for now!")
    assert kb.templates["greet"][0].buttons == ()  # reset_password and open_ticket are not imported
    assert set(summary.handoff) == {"thank_you", "bot_challenge"}  # affirm and deny answer the forms
    assert set(kb.forms) == {"password_reset_form", "ticket_form"}
    assert kb.forms["ticket_form"].done_action is None and kb.forms["ticket_form"].done_response is None
    ending = note_at(summary, DOMAIN, line_of(DOMAIN, "  ticket_form:", after="forms:"))
    assert "imported without `done`: the form collects its slots" in ending


def test_a_broken_rules_file_names_the_line_and_writes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "rasa"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    rules = project / "data" / "rules.yml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("  - action: utter_iamabot", "  - actoin: utter_iamabot"), encoding="utf-8")

    with pytest.raises(KBValidationError) as info:
        import_rasa_project(project, tmp_path / "out")

    (issue,) = info.value.issues
    assert (issue.file, issue.line) == (str(rules), line_of(rules, "actoin: utter_iamabot"))
    assert "needs one of intent, action" in issue.message and "found `actoin`" in issue.message
    assert not (tmp_path / "out").exists()

    rules.write_text(text.replace("- rule: Bot challenge", "- rule: [Bot challenge"), encoding="utf-8")
    with pytest.raises(KBValidationError) as info:
        import_rasa_project(project, tmp_path / "out")
    (issue,) = info.value.issues
    assert issue.file == str(rules) and "invalid YAML" in issue.message and issue.line is not None
    assert not (tmp_path / "out").exists()


def test_a_project_without_data_or_domain(tmp_path: Path) -> None:
    with pytest.raises(KBValidationError) as info:
        import_rasa_project(tmp_path, tmp_path / "out")
    messages = " | ".join(issue.message for issue in info.value.issues)
    assert "no data/ folder" in messages and "no domain.yml and no domain/ folder" in messages


# --- a Rasa 2 project -------------------------------------------------------------------------

RASA2_DOMAIN = """\
version: "2.0"
intents:
  - greet
  - order_pizza
  - inform
  - affirm
  - deny
entities:
  - size
slots:
  size: {type: text}
  extra_cheese: {type: bool}
  delivery: {type: bool}
forms:
  pizza_form:
    required_slots:
      size:
      - type: from_entity
        entity: size
      extra_cheese:
      - type: from_intent
        intent: affirm
        value: true
      - type: from_intent
        intent: deny
        value: false
      delivery:
      - type: from_trigger_intent
        intent: order_pizza
        value: true
actions:
  - action_hello
responses:
  utter_greet:
  - text: "Hello! Hungry?"
  utter_ask_size:
  - text: "Which size?"
    buttons:
    - title: "Large"
      payload: '/inform{"size": "large"}'
    - title: "Medium"
      payload: "medium"
  utter_ask_extra_cheese:
  - text: "Extra cheese?"
  utter_pizza_ordered:
  - text: "One {size} pizza coming up."
"""

RASA2_NLU = """\
version: "2.0"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
    - hey
    - good evening
    - hello there
- intent: order_pizza
  examples: |
    - I want a pizza
    - a [large](size) pizza please
    - order pizza
    - can I get a pizza
    - pizza time
- intent: inform
  examples: |
    - [small](size)
    - [medium](size) please
    - make it [large](size)
    - the [large](size) one
    - [small](size) is fine
- intent: affirm
  examples: |
    - yes
    - sure
    - yes please
    - ok
    - yep
- intent: deny
  examples: |
    - no
    - nope
    - no thanks
    - not today
    - nah
- lookup: size
  examples: |
    - small
    - medium
    - large
"""

RASA2_DIALOGUE = """\
version: "2.0"
rules:
- rule: greet
  wait_for_user_input: false
  steps:
  - intent: greet
  - action: utter_greet
  - action: action_hello
- rule: order
  steps:
  - intent: order_pizza
  - action: pizza_form
  - active_loop: pizza_form
- rule: ordered
  condition:
  - active_loop: pizza_form
  steps:
  - action: pizza_form
  - active_loop: null
  - action: utter_pizza_ordered
stories:
- story: mixed or
  steps:
  - intent: greet
  - action: utter_greet
  - or:
    - intent: affirm
    - slot_was_set:
      - size: large
  - action: utter_greet
- story: end to end
  steps:
  - user: hello pizza shop
  - action: utter_greet
"""


def test_a_rasa_2_project_with_form_mappings(tmp_path: Path) -> None:
    project = tmp_path / "pizza"
    (project / "data").mkdir(parents=True)
    (project / "domain.yml").write_text(RASA2_DOMAIN, encoding="utf-8")
    (project / "data" / "nlu.yml").write_text(RASA2_NLU, encoding="utf-8")
    (project / "data" / "dialogue.yml").write_text(RASA2_DIALOGUE, encoding="utf-8")
    dialogue = project / "data" / "dialogue.yml"

    summary = import_rasa_project(project, tmp_path / "kb")

    kb = load_kb(tmp_path / "kb")
    form = kb.forms["pizza_form"]
    size, cheese, delivery = form.slots
    assert (size.source, size.entity) == (ENTITY, "size")  # the lookup table made `size` an entity
    assert (cheese.source, dict(cheese.values)) == (INTENT, {"affirm": True, "deny": False})
    assert (delivery.source, dict(delivery.values)) == (TRIGGER, {"order_pizza": True})
    assert form.done_response == "pizza_ordered"
    assert kb.templates["pizza_ordered"][0].slots == {"size"}
    assert kb.templates["ask_size"][0].buttons == (Button("Large", value="large"), Button("Medium", value="medium"))
    assert kb.intent("order_pizza").form == "pizza_form"
    assert kb.responses["greet"] == ("Hello! Hungry?",)
    # affirm and deny fill extra_cheese, inform's examples carry sizes: answers to the form, never handoffs
    assert summary.handoff == ()
    assert kb.responses["inform"] == kb.responses["affirm"] == (SYSTEM_DEFAULTS["fallback"],)
    assert "`wait_for_user_input: false`" in note_at(summary, dialogue, line_of(dialogue, "rule: greet"))
    several = note_at(summary, dialogue, line_of(dialogue, "action: action_hello"))
    assert "keeps `utter_greet` and does not run `action_hello`" in several
    assert "mixes other steps than intents" in note_at(summary, dialogue, line_of(dialogue, "- or:"))
    assert "end-to-end" in note_at(summary, dialogue, line_of(dialogue, "user: hello pizza shop"))
