"""Rasa's NLU intents as the intents of intents.yml: valid names, usable examples, out of scope.

``faq/Ask-Hours`` becomes ``faq_ask_hours``; examples keep their entity markup (roles and groups
dropped); malformed and repeated examples are left out, and so is an example an earlier imported
intent already has (the loader refuses one example in two intents); intents with fewer than
:data:`~kb.loader.MIN_EXAMPLES` examples are kept in rasa.yml instead. Each change is a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.annotations import AnnotationError, annotate, parse_annotated
from kb.loader import MIN_EXAMPLES, example_key
from kb.model import OUT_OF_SCOPE
from kb.rasa.files import Example, NLUItem, Report, Response, deskmate_name
from kb.rasa.write import LEFTOVERS


@dataclass(frozen=True)
class _Usable:
    """An example as it will be written (Deskmate markup), without markup, and where Rasa has it."""

    text: str
    plain: str
    source: Example

    @property
    def key(self) -> str:
        return example_key(self.plain)


@dataclass
class IntentPlan:
    imported: dict[str, str] = field(default_factory=dict)  # Rasa intent -> Deskmate intent
    items: dict[str, NLUItem] = field(default_factory=dict)  # Deskmate intent -> its NLU item
    examples: dict[str, list[str]] = field(default_factory=dict)  # Deskmate intent -> examples, in NLU order
    out_of_scope: list[str] = field(default_factory=list)
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)  # for rasa.yml: too few examples
    used: set[str] = field(default_factory=set)  # responses kept with the skipped intents


def named_after(responses: Mapping[str, Response], rasa: str) -> Response | None:
    """The response named after intent ``rasa`` (``utter_<intent>``), if any."""
    return responses.get(f"utter_{rasa}") or responses.get(f"utter_{deskmate_name(rasa)}")


def plan_intents(
    items: Sequence[NLUItem], responses: Mapping[str, Response], report: Report, *, data_files: Sequence[Path] = ()
) -> IntentPlan:
    """The intents of ``items`` to import; name collisions and too few intents are issues."""
    plan = IntentPlan()
    owners: dict[str, NLUItem] = {}
    claimed: dict[str, tuple[NLUItem, Example]] = {}  # example_key -> the imported intent that has it
    for item in items:
        if item.kind != "intent":
            continue
        ours = deskmate_name(item.name)
        if ours in owners:
            first = owners[ours]
            report.issue(
                item.file,
                item.line,
                f"intent `{item.name}` becomes `{ours}`, like `{first.name}` (line {first.line}); rename one of them",
            )
            continue
        owners[ours] = item
        if ours != item.name:
            report.note(
                item.file, item.line, f"intent `{item.name}` imported as `{ours}` (Deskmate names: a-z, 0-9, _)"
            )
        usable = _examples(item, ours, report)
        if ours == OUT_OF_SCOPE:
            plan.out_of_scope = _apart([u.text for u in usable], plan, item, report)
            continue
        usable = _unclaimed(usable, item, claimed, report)
        examples = [u.text for u in usable]
        if len(examples) < MIN_EXAMPLES:
            report.note(
                item.file,
                item.line,
                f"intent `{item.name}` has {len(examples)} usable examples and Deskmate needs {MIN_EXAMPLES}; kept "
                f"in {LEFTOVERS}, not imported: add examples in {item.file.name} and import again",
            )
            entry: dict[str, Any] = {"examples": examples}
            response = named_after(responses, item.name)
            if response is not None:
                entry["response"] = list(response.texts)
                plan.used.add(response.name)
            plan.skipped[ours] = entry
            continue
        plan.imported[item.name], plan.items[ours], plan.examples[ours] = ours, item, examples
        claimed.update((u.key, (item, u.source)) for u in usable)
    if OUT_OF_SCOPE in owners:
        plan.out_of_scope = _apart(plan.out_of_scope, plan, owners[OUT_OF_SCOPE], report)
    if len(plan.examples) < 2:
        files = [i.file for i in items] or list(data_files)
        report.issue(
            files[0] if files else Path("data"),
            None,
            f"only {len(plan.examples)} intents have {MIN_EXAMPLES} or more examples and a KB needs two or more; "
            f"add examples (intents short of examples: {', '.join(plan.skipped) or 'none'})",
        )
    return plan


def _apart(texts: list[str], plan: IntentPlan, item: NLUItem, report: Report) -> list[str]:
    """Out-of-scope examples that are not also an intent's example (the loader refuses those)."""
    owner = {example_key(parse_annotated(e).text): name for name, examples in plan.examples.items() for e in examples}
    kept: list[str] = []
    for text in texts:
        if example_key(text) in owner:
            message = f"{text!r} is an example of `{owner[example_key(text)]}` and of out_of_scope; kept in the intent"
            report.note(item.file, None, message)
        else:
            kept.append(text)
    return kept


def _unclaimed(
    usable: list[_Usable], item: NLUItem, claimed: dict[str, tuple[NLUItem, Example]], report: Report
) -> list[_Usable]:
    """``usable`` less the examples an intent imported before has; each one left out is a note at its line."""
    kept: list[_Usable] = []
    for example in usable:
        if example.key not in claimed:
            kept.append(example)
            continue
        first, where = claimed[example.key]
        report.note(
            example.source.file,
            example.source.line,
            f"example {example.plain!r} of `{item.name}` is also an example of `{first.name}` "
            f"({where.file.name}:{where.line}); left out, as Deskmate keeps an example in one intent: reword it to "
            "keep it here",
        )
    return kept


def _examples(item: NLUItem, ours: str, report: Report) -> list[_Usable]:
    """The item's examples in Deskmate markup; malformed or repeated ones are left out with a note."""
    examples: list[_Usable] = []
    seen: dict[str, int] = {}
    for example in item.examples:
        try:
            parsed = parse_annotated(example.text, ignore_keys=("role", "group"))
        except AnnotationError as exc:
            report.note(example.file, example.line, f"example {example.text!r} of `{item.name}` left out: {exc}")
            continue
        if parsed.ignored:
            keys = " and ".join(f"`{key}`" for key in parsed.ignored)
            message = f"entity {keys} dropped from {example.text!r} (Deskmate has no roles or groups)"
            report.note(example.file, example.line, message)
        key = example_key(parsed.text)
        if key in seen:
            report.note(example.file, example.line, f"example {parsed.text!r} repeats line {seen[key]}; left out")
            continue
        seen[key] = example.line
        text = annotate(parsed.text, parsed.spans) if ours != OUT_OF_SCOPE else parsed.text
        examples.append(_Usable(text, parsed.text, example))
    return examples
