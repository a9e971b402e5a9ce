"""Load a KB folder and validate it; every problem names the file, the line and the fix."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import KBIssue, KBValidationError
from kb.annotations import AnnotationError, parse_annotated
from kb.approved import APPROVED, parse_approved
from kb.entities import ENTITIES, parse_entities
from kb.forms import FORMS, form_response_names, parse_forms
from kb.languages.localized import LANGUAGE_CODE, localized
from kb.model import (
    OUT_OF_SCOPE,
    SYSTEM_DEFAULTS,
    SYSTEM_DEFAULTS_BY_LANGUAGE,
    Dialogue,
    EntitySpan,
    FAQEntry,
    Intent,
    KnowledgeBase,
    Translation,
    Turn,
)
from kb.responses import parse_responses
from kb.yamlio import LineDict, LineList, YAMLSyntaxError, load_yaml

ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MIN_EXAMPLES = 5
SPEAKERS = ("customer", "agent")
FILES = ("kb.yml", "intents.yml", "responses.yml", "faq.yml", "dialogues.jsonl", APPROVED, ENTITIES, FORMS)
REQUIRED_FILES = ("kb.yml", "intents.yml", "responses.yml")
_SPACES = re.compile(r"\s+")


def example_key(text: str) -> str:
    """What two examples are compared by: casefolded, each run of whitespace one space, stripped.

    ``"Hi  there"`` and ``"hi there "`` are the same example; pass the text without entity markup.
    """
    return _SPACES.sub(" ", text.casefold()).strip()


class _Issues:
    def __init__(self) -> None:
        self.items: list[KBIssue] = []

    def add(self, file: str, line: int | None, message: str) -> None:
        self.items.append(KBIssue(file, line, message))


def load_kb(path: str | Path) -> KnowledgeBase:
    """Load and validate the KB folder at ``path``.

    Raises :class:`KBValidationError` listing every problem found (not just the first).
    """
    root = Path(path)
    issues = _Issues()
    if not root.is_dir():
        issues.add(str(root), None, "no such folder; pass the path of a KB folder (see docs/kb-format.md)")
        raise KBValidationError(issues.items)
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            issues.add(name, None, f"file is missing; create {name} (see docs/kb-format.md)")
    if issues.items:
        raise KBValidationError(issues.items)

    meta = _read_yaml(root, "kb.yml", issues)
    intents_doc = _read_yaml(root, "intents.yml", issues)
    responses_doc = _read_yaml(root, "responses.yml", issues)
    faq_doc = _read_yaml(root, "faq.yml", issues) if (root / "faq.yml").is_file() else LineDict()
    entities_doc = _read_yaml(root, ENTITIES, issues) if (root / ENTITIES).is_file() else LineDict()
    forms_doc = _read_yaml(root, FORMS, issues) if (root / FORMS).is_file() else LineDict()
    if issues.items:
        raise KBValidationError(issues.items)

    languages = _parse_languages(meta, issues)
    translations = {language: Translation() for language in languages[1:]}
    name, description, system = _parse_meta(meta, languages, translations, issues)
    intents = _parse_intents(intents_doc, issues, languages, translations)
    out_of_scope = _parse_out_of_scope(intents_doc, intents, issues)
    names = {intent.name for intent in intents}
    templates = parse_responses(
        responses_doc,
        intents,
        issues.items,
        named=form_response_names(forms_doc),
        languages=languages,
        translations=translations,
    )
    entities = parse_entities(entities_doc, issues.items)
    forms = parse_forms(forms_doc, intents=intents, entities=entities, templates=templates, issues=issues.items)
    _check_form_intents(intents_doc, intents, forms_doc, issues)
    faq = _parse_faq(faq_doc, names, issues, languages, translations)
    dialogues = _parse_dialogues(root / "dialogues.jsonl", issues)
    approved = parse_approved(root / APPROVED, issues.items)
    if issues.items:
        raise KBValidationError(issues.items)
    return KnowledgeBase(
        name=name,
        description=description,
        language=languages[0],
        languages=languages,
        translations=translations,
        system=system,
        intents=tuple(intents),
        responses={name: tuple(t.text for t in variations) for name, variations in templates.items()},
        templates=templates,
        entities=tuple(entities),
        faq=tuple(faq),
        dialogues=tuple(dialogues),
        out_of_scope=tuple(out_of_scope),
        approved=tuple(approved),
        forms=forms,
        root=root,
    )


def _check_form_intents(doc: LineDict, intents: list[Intent], forms_doc: LineDict, issues: _Issues) -> None:
    """Every ``form:`` of intents.yml names a form of forms.yml."""
    raw_forms = forms_doc.get("forms")
    declared: dict[str, Any] = raw_forms if isinstance(raw_forms, LineDict) else {}
    raw = doc.get("intents")
    items = {item.get("name"): item for item in raw if isinstance(item, LineDict)} if isinstance(raw, LineList) else {}
    for intent in intents:
        if intent.form is not None and intent.form not in declared:
            line = items[intent.name].line_of("form") if intent.name in items else None
            issues.add(
                "intents.yml",
                line,
                f"intent `{intent.name}` starts form `{intent.form}`, which forms.yml does not define; "
                "add it to forms.yml (see docs/kb-format.md) or fix the name",
            )


def _read_yaml(root: Path, name: str, issues: _Issues) -> LineDict:
    try:
        doc = load_yaml(root / name)
    except YAMLSyntaxError as exc:
        issues.add(name, exc.line, f"{exc}; fix the YAML syntax (check indentation and quotes)")
        return LineDict()
    except UnicodeDecodeError:
        issues.add(name, None, "file is not UTF-8; save it as UTF-8")
        return LineDict()
    if doc is None:
        issues.add(name, 1, "file is empty; see docs/kb-format.md for what it must hold")
        return LineDict()
    if not isinstance(doc, LineDict):
        issues.add(name, 1, "the file must be a YAML mapping (key: value) at the top level")
        return LineDict()
    return doc


def _text(value: Any) -> str | None:
    """A non-empty stripped string, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _parse_languages(doc: LineDict, issues: _Issues) -> tuple[str, ...]:
    """kb.yml's ``languages: [en, zh]`` (the default first) or ``language: zh``; English when neither."""
    if "languages" not in doc:
        language = _text(doc.get("language")) or "en"
        if not LANGUAGE_CODE.match(language):
            issues.add(
                "kb.yml", doc.line_of("language"), f"`language` {language!r} is not a language code like en or zh"
            )
            return ("en",)
        return (language,)
    raw = doc.get("languages")
    if not isinstance(raw, LineList) or not raw or not all(isinstance(v, str) and LANGUAGE_CODE.match(v) for v in raw):
        issues.add("kb.yml", doc.line_of("languages"), "`languages` must be a list of language codes like [en, zh]")
        return ("en",)
    languages = tuple(dict.fromkeys(str(v) for v in raw))
    declared = _text(doc.get("language"))
    if declared is not None and declared != languages[0]:
        issues.add(
            "kb.yml",
            doc.line_of("language"),
            f"`language` is {declared!r} but `languages` starts with {languages[0]!r}; "
            "list the default language first, or drop `language`",
        )
    return languages


def _parse_meta(
    doc: LineDict, languages: tuple[str, ...], translations: dict[str, Translation], issues: _Issues
) -> tuple[str, str, dict[str, str]]:
    name = _text(doc.get("name"))
    if name is None:
        issues.add(
            "kb.yml", doc.line_of("name") if "name" in doc else 1, "`name` is required: add `name: Your Company`"
        )
    description = _text(doc.get("description")) or ""
    system = dict(SYSTEM_DEFAULTS_BY_LANGUAGE.get(languages[0], SYSTEM_DEFAULTS))
    raw_system = doc.get("system")
    if raw_system is not None:
        if not isinstance(raw_system, LineDict):
            issues.add("kb.yml", doc.line_of("system"), "`system` must be a mapping of message name to text")
        else:
            for key, value in raw_system.items():
                if key not in SYSTEM_DEFAULTS:
                    allowed = ", ".join(SYSTEM_DEFAULTS)
                    issues.add("kb.yml", raw_system.line_of(key), f"unknown system message `{key}`; allowed: {allowed}")
                    continue
                text, others, problem = localized(value, languages)
                if text is None:
                    issues.add("kb.yml", raw_system.line_of(key), f"system message `{key}` {problem}")
                    continue
                system[key] = text
                for language, translated in others.items():
                    translations[language].system[key] = translated
    return name or "", description, system


def _parse_intents(
    doc: LineDict, issues: _Issues, languages: tuple[str, ...], translations: dict[str, Translation]
) -> list[Intent]:
    file = "intents.yml"
    raw = doc.get("intents")
    if not isinstance(raw, LineList) or not raw:
        issues.add(
            file, doc.line_of("intents") if "intents" in doc else 1, "`intents` must be a non-empty list of intents"
        )
        return []
    intents: list[Intent] = []
    seen: dict[str, int] = {}
    owners: dict[str, _Owner] = {}  # example_key -> the first intent with that example
    for index, item in enumerate(raw):
        line = raw.line_of(index)
        if not isinstance(item, LineDict):
            issues.add(file, line, "each intent must be a mapping with `name` and `examples`")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not INTENT_NAME.match(name):
            issues.add(
                file,
                item.line_of("name"),
                f"intent name {name!r} is invalid: use lowercase letters, digits and underscores, starting with a letter",
            )
            continue
        if name == OUT_OF_SCOPE:
            issues.add(
                file,
                item.line_of("name"),
                "`out_of_scope` is reserved; list such messages under the top-level `out_of_scope:` key instead",
            )
            continue
        if name in seen:
            issues.add(
                file,
                item.line_of("name"),
                f"intent `{name}` is defined twice (first on line {seen[name]}); merge the two",
            )
            continue
        seen[name] = item.line
        examples, annotations = _parse_examples(item, name, issues, owners)
        label = name.replace("_", " ").capitalize()
        if item.get("label") is not None:
            text, others, problem = localized(item.get("label"), languages)
            if text is None:
                issues.add(file, item.line_of("label"), f"`label` of intent `{name}` {problem}")
            else:
                label = text
                for language, translated in others.items():
                    translations[language].labels[name] = translated
        handoff = item.get("handoff", False)
        if not isinstance(handoff, bool):
            issues.add(file, item.line_of("handoff"), f"`handoff` of intent `{name}` must be true or false")
            handoff = False
        action = item.get("action")
        if action is not None and (not isinstance(action, str) or not ACTION_NAME.match(action)):
            issues.add(
                file,
                item.line_of("action"),
                f"`action` of intent `{name}` must be a custom action name like `action_order_status`",
            )
            action = None
        needs = item.get("action_slots", [])
        if not isinstance(needs, list) or not all(isinstance(n, str) and ACTION_NAME.match(n) for n in needs):
            issues.add(
                file, item.line_of("action_slots"), f"`action_slots` of intent `{name}` must be a list of slot names"
            )
            needs = []
        form = item.get("form")
        if form is not None and (not isinstance(form, str) or not INTENT_NAME.match(form)):
            issues.add(file, item.line_of("form"), f"`form` of intent `{name}` must be a form name of forms.yml")
            form = None
        intents.append(
            Intent(
                name=name,
                label=label,
                examples=tuple(examples),
                handoff=handoff,
                annotations=tuple(annotations),
                action=action,
                action_slots=tuple(needs),
                form=form,
            )
        )
    if len(intents) == 1 and not issues.items:
        issues.add(file, raw.line, "a KB needs at least two intents to tell apart; add another intent")
    return intents


def _parse_out_of_scope(doc: LineDict, intents: list[Intent], issues: _Issues) -> list[str]:
    """The optional top-level ``out_of_scope`` list: messages the bot must not answer."""
    file = "intents.yml"
    if "out_of_scope" not in doc:
        return []
    raw = doc.get("out_of_scope")
    if not isinstance(raw, LineList):
        issues.add(file, doc.line_of("out_of_scope"), "`out_of_scope` must be a list of customer messages")
        return []
    owner = {example_key(example): intent.name for intent in intents for example in intent.examples}
    texts: list[str] = []
    seen: dict[str, int] = {}
    for index, example in enumerate(raw):
        line = raw.line_of(index)
        text = _text(example) if isinstance(example, str) else None
        if text is None:
            issues.add(file, line, "each `out_of_scope` example must be a non-empty string (quote it if needed)")
            continue
        key = example_key(text)
        if key in seen:
            issues.add(file, line, f"duplicate out-of-scope example {text!r} (also on line {seen[key]}); remove one")
            continue
        if key in owner:
            issues.add(
                file,
                line,
                f"{text!r} is both an example of intent `{owner[key]}` and out of scope; keep it in one place",
            )
            continue
        seen[key] = line
        texts.append(text)
    return texts


@dataclass(frozen=True)
class _Owner:
    """Where an example was first seen: the intent, the line and the text as written (markup stripped)."""

    intent: str
    line: int
    text: str


def _parse_examples(
    item: LineDict, name: str, issues: _Issues, owners: dict[str, _Owner]
) -> tuple[list[str], list[tuple[EntitySpan, ...]]]:
    """The plain texts of an intent's examples and, aligned with them, their entity spans.

    An example another intent already has (``owners``, filled here) is reported: the classifier
    could not learn which of the two intents it means.
    """
    file = "intents.yml"
    raw = item.get("examples")
    if not isinstance(raw, LineList):
        issues.add(
            file,
            item.line_of("examples") if "examples" in item else item.line,
            f"intent `{name}` needs `examples`: a list of customer messages",
        )
        return [], []
    examples: list[str] = []
    annotations: list[tuple[EntitySpan, ...]] = []
    seen: dict[str, int] = {}
    for index, example in enumerate(raw):
        line = raw.line_of(index)
        marked = _text(example) if isinstance(example, str) else None
        if marked is None:
            issues.add(
                file,
                line,
                f"example of intent `{name}` must be a non-empty string (quote it if it starts with a special character or holds `: `)",
            )
            continue
        try:
            parsed = parse_annotated(marked)
        except AnnotationError as exc:
            issues.add(file, line, f"entity markup in example {marked!r} of intent `{name}`: {exc}")
            continue
        text = parsed.text
        key = example_key(text)
        if key in seen:
            issues.add(
                file, line, f"duplicate example {text!r} in intent `{name}` (also on line {seen[key]}); remove one"
            )
            continue
        seen[key] = line
        owner = owners.setdefault(key, _Owner(name, line, text))
        if owner.intent != name:
            written = f" as {owner.text!r}" if owner.text != text else ""
            issues.add(
                file,
                line,
                f"example {text!r} of intent `{name}` is also an example of intent `{owner.intent}`{written} "
                f"({file}:{owner.line}); keep it in one intent, or reword one of them so they say different things",
            )
        examples.append(text)
        annotations.append(parsed.spans)
    if len(examples) < MIN_EXAMPLES:
        issues.add(
            file,
            raw.line,
            f"intent `{name}` has {len(examples)} examples; add at least {MIN_EXAMPLES} (15 or more works best)",
        )
    return examples, annotations


def _parse_faq(
    doc: LineDict,
    intent_names: set[str],
    issues: _Issues,
    languages: tuple[str, ...],
    translations: dict[str, Translation],
) -> list[FAQEntry]:
    file = "faq.yml"
    if not doc:
        return []
    raw = doc.get("faq")
    if not isinstance(raw, LineList):
        issues.add(
            file,
            doc.line_of("faq") if "faq" in doc else 1,
            "`faq` must be a list of entries with `question` and `answer`",
        )
        return []
    entries: list[FAQEntry] = []
    for index, item in enumerate(raw):
        line = raw.line_of(index)
        if not isinstance(item, LineDict):
            issues.add(file, line, "each FAQ entry must be a mapping with `question` and `answer`")
            continue
        question = _text(item.get("question"))
        answer, others, problem = localized(item.get("answer"), languages) if "answer" in item else (None, {}, None)
        if question is None:
            issues.add(file, item.line, "FAQ entry needs a non-empty `question`")
        if answer is None:
            issues.add(
                file,
                item.line_of("answer") if "answer" in item else item.line,
                f"FAQ entry needs a non-empty `answer`{'' if problem is None else ': it ' + problem}",
            )
        intent = item.get("intent")
        if intent is not None and (not isinstance(intent, str) or intent not in intent_names):
            issues.add(
                file,
                item.line_of("intent"),
                f"FAQ entry names unknown intent `{intent}`; use one from intents.yml or remove `intent`",
            )
            intent = None
        if question and answer:
            for language, translated in others.items():
                translations[language].faq_answers[len(entries)] = translated
            entries.append(FAQEntry(question=question, answer=answer, intent=intent))
    return entries


def _parse_dialogues(path: Path, issues: _Issues) -> list[Dialogue]:
    file = path.name
    if not path.is_file():
        return []
    dialogues: list[Dialogue] = []
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        issues.add(file, None, "file is not UTF-8; save it as UTF-8")
        return []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            issues.add(
                file, number, f"invalid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object"
            )
            continue
        dialogue = _parse_dialogue(obj, file, number, issues)
        if dialogue is None:
            continue
        if dialogue.id in seen:
            issues.add(
                file,
                number,
                f"dialogue id `{dialogue.id}` is used twice (first on line {seen[dialogue.id]}); ids must be unique",
            )
            continue
        seen[dialogue.id] = number
        dialogues.append(dialogue)
    return dialogues


def _parse_dialogue(obj: Any, file: str, number: int, issues: _Issues) -> Dialogue | None:
    if not isinstance(obj, dict):
        issues.add(file, number, 'each line must be a JSON object like {"id": "d1", "turns": [...]}')
        return None
    dialogue_id = obj.get("id")
    if not isinstance(dialogue_id, (str, int)) or str(dialogue_id).strip() == "":
        issues.add(file, number, "dialogue needs an `id` (string)")
        return None
    turns_raw = obj.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        issues.add(file, number, "dialogue needs `turns`: a non-empty list of {speaker, text}")
        return None
    turns: list[Turn] = []
    for index, turn in enumerate(turns_raw, start=1):
        if not isinstance(turn, dict):
            issues.add(file, number, f"turn {index} must be an object with `speaker` and `text`")
            return None
        speaker, text = turn.get("speaker"), _text(turn.get("text"))
        if speaker not in SPEAKERS:
            issues.add(file, number, f'turn {index} has speaker {speaker!r}; use "customer" or "agent"')
            return None
        if text is None:
            issues.add(file, number, f"turn {index} needs a non-empty `text`")
            return None
        turns.append(Turn(speaker=str(speaker), text=text))
    return Dialogue(id=str(dialogue_id), turns=tuple(turns))
