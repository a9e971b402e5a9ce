"""Turn a Rasa project's NLU data and responses into a Deskmate KB folder (``deskmate kb import-rasa``).

What goes where (docs/kb-format.md, "Importing from Rasa")::

    nlu.yml  - intent: x              ->  intents.yml intent x (name made valid), entity markup kept
    nlu.yml  - intent: out_of_scope   ->  intents.yml top-level out_of_scope: (markup stripped)
    domain   utter_x                  ->  responses.yml x (the text of each variation)
    domain   utter_default            ->  kb.yml system.fallback
    intent without utter_x            ->  handoff: true, reported: write a response, then remove it
    synonyms, regexes, lookups, intents with too few examples, other responses
                                      ->  rasa.yml, kept for reference; Deskmate does not read it

Every problem or omission is reported with the Rasa file and line. The written folder is loaded
with :func:`kb.loader.load_kb` before the import counts as done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KBError, KBIssue, KBValidationError
from kb.annotations import AnnotationError, annotate, parse_annotated
from kb.loader import MIN_EXAMPLES, load_kb
from kb.model import OUT_OF_SCOPE
from kb.rasa_files import NLUItem, Report, Response, read_domain, read_nlu

LEFTOVERS = "rasa.yml"
WRITTEN = ("kb.yml", "intents.yml", "responses.yml")
HEADER = "# Imported from Rasa by `deskmate kb import-rasa`; edit freely (see docs/kb-format.md).\n"
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class RasaImportSummary:
    """What an import wrote, and what it reported (``notes``: Rasa file, line, what happened)."""

    out: Path
    intents: tuple[str, ...]
    examples: int
    annotated: int  # examples with at least one entity span
    entities: tuple[str, ...]  # entity names used in the examples
    handoff: tuple[str, ...]  # intents without a Rasa response, imported with `handoff: true`
    out_of_scope: int
    skipped: tuple[str, ...]  # intents with too few examples, kept in rasa.yml
    kept: dict[str, int]  # section of rasa.yml -> number of entries
    notes: tuple[KBIssue, ...]

    def describe(self) -> list[str]:
        """Lines for a person: what was imported, then every note."""
        entities = f": {', '.join(self.entities)}" if self.entities else ""
        lines = [
            f"Imported {len(self.intents)} intents ({self.examples} examples, {self.annotated} with entities"
            f"{entities}) and {self.out_of_scope} out-of-scope examples into {self.out}"
        ]
        if self.handoff:
            lines.append(f"Hand off to an agent until you add a response: {', '.join(self.handoff)}")
        if self.skipped:
            lines.append(f"Not imported (fewer than {MIN_EXAMPLES} examples): {', '.join(self.skipped)}")
        if self.kept:
            kept = ", ".join(f"{count} {section.replace('_', ' ')}" for section, count in self.kept.items())
            lines.append(f"Kept in {self.out / LEFTOVERS} for reference (Deskmate does not read it): {kept}")
        lines.extend(f"  - {note}" for note in self.notes)
        return lines


@dataclass
class _Plan:
    intents: list[dict[str, Any]] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)
    responses: dict[str, list[str]] = field(default_factory=dict)
    fallback: str | None = None
    leftovers: dict[str, dict[str, Any]] = field(default_factory=dict)


def import_rasa(
    nlu: str | Path, domain: str | Path, out: str | Path, *, force: bool = False, name: str | None = None
) -> RasaImportSummary:
    """Import ``nlu`` and ``domain`` into the KB folder ``out``.

    Raises :class:`KBError` if ``out`` is not empty and ``force`` is false, and
    :class:`KBValidationError` listing every problem of the Rasa files (nothing is written then).
    """
    nlu, domain, out = Path(nlu), Path(domain), Path(out)
    if out.exists() and not out.is_dir():
        raise KBError(f"{out} is a file; pass a folder (new or empty) as --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise KBError(f"{out} is not empty; choose a new folder, or pass --force to overwrite its KB files")
    report = Report()
    items = read_nlu(nlu, report)
    domain_intents, responses = read_domain(domain, report)
    if report.issues:
        raise KBValidationError(report.issues)
    plan = _plan(items, domain_intents, responses, nlu, domain, report)
    if report.issues:
        raise KBValidationError(report.issues)
    _write(out, plan, name or out.resolve().name, f"Imported from Rasa ({nlu.name}, {domain.name}).")
    kb = load_kb(out)  # what was written must load; with --force, files left in `out` must fit it too
    return RasaImportSummary(
        out=out,
        intents=tuple(kb.intent_names),
        examples=sum(len(i.examples) for i in kb.intents),
        annotated=sum(1 for i in kb.intents for spans in i.annotations if spans),
        entities=tuple(sorted({s.entity for i in kb.intents for spans in i.annotations for s in spans})),
        handoff=tuple(i.name for i in kb.intents if i.handoff),
        out_of_scope=len(kb.out_of_scope),
        skipped=tuple(plan.leftovers.get("skipped_intents", {})),
        kept={section: len(entries) for section, entries in plan.leftovers.items()},
        notes=tuple(sorted(report.notes, key=lambda n: (n.file != str(nlu), n.file, n.line or 0))),
    )


def deskmate_name(rasa_name: str) -> str:
    """A valid Deskmate intent name for a Rasa one: ``faq/Ask-Hours`` -> ``faq_ask_hours``."""
    name = re.sub(r"[^a-z0-9_]+", "_", rasa_name.lower()).strip("_")
    if not name[:1].isalpha():
        name = f"intent_{name}".rstrip("_")
    return name[:64]


def _plan(
    items: list[NLUItem],
    domain_intents: dict[str, int],
    responses: dict[str, Response],
    nlu: Path,
    domain: Path,
    report: Report,
) -> _Plan:
    plan = _Plan()
    used: set[str] = set()
    owners: dict[str, NLUItem] = {}
    for item in items:
        if item.kind != "intent":
            section = {"synonym": "synonyms", "regex": "regexes", "lookup": "lookup_tables"}[item.kind]
            plan.leftovers.setdefault(section, {})[item.name] = [e.text for e in item.examples]
            continue
        ours = deskmate_name(item.name)
        if ours in owners:
            report.issue(
                nlu,
                item.line,
                f"intent `{item.name}` becomes `{ours}`, like `{owners[ours].name}` (line {owners[ours].line}); "
                "rename one of them",
            )
            continue
        owners[ours] = item
        if ours != item.name:
            report.note(nlu, item.line, f"intent `{item.name}` imported as `{ours}` (Deskmate names: a-z, 0-9, _)")
        examples = _examples(item, ours, nlu, report)
        if ours == OUT_OF_SCOPE:
            plan.out_of_scope = examples
            continue
        response = responses.get(f"utter_{item.name}") or responses.get(f"utter_{ours}")
        if response is not None:
            used.add(response.name)
            _check_slots(response, domain, report)
        if len(examples) < MIN_EXAMPLES:
            report.note(
                nlu,
                item.line,
                f"intent `{item.name}` has {len(examples)} usable examples and Deskmate needs {MIN_EXAMPLES}; kept in "
                f"{LEFTOVERS}, not imported: add examples in {nlu.name} and import again",
            )
            entry: dict[str, Any] = {"examples": examples}
            if response is not None:
                entry["response"] = list(response.texts)
            plan.leftovers.setdefault("skipped_intents", {})[ours] = entry
            continue
        plan.intents.append({"name": ours, **({"handoff": True} if response is None else {}), "examples": examples})
        if response is None:
            report.note(
                nlu,
                item.line,
                f"intent `{item.name}` has no `utter_{item.name}` response in {domain.name}; imported with "
                f"`handoff: true`: add `{ours}:` to responses.yml and remove `handoff: true` to have the bot answer",
            )
        else:
            plan.responses[ours] = list(response.texts)
    _out_of_scope_apart(plan, nlu, report)
    if len(plan.intents) < 2:
        skipped = ", ".join(plan.leftovers.get("skipped_intents", {})) or "none"
        report.issue(
            nlu,
            None,
            f"only {len(plan.intents)} intents have {MIN_EXAMPLES} or more examples and a KB needs two or more; "
            f"add examples in {nlu.name} (intents short of examples: {skipped})",
        )
    default = responses.get("utter_default")
    if default is not None and default.name not in used:
        plan.fallback = default.texts[0]
        used.add(default.name)
        report.note(domain, default.line, "`utter_default` imported as the fallback message (kb.yml system.fallback)")
    for response in responses.values():
        if response.name not in used:
            plan.leftovers.setdefault("responses", {})[response.name] = list(response.texts)
            report.note(
                domain, response.line, f"response `{response.name}` answers no imported intent; kept in {LEFTOVERS}"
            )
    _cross_check(items, domain_intents, nlu, domain, report)
    for section, entries in plan.leftovers.items():
        if section in ("synonyms", "regexes", "lookup_tables"):
            names = ", ".join(entries)
            report.note(
                nlu, None, f"{section.replace('_', ' ')} ({names}) kept in {LEFTOVERS}; Deskmate does not use them"
            )
    return plan


def _examples(item: NLUItem, ours: str, nlu: Path, report: Report) -> list[str]:
    """The item's examples in Deskmate markup; malformed or repeated ones are left out with a note."""
    examples: list[str] = []
    seen: dict[str, int] = {}
    for example in item.examples:
        try:
            parsed = parse_annotated(example.text, ignore_keys=("role", "group"))
        except AnnotationError as exc:
            report.note(nlu, example.line, f"example {example.text!r} of `{item.name}` left out: {exc}")
            continue
        if parsed.ignored:
            keys = " and ".join(f"`{key}`" for key in parsed.ignored)
            report.note(
                nlu, example.line, f"entity {keys} dropped from {example.text!r} (Deskmate has no roles or groups)"
            )
        key = parsed.text.casefold()
        if key in seen:
            report.note(nlu, example.line, f"example {parsed.text!r} repeats line {seen[key]}; left out")
            continue
        seen[key] = example.line
        examples.append(annotate(parsed.text, parsed.spans) if ours != OUT_OF_SCOPE else parsed.text)
    return examples


def _out_of_scope_apart(plan: _Plan, nlu: Path, report: Report) -> None:
    """Drop out-of-scope examples that are also an intent's example (the loader refuses those)."""
    owner = {parse_annotated(e).text.casefold(): i["name"] for i in plan.intents for e in i["examples"]}
    kept: list[str] = []
    for text in plan.out_of_scope:
        if text.casefold() in owner:
            report.note(
                nlu,
                None,
                f"{text!r} is an example of `{owner[text.casefold()]}` and of out_of_scope; kept in the intent",
            )
        else:
            kept.append(text)
    plan.out_of_scope = kept


def _check_slots(response: Response, domain: Path, report: Report) -> None:
    slots = sorted({slot for text in response.texts for slot in _SLOT.findall(text)})
    if slots:
        names = ", ".join(f"{{{slot}}}" for slot in slots)
        report.note(
            domain,
            response.line,
            f"`{response.name}` fills slots {names}; Deskmate sends the text as written: reword it in responses.yml",
        )


def _cross_check(items: list[NLUItem], domain_intents: dict[str, int], nlu: Path, domain: Path, report: Report) -> None:
    trained = {item.name for item in items if item.kind == "intent"}
    for name, line in domain_intents.items():
        if name not in trained:
            report.note(domain, line, f"intent `{name}` has no examples in {nlu.name}; not imported")
    if domain_intents:
        for item in items:
            if item.kind == "intent" and item.name not in domain_intents:
                report.note(nlu, item.line, f"intent `{item.name}` is not listed in {domain.name}; imported anyway")


class _Dumper(yaml.SafeDumper):
    """Block style with nested lists indented, multi-line text as ``|`` blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _represent_str)


def _dump(path: Path, data: dict[str, Any]) -> None:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)
    path.write_text(HEADER + text, encoding="utf-8")


def _write(out: Path, plan: _Plan, name: str, description: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"name": name, "description": description, "language": "en"}
    if plan.fallback is not None:
        meta["system"] = {"fallback": plan.fallback}
    _dump(out / "kb.yml", meta)
    intents: dict[str, Any] = {"intents": plan.intents}
    if plan.out_of_scope:
        intents["out_of_scope"] = plan.out_of_scope
    _dump(out / "intents.yml", intents)
    _dump(out / "responses.yml", {"responses": plan.responses})
    leftovers = out / LEFTOVERS
    if plan.leftovers:
        _dump(
            leftovers,
            {"note": "Kept from the Rasa import for reference; Deskmate does not read this file.", **plan.leftovers},
        )
    else:
        leftovers.unlink(missing_ok=True)  # a stale one from an earlier import into this folder
