"""Turn a Rasa 2/3 project into a Deskmate KB folder (``deskmate kb import-rasa``), keeping its behaviour.

What goes where (docs/kb-format.md, "Importing from Rasa")::

    files of the project               ->  kb/rasa/project.py finds and reads them (kb/rasa/files.py,
                                           kb/rasa/domain.py, kb/rasa/flows.py)
    nlu: - intent: x                   ->  intents.yml intent x, name made valid    (kb/rasa/intents.py)
    nlu: regex, lookup, synonym        ->  entities.yml                              (kb/rasa/entities.py)
    rules and stories                  ->  what answers each intent: its response in responses.yml,
                                           `action:` or `form:` in intents.yml       (kb/rasa/dialogue.py,
                                           one answer per intent: kb/rasa/answers.py)
    domain forms, slots, actions       ->  forms.yml, with the questions ask_<slot>  (kb/rasa/forms.py)
    buttons of responses               ->  {title, intent} or {title, value}         (kb/rasa/responses.py)
    utter_default                      ->  kb.yml system.fallback
    an intent no rule or story answers ->  its `utter_<intent>` response, else `handoff: true` (reported)
    what Deskmate does not use         ->  rasa.yml, kept for reference              (kb/rasa/write.py)

Every problem or omission is reported with the Rasa file and line. The written folder is loaded
with :func:`kb.loader.load_kb` before the import counts as done.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.errors import KBError, KBIssue, KBValidationError
from kb.annotations import parse_annotated
from kb.loader import MIN_EXAMPLES, load_kb
from kb.model import SYSTEM_DEFAULTS
from kb.rasa.answers import CUSTOM_ACTION, FORM, RESPONSE, Answer, Dialogue
from kb.rasa.dialogue import FALLBACK_INTENT, read_dialogue
from kb.rasa.entities import plan_entities
from kb.rasa.files import Report, Response, deskmate_name
from kb.rasa.forms import FormPlan, plan_forms
from kb.rasa.intents import IntentPlan, named_after, plan_intents
from kb.rasa.project import RasaProject, domain_files, find_project, read_project
from kb.rasa.responses import convert_response
from kb.rasa.write import LEFTOVERS, KBFiles, write_kb

__all__ = ["LEFTOVERS", "RasaImportSummary", "deskmate_name", "import_rasa", "import_rasa_project"]


@dataclass(frozen=True)
class RasaImportSummary:
    """What an import wrote, and what it reported (``notes``: Rasa file, line, what happened)."""

    out: Path
    intents: tuple[str, ...]
    examples: int
    annotated: int  # examples with at least one entity span
    entities: tuple[str, ...]  # entity names used in the examples
    handoff: tuple[str, ...]  # intents nothing answers, imported with `handoff: true`
    out_of_scope: int
    skipped: tuple[str, ...]  # intents with too few examples, kept in rasa.yml
    kept: dict[str, int]  # section of rasa.yml -> number of entries
    notes: tuple[KBIssue, ...]
    by_response: tuple[str, ...] = ()  # intents answered by a response
    by_action: dict[str, str] = field(default_factory=dict)  # intent -> custom action
    by_form: dict[str, str] = field(default_factory=dict)  # intent -> the form it starts
    forms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # forms.yml: form -> its slots
    declared: dict[str, str] = field(default_factory=dict)  # entities.yml: entity -> pattern | lookup
    actions: tuple[str, ...] = ()  # the custom actions the KB runs (intents and forms)

    def describe(self) -> list[str]:
        """Lines for a person: what was imported, then every note."""
        entities = f": {', '.join(self.entities)}" if self.entities else ""
        lines = [
            f"Imported {len(self.intents)} intents ({self.examples} examples, {self.annotated} with entities"
            f"{entities}) and {self.out_of_scope} out-of-scope examples into {self.out}"
        ]
        if self.by_response:
            lines.append(f"Answered by a response: {', '.join(self.by_response)}")
        if self.by_action:
            lines.append("Answered by a custom action: " + ", ".join(f"{i} ({a})" for i, a in self.by_action.items()))
        if self.by_form:
            lines.append("Starting a form: " + ", ".join(f"{i} ({f})" for i, f in self.by_form.items()))
        if self.forms:
            lines.append("Forms (forms.yml): " + ", ".join(f"{f} ({', '.join(s)})" for f, s in self.forms.items()))
        if self.declared:
            lines.append("Entities (entities.yml): " + ", ".join(f"{e} ({k})" for e, k in self.declared.items()))
        if self.actions:
            lines.append(
                f"Custom actions: {', '.join(self.actions)}; run the project's action server "
                "(`python -m rasa_sdk --actions actions`) and set DESKMATE_ACTION_SERVER_URL to it"
            )
        if self.handoff:
            lines.append(f"Hand off to an agent until you add a response: {', '.join(self.handoff)}")
        if self.skipped:
            lines.append(f"Not imported (fewer than {MIN_EXAMPLES} examples): {', '.join(self.skipped)}")
        if self.kept:
            kept = ", ".join(f"{count} {section.replace('_', ' ')}" for section, count in self.kept.items())
            lines.append(f"Kept in {self.out / LEFTOVERS} for reference (Deskmate does not read it): {kept}")
        if self.notes:
            lines.append(f"Reported ({len(self.notes)}): what did not carry over as written, and what was done instead")
        lines.extend(f"  - {note}" for note in self.notes)
        return lines


def import_rasa(
    nlu: str | Path, domain: str | Path, out: str | Path, *, force: bool = False, name: str | None = None
) -> RasaImportSummary:
    """Import one NLU file and a domain (a file, or a folder of domain files) into the KB folder ``out``.

    Raises :class:`KBError` if ``out`` is not empty and ``force`` is false, and
    :class:`KBValidationError` listing every problem of the Rasa files (nothing is written then).
    """
    nlu, domain, out = Path(nlu), Path(domain), Path(out)
    _check_out(out, force)
    report = Report()
    project = read_project([nlu], domain_files(domain, report), report, nlu_file=nlu)
    return _import(project, out, report, name=name, source=f"{nlu.name}, {domain.name}")


def import_rasa_project(
    root: str | Path,
    out: str | Path,
    *,
    domain: str | Path | None = None,
    force: bool = False,
    name: str | None = None,
) -> RasaImportSummary:
    """Import the Rasa project folder ``root`` (``data/`` and the domain, as Rasa reads them) into ``out``.

    ``domain`` overrides where the domain is (default: ``domain.yml``, else the ``domain/`` folder).
    Raises as :func:`import_rasa` does.
    """
    root, out = Path(root), Path(out)
    _check_out(out, force)
    report = Report()
    data, domain_paths = find_project(root, report, domain=Path(domain) if domain is not None else None)
    if report.issues:
        raise KBValidationError(report.issues)
    project = read_project(data, domain_paths, report)
    return _import(project, out, report, name=name, source=f"{root.resolve().name}/")


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise KBError(f"{out} is a file; pass a folder (new or empty) as --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise KBError(f"{out} is not empty; choose a new folder, or pass --force to overwrite its KB files")


def _import(project: RasaProject, out: Path, report: Report, *, name: str | None, source: str) -> RasaImportSummary:
    if report.issues:
        raise KBValidationError(report.issues)
    builder = _Builder(project, report)
    files = builder.build(
        {"name": name or out.resolve().name, "description": f"Imported from Rasa ({source}).", "language": "en"}
    )
    if report.issues:
        raise KBValidationError(report.issues)
    write_kb(out, files)
    kb = load_kb(out)  # what was written must load; with --force, files left in `out` must fit it too
    return RasaImportSummary(
        out=out,
        intents=tuple(kb.intent_names),
        examples=sum(len(i.examples) for i in kb.intents),
        annotated=sum(1 for i in kb.intents for spans in i.annotations if spans),
        entities=tuple(sorted({s.entity for i in kb.intents for spans in i.annotations for s in spans})),
        handoff=tuple(i.name for i in kb.intents if i.handoff),
        out_of_scope=len(kb.out_of_scope),
        skipped=tuple(files.leftovers.get("skipped_intents", {})),
        kept={section: len(entries) for section, entries in files.leftovers.items()},
        notes=tuple(sorted(report.notes, key=lambda n: (n.file, n.line or 0))),
        by_response=tuple(i.name for i in kb.intents if not (i.handoff or i.action or i.form)),
        by_action={i.name: i.action for i in kb.intents if i.action},
        by_form={i.name: i.form for i in kb.intents if i.form},
        forms={form: tuple(str(s["name"]) for s in entry["slots"]) for form, entry in files.forms.items()},
        declared={str(e["name"]): "pattern" if "pattern" in e else "lookup" for e in files.entities},
        actions=tuple(sorted(builder.actions)),
    )


class _Builder:
    """Works out the KB files from a project; everything it changes or leaves out is a note."""

    def __init__(self, project: RasaProject, report: Report) -> None:
        self.project, self.report = project, report
        self.responses_in = project.responses
        self.intents = IntentPlan()
        self.imported = self.intents.imported  # Rasa intent -> Deskmate intent, for the imported ones
        self.leftovers: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[Any]] = {}
        self.entries: dict[str, dict[str, Any]] = {}  # Deskmate intent -> `action` / `form` / `handoff`
        self.used: set[str] = set()  # Rasa responses that were imported
        self.actions: set[str] = set()
        self.dialogue = Dialogue()

    def build(self, meta: dict[str, Any]) -> KBFiles:
        project = self.project
        self.intents = plan_intents(project.nlu, self.responses_in, self.report, data_files=project.data_files)
        self.imported = self.intents.imported
        self.used |= self.intents.used
        if self.intents.skipped:
            self.leftovers["skipped_intents"] = self.intents.skipped
        entities = plan_entities(project.nlu, project.domain.entities, self.report)
        for section, entries in entities.leftovers.items():
            self.leftovers.setdefault(section, {}).update(entries)
        dialogue = read_dialogue(
            project.flows,
            intents=[item.name for item in project.nlu if item.kind == "intent"],
            forms=project.domain.forms,
            responses=self.responses_in,
            actions=project.domain.actions,
            report=self.report,
        )
        self.dialogue = dialogue
        answers = {rasa: self._answer(rasa, dialogue) for rasa in self.imported}
        answered = {rasa for rasa, answer in answers.items() if answer is not None and self._answer_with(rasa, answer)}
        forms = plan_forms(
            project.domain,
            self.responses_in,
            dialogue,
            intents=self.imported,
            entities=entities.kinds,
            taken=self.responses,
            report=self.report,
        )
        meta = dict(meta)
        fallback = self._fallback(dialogue)
        if fallback is not None:
            meta["system"] = {"fallback": fallback.texts[0]}
        answering = self._form_answers(forms)
        for rasa, answer in answers.items():
            if rasa in answered:
                continue
            if answer is not None and answer.kind == FORM and answer.name in forms.names:
                self.entries[self.imported[rasa]] = {"form": forms.names[answer.name]}
                continue
            if answer is not None and answer.kind == FORM:
                message = f"form `{answer.name}` is not imported; `{rasa}` is not started by it"
                self.report.note(answer.file, answer.line, message)
            self._unanswered(rasa, form_answer=self.imported[rasa] in answering, fallback=fallback)
        self.responses.update(forms.responses)
        self.used |= forms.used
        self.actions |= forms.actions
        self._unused()
        self._cross_check()
        intents = [
            {"name": ours, **self.entries.get(ours, {}), "examples": examples}
            for ours, examples in self.intents.examples.items()
        ]
        return KBFiles(
            meta=meta,
            intents=intents,
            out_of_scope=self.intents.out_of_scope,
            responses=self.responses,
            entities=entities.entities,
            forms=forms.forms,
            leftovers=self.leftovers,
        )

    # --- what answers each intent -------------------------------------------------------------

    def _answer(self, rasa: str, dialogue: Dialogue) -> Answer | None:
        """The rule or story answer of ``rasa``; a retrieval intent ``faq/x`` takes ``faq``'s (utter_faq/x)."""
        answer = dialogue.answers.get(rasa)
        if answer is not None or "/" not in rasa:
            return answer
        base = rasa.split("/", 1)[0]
        answer = dialogue.answers.get(base)
        if answer is not None and answer.kind == RESPONSE and answer.name == f"utter_{base}":
            return replace(answer, name=f"utter_{rasa}")
        return answer

    def _answer_with(self, rasa: str, answer: Answer) -> bool:
        """Answer ``rasa`` with a custom action or a response; False when it cannot be (a form, a missing response)."""
        ours = self.imported[rasa]
        if answer.kind == CUSTOM_ACTION:
            self.entries[ours] = {"action": answer.name}
            self.actions.add(answer.name)
            return True
        if answer.kind == RESPONSE:
            response = self.responses_in.get(answer.name)
            if response is not None:
                self._respond(ours, response)
                return True
            self.report.note(answer.file, answer.line, f"no response `{answer.name}` is defined to answer `{rasa}`")
        return False

    def _unanswered(self, rasa: str, *, form_answer: bool, fallback: Response | None) -> None:
        """An intent no rule or story answers: its `utter_<intent>`; the fallback message for an intent
        that answers forms' questions (a handoff would interrupt the forms); else `handoff: true`."""
        ours = self.imported[rasa]
        item = self.intents.items[ours]
        response = named_after(self.responses_in, rasa)
        if response is not None:
            if self.project.flows:
                message = f"no rule or story answers `{rasa}`; it is answered with `{response.name}`, the response named after it"
                self.report.note(item.file, item.line, message)
            self._respond(ours, response)
            return
        if form_answer:
            if fallback is not None:
                self.responses[ours] = convert_response(fallback, intents=self.imported, report=self.report)
            else:
                self.responses[ours] = [SYSTEM_DEFAULTS["fallback"]]
            self.report.note(
                item.file,
                item.line,
                f"intent `{rasa}` answers forms' questions, and nothing answers it outside a form; there it is "
                f"answered with the fallback message (`handoff: true` would hand off in the middle of a form): "
                f"edit `{ours}:` in responses.yml",
            )
            return
        self.entries[ours] = {"handoff": True}
        self.report.note(
            item.file,
            item.line,
            f"nothing answers intent `{rasa}` (no rule or story, no `utter_{rasa}` response); imported with "
            f"`handoff: true`: add `{ours}:` to responses.yml and remove `handoff: true` to have the bot answer",
        )

    def _form_answers(self, forms: FormPlan) -> set[str]:
        """Deskmate intents whose messages answer forms' questions: in stories, in slot mappings, or whose
        examples annotate an entity that fills a slot."""
        found = {self.imported[rasa] for rasa in self.dialogue.in_forms if rasa in self.imported} | forms.intents
        for ours, examples in self.intents.examples.items():
            if any(span.entity in forms.entities for e in examples for span in parse_annotated(e).spans):
                found.add(ours)
        return found

    def _respond(self, ours: str, response: Response) -> None:
        self.responses[ours] = convert_response(response, intents=self.imported, report=self.report)
        self.used.add(response.name)

    def _fallback(self, dialogue: Dialogue) -> Response | None:
        """kb.yml's fallback message: what answers `nlu_fallback`, else `utter_default`."""
        answer = dialogue.answers.get(FALLBACK_INTENT)
        name = "utter_default"
        if answer is not None and answer.kind == RESPONSE:
            name = answer.name
        elif answer is not None and answer.name != "action_default_fallback":
            self.report.note(
                answer.file,
                answer.line,
                f"`{FALLBACK_INTENT}` is answered with `{answer.name}`; Deskmate asks to rephrase or clarifies by itself "
                "(kb.yml system.fallback and system.clarify)",
            )
        response = self.responses_in.get(name)
        if response is None:
            return None
        self.used.add(response.name)
        self.report.note(
            response.file, response.line, f"`{name}` imported as the fallback message (kb.yml system.fallback)"
        )
        return response

    def _unused(self) -> None:
        for response in self.responses_in.values():
            if response.name not in self.used:
                self.leftovers.setdefault("responses", {})[response.name] = list(response.texts)
                message = f"response `{response.name}` answers no imported intent; kept in {LEFTOVERS}"
                self.report.note(response.file, response.line, message)

    def _cross_check(self) -> None:
        domain = self.project.domain
        trained = {item.name for item in self.project.nlu if item.kind == "intent"}
        bases = {name.split("/", 1)[0] for name in trained if "/" in name}
        for name, where in domain.intents.items():
            if name not in trained and name not in bases:
                self.report.note(
                    where.file, where.line, f"intent `{name}` has no examples in the training data; not imported"
                )
        if domain.intents:
            files = ", ".join(sorted({p.name for p in domain.files}))
            for item in self.project.nlu:
                listed = item.name in domain.intents or item.name.split("/", 1)[0] in domain.intents
                if item.kind == "intent" and not listed:
                    self.report.note(
                        item.file, item.line, f"intent `{item.name}` is not listed in {files}; imported anyway"
                    )
