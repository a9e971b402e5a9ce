"""Texts in several languages: ``text: {en: ..., zh: ...}`` wherever a KB text is sent to customers.

kb.yml lists the languages (``languages: [en, zh]``, the default first, or ``language: zh`` for one).
A response variation's text, a button title, an FAQ answer, an intent label (clarifying buttons) and
a system message may each be a plain string, in the default language, or a mapping of language to
text that holds the default language. A response with some variations translated sends only those
in that language. The default language's texts fill the KB as before; the
others are kept as a :class:`~kb.model.Translation` per language, and :func:`in_language` makes the
KB as a customer of that language sees it: each text translated where a translation exists, else
the default language's.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from kb.model import Button, KnowledgeBase, Template, Translation
from kb.yamlio import LineDict

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")  # ISO 639-1 (or -3) codes: en, zh, es


def localized(value: Any, languages: tuple[str, ...]) -> tuple[str | None, dict[str, str], str | None]:
    """(default-language text, other languages' texts, problem) of a plain or per-language text.

    A problem is a sentence saying what to fix; the text is None when there is no usable one.
    """
    if isinstance(value, str):
        return (value.strip() or None), {}, None if value.strip() else "must be a non-empty text"
    if not isinstance(value, LineDict):
        return None, {}, "must be a text, or a mapping of language to text like {en: Hello, zh: 你好}"
    texts: dict[str, str] = {}
    for language, text in value.items():
        if language not in languages:
            listed = ", ".join(languages)
            return (
                None,
                {},
                f"has a text in `{language}`, which kb.yml does not list (languages: {listed}); add it there",
            )
        if not isinstance(text, str) or not text.strip():
            return None, {}, f"has an empty text in `{language}`; write it, or leave `{language}` out"
        texts[str(language)] = text.strip()
    default = languages[0]
    if default not in texts:
        return None, {}, f"has no text in `{default}`, the KB's default language; add `{default}: ...`"
    return texts.pop(default), texts, None


def in_language(kb: KnowledgeBase, language: str) -> KnowledgeBase:
    """``kb`` as a customer writing ``language`` sees it (``kb`` itself for its default language)."""
    translation = kb.translations.get(language)
    if language == kb.language or translation is None:
        return kb
    templates = {name: _translated(name, variations, translation) for name, variations in kb.templates.items()}
    faq = tuple(replace(entry, answer=translation.faq_answers.get(i, entry.answer)) for i, entry in enumerate(kb.faq))
    intents = tuple(replace(i, label=translation.labels.get(i.name, i.label)) for i in kb.intents)
    return replace(
        kb,
        language=language,
        languages=(language, *(other for other in kb.languages if other != language)),
        system={**kb.system, **translation.system},
        templates=templates,
        responses={name: tuple(t.text for t in variations) for name, variations in templates.items()},
        faq=faq,
        intents=intents,
    )


def _translated(name: str, variations: tuple[Template, ...], translation: Translation) -> tuple[Template, ...]:
    """A response's variations in the translation's language. A variation with no translation of
    its text takes the first translated one's place (so the customer reads their language); the
    count stays, since the template variations' scores are aligned with it (retrieval/variations.py)."""
    texts, titles = translation.variations.get(name, {}), translation.buttons.get(name, {})
    done = [_template(template, texts.get(i), titles.get(i)) for i, template in enumerate(variations)]
    first = next((done[i] for i in range(len(done)) if i in texts), None)
    return tuple(t if i in texts or first is None else first for i, t in enumerate(done))


def _template(template: Template, text: str | None, titles: dict[int, str] | None) -> Template:
    if text is None and not titles:
        return template
    buttons = tuple(_button(button, (titles or {}).get(i)) for i, button in enumerate(template.buttons))
    return Template(text if text is not None else template.text, buttons)


def _button(button: Button, title: str | None) -> Button:
    if title is None:
        return button
    if button.intent is None and button.value is None:  # the title was the slot value: it still is
        return Button(title, value=button.title)
    return replace(button, title=title)
