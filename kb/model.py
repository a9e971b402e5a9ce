"""The knowledge base as plain values, after loading and validation (see docs/kb-format.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.forms_model import Form
from kb.placeholders import slot_names
from retrieval.persona import claims_to_be_person

OUT_OF_SCOPE = "out_of_scope"  # reserved: not an intent name; the label of messages no intent covers

SYSTEM_DEFAULTS: dict[str, str] = {
    "greeting": "Hi! How can I help you today?",
    "clarify": "I'm not sure I understood. Did you mean one of these?",
    "handoff": "I'm connecting you to a person from our team. They will reply here.",
    "fallback": "Sorry, I didn't get that. Could you say it another way?",
    # forms (see forms.yml): leaving a task, and a reply that answered nothing
    "form_stop": "Do you want to stop here? Nothing has been sent or changed yet.",
    "form_stopped": "OK, I've stopped there. Is there anything else I can help with?",
    "form_continue": "OK, let's carry on.",
    "form_retry": "Sorry, I didn't catch that.",
    "form_restart": "No problem, let's go through it again.",
    "form_done": "Thanks, that's everything I need.",
    "button_yes": "Yes",  # the buttons of a form's yes/no question
    "button_no": "No",
    # a customer writing a language the KB has no texts in (kb/languages/localized.py), once per conversation
    "other_language": "I can only reply in English, but I'll do my best to help.",
}
# the defaults of a KB whose default language is not English
SYSTEM_DEFAULTS_BY_LANGUAGE: dict[str, dict[str, str]] = {
    "en": SYSTEM_DEFAULTS,
    "zh": {
        "greeting": "您好！请问有什么可以帮您？",
        "clarify": "我不太确定您的意思，您是指下面哪一项？",
        "handoff": "正在为您转接人工客服，他们会在这里回复您。",
        "fallback": "抱歉，我没有看懂。您能换个说法吗？",
        "form_stop": "要在这里停下吗？目前还没有发送或更改任何内容。",
        "form_stopped": "好的，已经停下了。还有其他可以帮您的吗？",
        "form_continue": "好的，我们继续。",
        "form_retry": "抱歉，我没听明白。",
        "form_restart": "没问题，我们重新来一遍。",
        "form_done": "谢谢，我需要的信息都齐了。",
        "button_yes": "是",
        "button_no": "否",
        "other_language": "抱歉，我只能用中文回复，但我会尽力帮您。",
    },
}


@dataclass(frozen=True)
class EntitySpan:
    """An entity annotated in an example: ``text[start:end]`` of the plain example, meaning ``value``."""

    entity: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Intent:
    name: str
    label: str
    examples: tuple[str, ...]  # plain texts, entity markup stripped: what the classifier trains on
    handoff: bool = False
    # the entity spans of each example, aligned with ``examples``; empty when built without spans
    annotations: tuple[tuple[EntitySpan, ...], ...] = ()
    action: str | None = None  # a Rasa SDK custom action that answers this intent (see bot/actions)
    action_slots: tuple[str, ...] = ()  # run the action once these slots are known; until then the template answers
    form: str | None = None  # a form of forms.yml this intent starts (see kb/forms.py)

    def __post_init__(self) -> None:
        if self.annotations and len(self.annotations) != len(self.examples):
            raise ValueError(
                f"intent `{self.name}` has {len(self.examples)} examples but {len(self.annotations)} annotation "
                "tuples; pass one tuple of spans per example (or none at all)"
            )

    def spans(self, index: int) -> tuple[EntitySpan, ...]:
        """The entity spans of ``examples[index]`` (none when the intent carries no annotations)."""
        return self.annotations[index] if self.annotations else ()


@dataclass(frozen=True)
class EntityDefinition:
    """An entity declared in entities.yml: found by a regular expression or by a list of values.

    Exactly one of ``pattern`` and ``lookup`` is set. A ``pattern`` match's value is the matched
    text; a lookup value (or a variant of it) stands for the value as written in ``lookup``.
    """

    name: str
    pattern: str | None = None  # a regular expression, as written; matched on whole words
    lookup: tuple[str, ...] = ()  # values matched case-insensitively on whole words
    synonyms: tuple[tuple[str, str], ...] = ()  # (variant, lookup value it stands for)


@dataclass(frozen=True)
class Button:
    """A quick reply offered with a response: ``title`` is shown, choosing it means ``intent``.

    A form question's buttons carry a slot ``value`` instead (no intent): choosing one answers the
    question with ``value`` (the title when ``value`` is None).
    """

    title: str
    intent: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The button on the wire: ``{title, intent}`` or ``{title, value}``."""
        if self.intent is not None:
            return {"title": self.title, "intent": self.intent}
        return {"title": self.title, "value": self.value if self.value is not None else self.title}


@dataclass(frozen=True)
class Template:
    """One variation of a response; ``slots`` are the names of its ``{slot}`` placeholders.

    Raises :class:`~kb.placeholders.PlaceholderError` (a ``ValueError``) when ``text`` has a
    malformed brace.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    slots: frozenset[str] = field(init=False)
    # says the bot is a person ("I'm Sam from the team"): never sent (kb validate warns about it)
    persona: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", frozenset(slot_names(self.text)))
        object.__setattr__(self, "persona", claims_to_be_person(self.text))


@dataclass(frozen=True)
class FAQEntry:
    question: str
    answer: str
    intent: str | None = None


@dataclass(frozen=True)
class Turn:
    speaker: str  # "customer" | "agent"
    text: str


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class ApprovedPair:
    """A customer question and an agent's answer that an admin approved (a line of approved.jsonl)."""

    id: str  # the candidate id it was approved from (see bot/service/candidates.py)
    question: str
    answer: str
    agent: str | None = None  # the agent who wrote the answer
    approved_at: float | None = None  # seconds since 1970
    conversation_id: str | None = None


@dataclass(frozen=True)
class Translation:
    """A KB's texts in one more language (kb/languages/localized.py); a text left out stays in the default language."""

    system: dict[str, str] = field(default_factory=dict)  # system message name -> text
    variations: dict[str, dict[int, str]] = field(default_factory=dict)  # response -> variation index -> text
    buttons: dict[str, dict[int, dict[int, str]]] = field(
        default_factory=dict
    )  # response -> variation -> button -> title
    faq_answers: dict[int, str] = field(default_factory=dict)  # FAQ entry index -> answer
    labels: dict[str, str] = field(default_factory=dict)  # intent -> label

    def __bool__(self) -> bool:
        return any((self.system, self.variations, self.buttons, self.faq_answers, self.labels))


@dataclass(frozen=True)
class KnowledgeBase:
    name: str
    description: str
    language: str
    system: dict[str, str]
    intents: tuple[Intent, ...]
    responses: dict[str, tuple[str, ...]]
    faq: tuple[FAQEntry, ...]
    dialogues: tuple[Dialogue, ...]
    out_of_scope: tuple[str, ...] = ()  # messages no intent covers: the in-scope gate learns from them
    approved: tuple[ApprovedPair, ...] = ()  # pairs learned from agents: retrieval only, never trained on
    root: Path | None = field(default=None, compare=False)
    # the responses with their buttons and slots; ``responses`` holds the same texts. Left out, it
    # is made from ``responses`` (plain texts, no buttons).
    templates: dict[str, tuple[Template, ...]] = field(default_factory=dict)
    entities: tuple[EntityDefinition, ...] = ()  # declared in entities.yml (optional)
    forms: dict[str, Form] = field(default_factory=dict)  # forms.yml (optional), by name
    # the languages the KB answers in, its default (``language``) first; left out: ``(language,)``
    languages: tuple[str, ...] = ()
    translations: dict[str, Translation] = field(default_factory=dict)  # by language, the default's excluded

    def __post_init__(self) -> None:
        if not self.languages:
            object.__setattr__(self, "languages", (self.language,))
        elif self.languages[0] != self.language:
            raise ValueError(f"`languages` must start with the default language {self.language!r}")
        if not self.templates:
            derived = {name: tuple(Template(text) for text in texts) for name, texts in self.responses.items()}
            object.__setattr__(self, "templates", derived)
            return
        texts = {name: tuple(t.text for t in templates) for name, templates in self.templates.items()}
        if texts != self.responses:
            raise ValueError(
                "`responses` and `templates` hold different texts; pass the texts of the templates as "
                "`responses` (or leave `templates` out to make it from `responses`)"
            )

    def intent(self, name: str) -> Intent:
        for intent in self.intents:
            if intent.name == name:
                return intent
        raise KeyError(name)

    @property
    def intent_names(self) -> list[str]:
        return [intent.name for intent in self.intents]

    def training_examples(self) -> tuple[list[str], list[str]]:
        """(texts, intent names) for training the classifier."""
        texts: list[str] = []
        labels: list[str] = []
        for intent in self.intents:
            for example in intent.examples:
                texts.append(example)
                labels.append(intent.name)
        return texts, labels

    def template_texts(self) -> dict[str, list[str]]:
        """Each response's variations' texts, by intent (retrieval/variations.py embeds them)."""
        return {name: [t.text for t in templates] for name, templates in self.templates.items()}

    def scope_examples(self) -> tuple[list[str], list[str]]:
        """The intents' examples plus the out-of-scope ones, labelled ``OUT_OF_SCOPE``, for the in-scope gate."""
        texts, labels = self.training_examples()
        texts.extend(self.out_of_scope)
        labels.extend([OUT_OF_SCOPE] * len(self.out_of_scope))
        return texts, labels

    def training_hash(self) -> str:
        """A hash of what the classifier learns from: changes only when the intents change."""
        payload = [(i.name, list(i.examples)) for i in self.intents]
        return _hash(payload)

    def content_hash(self) -> str:
        """A hash of the whole KB content (not of file layout or comments)."""
        payload = {
            "name": self.name,
            "system": self.system,
            "intents": [_intent_payload(i) for i in self.intents],
            "responses": {k: list(v) for k, v in sorted(self.responses.items())},
            "faq": [asdict(f) for f in self.faq],
            "dialogues": [asdict(d) for d in self.dialogues],
            "out_of_scope": list(self.out_of_scope),
        }
        if self.approved:  # only when there are any, so KBs without approved.jsonl keep their hash
            payload["approved"] = [asdict(a) for a in self.approved]
        buttons = {
            name: [[{k: v for k, v in asdict(b).items() if v is not None} for b in t.buttons] for t in templates]
            for name, templates in sorted(self.templates.items())
            if any(t.buttons for t in templates)
        }
        if buttons:  # likewise: KBs without buttons or entities keep their hash
            payload["buttons"] = buttons
        if self.entities:
            payload["entities"] = [asdict(e) for e in self.entities]
        if self.forms:
            payload["forms"] = {name: asdict(form) for name, form in sorted(self.forms.items())}
        if self.languages != (self.language,):  # KBs in one language keep their hash
            payload["languages"] = list(self.languages)
        if any(self.translations.values()):
            payload["translations"] = {k: asdict(v) for k, v in sorted(self.translations.items()) if v}
        return _hash(payload)


def _intent_payload(intent: Intent) -> dict[str, object]:
    """An intent for ``content_hash``; spans count only when there are any, so unannotated KBs keep their hash."""
    payload = asdict(intent)
    del payload["annotations"]
    if payload["action"] is None:  # KBs without actions keep their hash
        del payload["action"]
        del payload["action_slots"]
    if payload["form"] is None:  # likewise for forms
        del payload["form"]
    if any(intent.annotations):
        payload["annotations"] = [[asdict(span) for span in spans] for spans in intent.annotations]
    return payload


def _hash(payload: object) -> str:
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()
