"""``responses.yml``: reply templates per intent, with optional buttons and ``{slot}`` placeholders.

::

    responses:
      order_status:
        - "You can follow your parcel under Account > Orders."       # a plain variation
        - text: "Let me look up {order_id} for you."                 # a variation with a slot
        - text: "Do you want to return it or exchange it?"           # ... with buttons
          buttons:
            - {title: Start a return, intent: return_item}
        - text: {en: "Where did it go?", zh: "寄到哪里了？"}             # in each of kb.yml's languages

:func:`parse_responses` validates the mapping into :class:`~kb.model.Template` values; every
problem names the line and the fix (see docs/kb-format.md, "responses.yml").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from bot.errors import KBIssue
from kb.languages.localized import localized
from kb.model import Button, Intent, Template, Translation
from kb.placeholders import PlaceholderError, slot_names
from kb.yamlio import LineDict, LineList

RESPONSES = "responses.yml"
VARIATION_KEYS = ("text", "buttons")
BUTTON_KEYS = ("title", "intent")


def parse_responses(
    doc: LineDict,
    intents: Sequence[Intent],
    issues: list[KBIssue],
    *,
    named: Collection[str] = (),
    languages: tuple[str, ...] = ("en",),
    translations: dict[str, Translation] | None = None,
) -> dict[str, tuple[Template, ...]]:
    """The templates of each intent in ``doc`` (responses.yml); problems are added to ``issues``.

    ``languages`` are kb.yml's, the default first; ``translations`` (by language, kb/languages/localized.py)
    receive the texts in the other ones.

    ``named`` are the other names a response may have: the questions and messages of forms.yml
    (see :func:`kb.forms.form_response_names`). Their buttons may carry a slot ``value``.
    """
    file = RESPONSES
    raw = doc.get("responses")
    if not isinstance(raw, LineDict):
        line = doc.line_of("responses") if "responses" in doc else 1
        issues.append(KBIssue(file, line, "`responses` must be a mapping of intent name to reply text(s)"))
        return {}
    names = {intent.name for intent in intents}
    templates: dict[str, tuple[Template, ...]] = {}
    for key, value in raw.items():
        line = raw.line_of(key)
        if key not in names and key not in named:
            message = (
                f"response for unknown intent `{key}`; add the intent to intents.yml, fix the name, or use it "
                "from forms.yml (a form's question `ask_<slot>`, `done` or `confirm` response)"
            )
            issues.append(KBIssue(file, line, message))
            continue
        variations = value if isinstance(value, LineList) else [value]
        if not variations:
            message = f"response of `{key}` must be a string, a mapping with `text`, or a non-empty list of them"
            issues.append(KBIssue(file, line, message))
            templates[key] = ()  # present, so not also reported as missing
            continue
        parsed: list[Template] = []
        texts = _Texts(languages, translations or {}, key)
        for index, variation in enumerate(variations):
            item_line = variations.line_of(index) if isinstance(variations, LineList) else line
            texts.variation = len(parsed)
            template = _parse_variation(variation, key, item_line, names, issues, values=key not in names, texts=texts)
            if template is not None:
                parsed.append(template)
        templates[key] = tuple(parsed)
    for intent in intents:
        if not intent.handoff and intent.action is None and intent.form is None and intent.name not in templates:
            message = (
                f"intent `{intent.name}` has no response; add `{intent.name}:` with a reply text "
                "(or mark the intent `handoff: true`, or give it an `action:` or a `form:`)"
            )
            issues.append(KBIssue(file, raw.line, message))
    return templates


class _Texts:
    """Reads the texts of one response's variations, keeping their translations."""

    def __init__(self, languages: tuple[str, ...], translations: dict[str, Translation], response: str) -> None:
        self.languages = languages
        self.translations = translations
        self.response = response
        self.variation = 0

    def read(self, value: Any, what: str, line: int, issues: list[KBIssue], button: int | None = None) -> str | None:
        if not isinstance(value, LineDict):
            return _text(value)
        text, others, problem = localized(value, self.languages)
        if text is None:
            issues.append(KBIssue(RESPONSES, line, f"{what} {problem}"))
            return None
        for language, translated in others.items():
            table = self.translations.setdefault(language, Translation())
            if button is None:
                table.variations.setdefault(self.response, {})[self.variation] = translated
            else:
                table.buttons.setdefault(self.response, {}).setdefault(self.variation, {})[button] = translated
        return text


def _parse_variation(
    value: Any,
    intent: str,
    line: int,
    names: set[str],
    issues: list[KBIssue],
    *,
    values: bool = False,
    texts: _Texts | None = None,
) -> Template | None:
    """One variation: a string, or a mapping with ``text`` and optional ``buttons``."""
    file = RESPONSES
    if isinstance(value, LineDict):
        unknown = [k for k in value if k not in VARIATION_KEYS]
        for key in unknown:
            message = f"unknown key `{key}` in a response of `{intent}`; allowed: {', '.join(VARIATION_KEYS)}"
            issues.append(KBIssue(file, value.line_of(key), message))
        where = value.line_of("text") if "text" in value else value.line
        texts = texts or _Texts(("en",), {}, intent)
        text = texts.read(value.get("text"), f"the `text` of a response of `{intent}`", where, issues)
        if text is None and not isinstance(value.get("text"), LineDict):  # a mapping's problem is reported
            issues.append(KBIssue(file, where, f"a response of `{intent}` needs `text`: the non-empty reply text"))
        buttons = _parse_buttons(value, intent, names, issues, values=values, texts=texts)
        if text is None or buttons is None or unknown:
            return None
        return _template(text, buttons, intent, value.line_of("text"), issues)
    text = _text(value)
    if text is None:
        message = f"response variation of `{intent}` must be a non-empty string, or a mapping with `text` and `buttons`"
        issues.append(KBIssue(file, line, message))
        return None
    return _template(text, (), intent, line, issues)


def _template(text: str, buttons: tuple[Button, ...], intent: str, line: int, issues: list[KBIssue]) -> Template | None:
    try:
        slot_names(text)
    except PlaceholderError as exc:
        issues.append(KBIssue(RESPONSES, line, f"in a response of `{intent}`: {exc}"))
        return None
    return Template(text, buttons)


def _parse_buttons(
    variation: LineDict,
    intent: str,
    names: set[str],
    issues: list[KBIssue],
    *,
    values: bool = False,
    texts: _Texts,
) -> tuple[Button, ...] | None:
    """The ``buttons`` of a variation (none when absent), or None when they have problems.

    With ``values`` (a form's question) a button may give a slot ``value`` instead of an intent.
    """
    file = RESPONSES
    if "buttons" not in variation:
        return ()
    raw = variation.get("buttons")
    if not isinstance(raw, LineList):
        message = f"`buttons` of a response of `{intent}` must be a list like [{{title: Start a return, intent: return_item}}]"
        issues.append(KBIssue(file, variation.line_of("buttons"), message))
        return None
    count = len(issues)
    buttons: list[Button] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        line = raw.line_of(index)
        if not isinstance(item, LineDict):
            message = f"each button of a response of `{intent}` must be a mapping with `title` and `intent`"
            issues.append(KBIssue(file, line, message))
            continue
        allowed = (*BUTTON_KEYS, "value") if values else BUTTON_KEYS
        for key in item:
            if key not in allowed:
                message = f"unknown key `{key}` in a button of `{intent}`; allowed: {', '.join(allowed)}"
                issues.append(KBIssue(file, item.line_of(key), message))
        what = f"the `title` of a button of `{intent}`"
        where = item.line_of("title") if "title" in item else item.line
        title, target = texts.read(item.get("title"), what, where, issues, button=len(buttons)), item.get("intent")
        if title is None and isinstance(item.get("title"), LineDict):
            continue  # reported
        if title is None:
            where = item.line_of("title") if "title" in item else item.line
            issues.append(KBIssue(file, where, f"a button of `{intent}` needs `title`: the non-empty text shown"))
        if values and "intent" not in item:  # a slot value: `value`, else the title
            value = item.get("value", title)
            if not isinstance(value, (str, int, float, bool)) or str(value).strip() == "":
                message = f"`value` of a button of `{intent}` must be a non-empty text or number"
                issues.append(KBIssue(file, item.line_of("value"), message))
            elif title is not None:
                key = title.casefold()
                if key in seen:
                    message = f"two buttons of `{intent}` are titled {title!r} (also on line {seen[key]}); rename one"
                    issues.append(KBIssue(file, line, message))
                    continue
                seen[key] = line
                buttons.append(Button(title=title, value=str(value).strip()))
        elif "intent" not in item:
            message = f"a button of `{intent}` needs `intent`: the intent that choosing the button stands for"
            issues.append(KBIssue(file, item.line, message))
        elif not isinstance(target, str) or target not in names:
            message = f"a button of `{intent}` names unknown intent `{target}`; use an intent from intents.yml"
            issues.append(KBIssue(file, item.line_of("intent"), message))
        elif title is not None:
            key = title.casefold()
            if key in seen:
                message = f"two buttons of `{intent}` are titled {title!r} (also on line {seen[key]}); rename one"
                issues.append(KBIssue(file, line, message))
                continue
            seen[key] = line
            buttons.append(Button(title=title, intent=target))
    if len(issues) > count:
        return None
    return tuple(buttons)


def _text(value: Any) -> str | None:
    """A non-empty stripped string, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
