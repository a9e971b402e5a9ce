"""kb.rasa.entities and kb.rasa.responses: Rasa's regexes, lookups, synonyms and buttons, edge cases."""

from __future__ import annotations

from pathlib import Path

from kb.entities import compile_pattern
from kb.rasa.domain import Where
from kb.rasa.entities import plan_entities
from kb.rasa.files import NLUItem, Report, merge_items, read_nlu, read_responses
from kb.rasa.responses import AskContext, convert_response
from kb.yamlio import load_yaml

NLU = """\
nlu:
- intent: ask
  examples: |
    - is [teams]{"entity": "app", "value": "Microsoft Teams"} down
    - order [AB-1234](code) please
- regex: code
  examples: |
    - AB-\\d{4}
- lookup: code
  examples: |
    - legacy code
- lookup: app
  examples: |
    - Outlook
    - Microsoft Teams
    - teams
    - outlook
- synonym: Microsoft Teams
  examples: |
    - teams
    - ms teams
- regex: help_words
  examples: |
    - \\bhelp\\b
- regex: empty
  examples: |
    - \\d*
"""


def items(tmp_path: Path, text: str) -> tuple[list[NLUItem], Path]:
    path = tmp_path / "nlu.yml"
    path.write_text(text, encoding="utf-8")
    return merge_items(read_nlu(path, load_yaml(path), Report())), path


def test_regexes_lookups_and_synonyms(tmp_path: Path) -> None:
    nlu, _ = items(tmp_path, NLU.replace("- regex: empty", "- regex: app2"))
    report = Report()

    plan = plan_entities(nlu, {}, report)

    entities = {e["name"]: e for e in plan.entities}
    # a regex and a lookup of one entity: one pattern, the lookup values case-insensitive
    assert entities["code"] == {"name": "code", "pattern": "(?:AB-\\d{4}|(?i:legacy\\s+code))"}
    assert compile_pattern(entities["code"]["pattern"]).search("my Legacy  Code") is not None
    # `teams` was a lookup value and a synonym of Microsoft Teams: it is only the synonym now
    assert entities["app"] == {
        "name": "app",
        "lookup": ["Outlook", "Microsoft Teams"],
        "synonyms": {"Microsoft Teams": ["teams", "ms teams"]},
    }
    assert plan.leftovers["regexes"] == {"help_words": ["\\bhelp\\b"], "app2": ["\\d*"]}
    assert any("`teams` is a lookup value of `app`" in n.message for n in report.notes)
    assert any("`help_words` is no entity" in n.message for n in report.notes)
    assert plan.learned == set()


def test_a_regex_that_matches_empty_text_is_not_imported(tmp_path: Path) -> None:
    nlu, path = items(tmp_path, NLU)
    report = Report()

    plan = plan_entities(nlu, {"empty": Where(path, 1)}, report)

    assert "empty" not in {e["name"] for e in plan.entities}
    assert plan.leftovers["regexes"]["empty"] == ["\\d*"]
    (note,) = [n for n in report.notes if "regex `empty`" in n.message]
    assert note.line == NLU.splitlines().index("- regex: empty") + 1 and "can match empty text" in note.message


RESPONSES = """\
responses:
  utter_ask_size:
  - text: "Which size? {0} is not a slot"
    buttons:
    - title: "Large"
      payload: '/inform{"size": "large"}'
    - title: "large"
      payload: '/inform{"size": "big"}'
    - title: Yes
      payload: "/affirm"
    - title: "Shop"
      payload: "https://shop.example"
    - title: "Broken"
      payload: '/inform{"size": '
    - title: "Odd"
      payload: '/inform{"size" 1}'
    - title: "List"
      payload: '/inform["large"]'
    - title: "Help"
      payload: "/help"
"""


def test_buttons_and_braces(tmp_path: Path) -> None:
    path = tmp_path / "domain.yml"
    path.write_text(RESPONSES, encoding="utf-8")
    report = Report()
    (response,) = read_responses(path, load_yaml(path), report).values()

    variations = convert_response(response, intents={"help": "help"}, report=report, ask=AskContext("size"))

    assert variations == [
        {
            "text": "Which size? {{0}} is not a slot",
            "buttons": [{"title": "Large", "value": "large"}, {"title": "Help", "intent": "help"}],
        }
    ]
    messages = " | ".join(n.message for n in report.notes)
    assert "kept as literal text" in messages
    assert "a second `utter_ask_size` button titled 'large'" in messages
    assert "reads as True: put it in quotes" in messages
    assert "is a link" in messages and "is not `/intent` or `/intent{...JSON...}`" in messages
    assert "are not a JSON object" in messages
