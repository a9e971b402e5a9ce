"""Rasa forms as the forms of forms.yml (see docs/kb-format.md, "forms.yml").

::

    Rasa                                            forms.yml
    forms: {f: {required_slots: [a, b]}}            forms: {f: {slots: [{name: a, ...}, {name: b, ...}]}}
    slot mapping from_entity (entity: e)            from: entity, entity: e   (e in entities.yml; else
                                                    from: button / text, reported)
    from_text                                       from: text
    from_intent (intent: affirm, value: true) x2    from: intent, intents: {affirm: true, deny: false}
    from_trigger_intent                             from: trigger, intents: {...}
    custom (filled by validate_f's extract_<slot>)  from: custom
    actions: validate_f                             validate: validate_f
    actions: action_ask_<f>_<slot> / _<slot>        ask_action: on the slot
    utter_ask_<f>_<slot> / utter_ask_<slot>         responses ask_<f>_<slot> / ask_<slot>
    rule: f completes (active_loop: null), then a   done: {action: a} or {response: ...}

Rasa 3 slot mappings are read from the domain's ``slots:`` (their ``conditions`` say which form
they serve); Rasa 2 forms carry them. Anything that does not carry over is a note.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.forms import YES_NO
from kb.rasa.answers import RESPONSE, Answer, Dialogue
from kb.rasa.domain import Domain, RasaForm, SlotMapping
from kb.rasa.files import Report, Response, deskmate_name
from kb.rasa.responses import AskContext, convert_response

CUSTOM_TYPES = ("custom", "controlled")


@dataclass
class FormPlan:
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # forms.yml: Deskmate name -> form
    names: dict[str, str] = field(default_factory=dict)  # Rasa form -> Deskmate form, for those written
    responses: dict[str, list[Any]] = field(default_factory=dict)  # named responses: questions, done
    used: set[str] = field(default_factory=set)  # the Rasa responses these come from
    actions: set[str] = field(default_factory=set)  # custom actions the forms run
    intents: set[str] = field(default_factory=set)  # Deskmate intents whose messages fill slots (from_intent...)
    entities: set[str] = field(default_factory=set)  # entities that fill slots (from_entity)


def plan_forms(
    domain: Domain,
    responses: Mapping[str, Response],
    dialogue: Dialogue,
    *,
    intents: Mapping[str, str],
    entities: Collection[str],
    taken: Mapping[str, list[Any]],
    report: Report,
) -> FormPlan:
    """forms.yml from the domain's forms; ``intents`` maps imported Rasa intents to Deskmate names,
    ``entities`` are the names of entities.yml, ``taken`` the intents' own responses."""
    plan = FormPlan()
    for form in domain.forms.values():
        _Form(form, domain, responses, dialogue, intents, entities, taken, plan, report).build()
    return plan


class _Form:
    def __init__(
        self,
        form: RasaForm,
        domain: Domain,
        responses: Mapping[str, Response],
        dialogue: Dialogue,
        intents: Mapping[str, str],
        entities: Collection[str],
        taken: Mapping[str, list[Any]],
        plan: FormPlan,
        report: Report,
    ) -> None:
        self.form, self.domain, self.responses, self.dialogue = form, domain, responses, dialogue
        self.intents, self.entities, self.taken, self.plan, self.report = intents, entities, taken, plan, report
        self.name = deskmate_name(form.name)
        self.responses_out: dict[str, list[Any]] = {}  # added to the plan once the form is complete
        self.used: set[str] = set()
        self.actions: set[str] = set()
        self.answers: set[str] = set()  # intents that fill this form's slots
        self.slot_entities: set[str] = set()

    def note(self, line: int, message: str) -> None:
        self.report.note(self.form.file, line, message)

    def build(self) -> None:
        """Add the form to the plan, with its questions and actions, if it can be imported."""
        form, name = self.form, self.name
        if name != form.name:
            self.note(form.line, f"form `{form.name}` imported as `{name}` (Deskmate names: a-z, 0-9, _)")
        done = self._done()
        validate = f"validate_{form.name}" if f"validate_{form.name}" in self.domain.actions else None
        slots = [s for s in (self._slot(slot, line, validate) for slot, line in form.required) if s is not None]
        if not slots:
            self.note(form.line, f"form `{form.name}` has no slot Deskmate can ask for; not imported")
            return
        entry: dict[str, Any] = {"slots": slots}
        if validate is not None:
            entry["validate"] = validate
            self.actions.add(validate)
        ignored = self._intents(form.ignored_intents, form.line, "`ignored_intents`")
        if ignored:
            entry["ignored_intents"] = ignored
        if done is not None:
            entry["done"] = done[0] if len(done) == 1 else done
        stop = self._stop()
        if stop:
            entry["stop"] = stop
        if form.name not in self.dialogue.started:
            self.note(
                form.line,
                f"no rule or story starts form `{form.name}`; it is in forms.yml, but no intent starts it: add "
                f"`form: {name}` to an intent in intents.yml",
            )
        self.plan.forms[name] = entry
        self.plan.names[form.name] = name
        self.plan.responses.update(self.responses_out)
        self.plan.used |= self.used
        self.plan.actions |= self.actions
        self.plan.intents |= self.answers
        self.plan.entities |= self.slot_entities

    # --- slots ---------------------------------------------------------------------------------

    def _slot(self, slot: str, line: int, validate: str | None) -> dict[str, Any] | None:
        form = self.form
        if form.mappings is not None:
            mappings = form.mappings.get(slot, ())
        elif slot in self.domain.slots:
            mappings = tuple(m for m in self.domain.slots[slot].mappings if m.applies_to(form.name))
        else:
            self.note(line, f"required slot `{slot}` of form `{form.name}` is not in the domain's `slots:`; left out")
            return None
        entry: dict[str, Any] = {"name": slot}
        ask_action, ask = self._ask(slot)
        if not mappings:
            if validate is None:
                self.note(line, f"slot `{slot}` has no mapping for form `{form.name}` and nothing fills it; left out")
                return None
            entry["from"] = "custom"  # only the validate action's extract_<slot> fills it
            return _asked(entry, ask_action)
        first = mappings[0]
        group = [m for m in mappings if m.type == first.type or (m.type in CUSTOM_TYPES and first.type in CUSTOM_TYPES)]
        for other in mappings:
            if other not in group:
                self.report.note(
                    other.file,
                    other.line,
                    f"slot `{slot}` of form `{form.name}` is filled one way in Deskmate: its `{first.type}` mapping "
                    f"is kept, this `{other.type}` mapping is not",
                )
        filled = self._source(slot, first, group, validate, ask, entry)
        if not filled:
            return None
        only = first.intents if first.type not in ("from_intent", "from_trigger_intent") else ()
        for key, names in (("intent", only), ("not_intent", first.not_intents)):
            kept = self._intents(names, first.line, f"`{key}` of slot `{slot}`", file=first.file)
            if kept:
                entry[key] = kept
                if key == "intent":
                    self.answers.update(kept)
        if first.dropped:
            keys = ", ".join(f"`{key}`" for key in first.dropped)
            self.report.note(first.file, first.line, f"{keys} of the mapping of slot `{slot}` dropped")
        return _asked(entry, ask_action)

    def _source(
        self,
        slot: str,
        first: SlotMapping,
        group: list[SlotMapping],
        validate: str | None,
        ask: list[Any],
        entry: dict[str, Any],
    ) -> bool:
        """Fill in ``from`` (and ``entity`` / ``intents``) of ``entry``; False when it cannot be."""
        note = self.report.note
        if first.type == "from_entity":
            entity = first.entity or slot
            self.slot_entities.add(entity)
            for other in group[1:]:
                if other.entity != first.entity:
                    note(
                        other.file,
                        other.line,
                        f"slot `{slot}` keeps entity `{entity}`; entity `{other.entity}` is dropped",
                    )
            if entity in self.entities:
                entry.update({"from": "entity", "entity": entity})
            elif _has_values(ask):
                entry["from"] = "button"
                note(
                    first.file,
                    first.line,
                    f"slot `{slot}` is filled from entity `{entity}`, which Deskmate cannot find (no pattern or lookup); "
                    "its question's buttons carry the values: `from: button` (clicked or typed)",
                )
            else:
                entry["from"] = "text"
                note(
                    first.file,
                    first.line,
                    f"slot `{slot}` is filled from entity `{entity}`, which Deskmate cannot find (no pattern or lookup); "
                    f"the whole reply fills it (`from: text`): add `{entity}` to entities.yml and write `from: entity`",
                )
        elif first.type == "from_text":
            entry["from"] = "text"
        elif first.type in ("from_intent", "from_trigger_intent"):
            values: dict[str, Any] = {}
            for mapping in group:
                if not mapping.intents:
                    note(
                        mapping.file,
                        mapping.line,
                        f"a `{mapping.type}` mapping of `{slot}` without `intent:` is not imported",
                    )
                elif not isinstance(mapping.value, str | int | float | bool):
                    note(
                        mapping.file,
                        mapping.line,
                        f"the `value` of a mapping of `{slot}` must be text, a number or true/false",
                    )
                else:
                    for intent in self._intents(
                        mapping.intents, mapping.line, f"`intent` of slot `{slot}`", file=mapping.file
                    ):
                        values.setdefault(intent, mapping.value)
            if not values:
                note(
                    first.file, first.line, f"slot `{slot}` of form `{self.form.name}` has no usable mapping; left out"
                )
                return False
            entry.update({"from": "intent" if first.type == "from_intent" else "trigger", "intents": values})
            if first.type == "from_intent":
                self.answers.update(values)
        elif validate is not None:
            entry["from"] = "custom"
        else:
            note(
                first.file,
                first.line,
                f"slot `{slot}` is filled by a custom action, and form `{self.form.name}` has no `validate_"
                f"{self.form.name}` action to fill it; left out",
            )
            return False
        return True

    def _ask(self, slot: str) -> tuple[str | None, list[Any]]:
        """The slot's ask action, if any, and the variations of its first question (its responses are written)."""
        form = self.form.name
        ask_action = next(
            (a for a in (f"action_ask_{form}_{slot}", f"action_ask_{slot}") if a in self.domain.actions), None
        )
        if ask_action is not None:
            self.actions.add(ask_action)
        found: list[Any] = []
        entity = [m.entity for m in self._mappings(slot) if m.entity]
        for rasa, ours in (
            (f"utter_ask_{form}_{slot}", f"ask_{self.name}_{slot}"),
            (f"utter_ask_{slot}", f"ask_{slot}"),
        ):
            response = self.responses.get(rasa)
            if response is None:
                continue
            if ours not in self.plan.responses and ours not in self.responses_out:
                context = AskContext(slot, tuple(entity))
                self.responses_out[ours] = convert_response(
                    response, intents=self.intents, report=self.report, ask=context
                )
                self.used.add(rasa)
            found = found or self.responses_out.get(ours) or self.plan.responses[ours]
        return ask_action, found

    def _mappings(self, slot: str) -> tuple[SlotMapping, ...]:
        if self.form.mappings is not None:
            return self.form.mappings.get(slot, ())
        return self.domain.slots[slot].mappings if slot in self.domain.slots else ()

    def _intents(self, names: tuple[str, ...], line: int, what: str, *, file: Path | None = None) -> list[str]:
        """Deskmate names of ``names``; a retrieval intent (``faq``) stands for each of its ``faq/x``."""
        kept: list[str] = []
        for name in names:
            parts = [ours for rasa, ours in self.intents.items() if rasa.startswith(f"{name}/")]
            if name in self.intents:
                kept.append(self.intents[name])
            elif parts:
                kept.extend(parts)
            elif name in YES_NO:
                kept.append(name)
            else:
                self.report.note(
                    file or self.form.file, line, f"{what} names intent `{name}`, which is not imported; dropped"
                )
        return kept

    # --- done ----------------------------------------------------------------------------------

    def _done(self) -> list[dict[str, str]] | None:
        form = self.form
        answers = self.dialogue.done.get(form.name)
        if not answers:
            self.note(
                form.line,
                f"no rule or story says what runs when form `{form.name}` is complete (`- active_loop: null`, then "
                "an action); imported without `done`: the form collects its slots and ends with the system message "
                "`form_done`",
            )
            return None
        steps = [step for step in (self._done_step(answer) for answer in answers) if step is not None]
        return steps or None

    def _stop(self) -> dict[str, Any]:
        """The form's stop question, from a story that asks it and leaves the form on the answer."""
        found = self.dialogue.stops.get(self.form.name)
        if not found:
            return {}
        stop: dict[str, Any] = {"leave_on": found["leave_on"]}
        for key in ("ask", "stopped"):
            name = found.get(key)
            if name is None:
                continue
            step = self._done_step(Answer(RESPONSE, name, self.form.file, self.form.line))
            if step is not None:
                stop[key] = step["response"]
        intents = self._intents(tuple(found["intents"]), self.form.line, "`stop` intents")
        if intents:
            stop["intents"] = intents
        return stop

    def _done_step(self, answer: Answer) -> dict[str, str] | None:
        form = self.form
        if answer.kind != RESPONSE:
            self.actions.add(answer.name)
            return {"action": answer.name}
        response = self.responses.get(answer.name)
        if response is None:
            self.report.note(
                answer.file, answer.line, f"`{answer.name}` ends form `{form.name}`, but no response defines it"
            )
            return None
        converted = convert_response(response, intents=self.intents, report=self.report)
        name = deskmate_name(answer.name.removeprefix("utter_"))
        if self.taken.get(name, converted) != converted or self.plan.responses.get(name, converted) != converted:
            name = f"{self.name}_{name}"  # unique: the form's name, then the response's
        self.responses_out[name] = converted
        self.used.add(answer.name)
        return {"response": name}


def _asked(entry: dict[str, Any], ask_action: str | None) -> dict[str, Any]:
    return {**entry, "ask_action": ask_action} if ask_action is not None else entry


def _has_values(variations: list[Any]) -> bool:
    return any(isinstance(v, dict) and any("value" in b for b in v.get("buttons", [])) for v in variations)
