"""What the rules and stories of a Rasa project make the bot do, in Deskmate's terms.

Deskmate answers each intent one way (a response, a custom action or a form) and runs forms
itself (their questions, interruptions, "stop"), so::

    - intent: x   - action: utter_y                  ->  x is answered by the response utter_y
    - intent: x   - action: action_y                 ->  x is answered by the custom action action_y
    - intent: x   - action: f   - active_loop: f     ->  x starts the form f
    form f ... - active_loop: null  - action: a      ->  what runs when f is complete (its `done`)
    - intent: faq - action: utter_faq                ->  each faq/x is answered by utter_faq/x

Rules and first turns of stories decide. Turns that depend on what came before (later turns of a
story, rules with a ``condition:`` or ``conversation_start:``, stories after a checkpoint) are
used only for intents nothing else answers (see :mod:`kb.rasa.answers`), and are reported when
they answer differently: Deskmate keeps no memory of the conversation beyond its forms. Every
note names the file and line.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from kb.rasa.answers import (
    CONTEXT,
    CUSTOM_ACTION,
    FORM,
    INTERRUPTION,
    RESPONSE,
    RULE,
    STORY,
    Answer,
    Dialogue,
    choose_answers,
    choose_done,
)
from kb.rasa.files import Report
from kb.rasa.flows import ACTION, ACTIVE_LOOP, BOT, CHECKPOINT, INTENT, OR, SLOT_WAS_SET, USER, Flow, Step

FALLBACK_INTENT = "nlu_fallback"
LISTEN, DEACTIVATE = "action_listen", "action_deactivate_loop"
DEFAULT_ACTIONS = (
    "action_restart",
    "action_session_start",
    "action_default_fallback",
    "action_two_stage_fallback",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
    "action_revert_fallback_events",
    "action_back",
    "action_unlikely_intent",
    "action_extract_slots",
)


def read_dialogue(
    flows: Iterable[Flow],
    *,
    intents: Collection[str],
    forms: Collection[str],
    responses: Collection[str],
    actions: Collection[str],
    report: Report,
) -> Dialogue:
    """Read ``flows`` into the answer of each intent and the end of each form; notes go to ``report``."""
    reader = _Reader(intents, forms, responses, actions, report)
    for flow in flows:
        reader.flow(flow)
    return reader.dialogue()


@dataclass
class _Turn:
    intents: tuple[str, ...]  # empty: the steps before the first user message
    line: int
    steps: list[Step] = field(default_factory=list)


@dataclass
class _Played:
    """What the bot steps of one turn did."""

    answers: list[Step] = field(default_factory=list)  # actions answering the customer, in order
    started: Step | None = None  # a form started in this turn
    form_ran: bool = False  # the active form took the turn (it asked, or was filled)
    cancelled: bool = False  # action_deactivate_loop
    active: str | None = None  # the form active after the turn


class _Reader:
    def __init__(
        self,
        intents: Collection[str],
        forms: Collection[str],
        responses: Collection[str],
        actions: Collection[str],
        report: Report,
    ) -> None:
        self.intents = set(intents)
        self.bases = {name.split("/", 1)[0] for name in intents if "/" in name}  # retrieval intents
        self.forms, self.responses, self.actions = set(forms), set(responses), set(actions)
        self.report = report
        self.candidates: dict[str, list[Answer]] = {}
        self.done: dict[str, list[tuple[Answer, list[Step]]]] = {}
        self.started: set[str] = set()
        self.in_forms: set[str] = set()
        # form -> how its stop is confirmed: {"ask", "leave_on", "stopped", "intents"} (Rasa names)
        self.stops: dict[str, dict[str, Any]] = {}
        self._asked: tuple[str, _Turn, Step, Flow] | None = None  # a question asked mid-form, this flow

    # --- one rule or story ------------------------------------------------------------------

    def flow(self, flow: Flow) -> None:
        note = self.report.note
        context = ""
        active: str | None = None
        slots = [s.name for s in flow.condition if s.kind == SLOT_WAS_SET and s.name]
        loops = [s for s in flow.condition if s.kind == ACTIVE_LOOP]
        if slots:
            context = f"only when its `condition:` on {', '.join(slots)} holds ({flow.label})"
            note(
                flow.file,
                flow.line,
                f"{flow.label} applies only when slots {', '.join(slots)} are set as its `condition:` says; "
                "Deskmate answers an intent the same way whatever the slots: this rule answers only intents that "
                "no other rule or story answers",
            )
        if loops and loops[0].name in self.forms:
            active = loops[0].name
        elif loops:
            note(flow.file, loops[0].line, f"`active_loop: {loops[0].name}` in the condition names no form; ignored")
        if flow.conversation_start:
            context = context or f"only at the start of a conversation ({flow.label})"
            note(
                flow.file,
                flow.line,
                f"{flow.label} applies only at the start of a conversation (`conversation_start: true`); Deskmate "
                "answers intents the same way at any point: this rule answers only intents that no other rule or "
                "story answers",
            )
        if not flow.wait_for_user_input:
            note(
                flow.file,
                flow.line,
                f"`wait_for_user_input: false` of {flow.label} ignored: Deskmate waits for the customer after "
                "each answer (the rule that continues it answers its own intent)",
            )
        turns = self._turns(flow)
        if turns is None:
            return
        self._asked = None
        first = True
        for turn in turns:
            if not turn.intents:
                active, leading_context = self._leading(flow, turn, active)
                context = context or leading_context
                continue
            rank = (RULE if flow.kind == "rule" else STORY) if first and not context else CONTEXT
            reason = context or f"in a later turn of {flow.label}, after what the customer said before"
            if active is not None:
                active = self._in_form(flow, turn, active)
            else:
                active = self._outside(flow, turn, rank, reason if rank == CONTEXT else "")
            first = False
        self._not_a_stop()

    def _turns(self, flow: Flow) -> list[_Turn] | None:
        turns = [_Turn((), flow.line)]
        for step in flow.steps:
            if step.kind == INTENT and step.name is not None:
                turns.append(_Turn((step.name,), step.line))
            elif step.kind == OR:
                if not step.alternatives:
                    self.report.note(
                        flow.file,
                        step.line,
                        f"`or:` of {flow.label} mixes other steps than intents; Deskmate cannot map it: "
                        f"the {flow.kind} is not used",
                    )
                    return None
                self.report.note(
                    flow.file,
                    step.line,
                    f"`or:` of {flow.label} read as the same answer for each of {', '.join(step.alternatives)}",
                )
                turns.append(_Turn(step.alternatives, step.line))
            elif step.kind == USER:
                self.report.note(
                    flow.file,
                    step.line,
                    f"{flow.label} has a user message without `intent:` (end-to-end); Deskmate answers intents: "
                    f"the {flow.kind} is not used",
                )
                return None
            else:
                turns[-1].steps.append(step)
        return turns

    def _leading(self, flow: Flow, turn: _Turn, active: str | None) -> tuple[str | None, str]:
        """Steps before the first user message: a form's completion (rules with a condition), or context."""
        context = ""
        checkpoints = [s for s in turn.steps if s.kind == CHECKPOINT]
        if checkpoints and checkpoints[0] is turn.steps[0]:
            context = f"after checkpoint `{checkpoints[0].name}` ({flow.label})"
            self.report.note(
                flow.file,
                checkpoints[0].line,
                f"{flow.label} continues another story at checkpoint `{checkpoints[0].name}`; Deskmate keeps no "
                "memory of earlier turns: its turns answer only intents that no other rule or story answers",
            )
        played = self._play(flow, [s for s in turn.steps if s.kind != CHECKPOINT], active)
        if played.answers:
            first = played.answers[0]
            context = context or f"after the bot spoke first ({flow.label})"
            self.report.note(
                flow.file,
                first.line,
                f"{flow.label} has the bot act (`{first.name}`) before the customer says anything; not mapped "
                "(Deskmate opens conversations with kb.yml system.greeting)",
            )
        return played.active, context

    def _outside(self, flow: Flow, turn: _Turn, rank: int, context: str) -> str | None:
        """A customer message while no form runs: its intents get this turn's answer."""
        played = self._play(flow, turn.steps, None)
        if played.started is not None:
            answer = played.started
            before = [s for s in played.answers if s.line < answer.line]
            for step in before:
                self.report.note(
                    flow.file,
                    step.line,
                    f"`{step.name}` runs before form `{answer.name}` starts in {flow.label}; Deskmate starts the "
                    "form at once and does not run it: put its text into the form's first question",
                )
            extras = [s for s in played.answers if s.line > answer.line]
        elif played.answers:
            answer, extras = played.answers[0], played.answers[1:]
        else:
            names = ", ".join(turn.intents)
            self.report.note(flow.file, turn.line, f"{flow.label} answers `{names}` with nothing; not mapped")
            return played.active
        for step in extras:
            self.report.note(
                flow.file,
                step.line,
                f"{flow.label} answers `{', '.join(turn.intents)}` with several actions; Deskmate runs one: it "
                f"keeps `{answer.name}` and does not run `{step.name}`",
            )
        for intent in turn.intents:
            self._candidate(flow, intent, answer, rank, context)
        return played.active

    def _in_form(self, flow: Flow, turn: _Turn, active: str) -> str | None:
        """A customer message while ``active`` runs: an answer to its question, an interruption or a stop."""
        played = self._play(flow, turn.steps, active)
        names = ", ".join(turn.intents)
        self.in_forms.update(turn.intents)
        asked, self._asked = self._asked, None
        if played.cancelled and asked is not None and asked[0] == active and turn.intents[0] in ("affirm", "deny"):
            _, stop_turn, question, _ = asked
            said = next((s.name for s in played.answers if s.name and s.name.startswith("utter_")), None)
            self.stops[active] = {
                "ask": question.name,
                "leave_on": turn.intents[0],
                "stopped": said,
                "intents": list(stop_turn.intents),
            }
            self.report.note(
                flow.file,
                stop_turn.line,
                f"{flow.label}: `{', '.join(stop_turn.intents)}` during form `{active}` asks `{question.name}`, and "
                f'`{turn.intents[0]}` leaves the form: the form\'s `stop:` question ("stop", "cancel" and the '
                "like ask it too)",
            )
            return played.active
        if asked is not None:
            self._not_a_stop(asked)
        if played.cancelled:
            self.report.note(
                flow.file,
                turn.line,
                f'{flow.label} leaves form `{active}` on `{names}`; Deskmate does this itself: "stop", "cancel" '
                "and the like ask the customer to confirm, then leave the form (other steps of this turn not used)",
            )
            return played.active
        if not played.answers:
            return played.active  # the form took the turn: an answer to its question
        answer = played.answers[0]
        if played.form_ran:
            for intent in turn.intents:
                self._candidate(flow, intent, answer, INTERRUPTION, f"during form `{active}` ({flow.label})")
            if flow.kind == "rule":
                self.report.note(
                    flow.file,
                    turn.line,
                    f"{flow.label} answers `{names}` during form `{active}`, then goes back to the form; Deskmate "
                    "does this for every intent: it answers the interruption, then asks its question again",
                )
            return played.active
        if answer.name and answer.name.startswith("utter_") and not played.answers[1:]:
            self._asked = (active, turn, answer, flow)  # a stop question, if the next turn leaves the form
            return played.active
        self._not_a_stop((active, turn, answer, flow))
        return played.active

    def _not_a_stop(self, asked: tuple[str, _Turn, Step, Flow] | None = None) -> None:
        """A question asked mid-form that did not turn out to be a stop question: reported, not used."""
        asked = asked or self._asked
        self._asked = None
        if asked is None:
            return
        active, turn, answer, flow = asked
        self.report.note(
            flow.file,
            answer.line,
            f"during form `{active}`, {flow.label} answers `{', '.join(turn.intents)}` with `{answer.name}` and "
            "does not go back to the form; Deskmate answers an interruption and asks its question again, and "
            'asks to confirm "stop" or "cancel" before leaving the form: this turn is not used',
        )

    def _play(self, flow: Flow, steps: list[Step], active: str | None) -> _Played:
        """Run the bot steps of one turn with ``active`` the form running before them."""
        played = _Played(active=active)
        completed: str | None = None
        done: list[Step] = []
        for step in steps:
            if step.kind == ACTION and step.name is not None:
                if step.name == LISTEN:
                    continue
                if step.name == DEACTIVATE:
                    played.cancelled = True
                elif step.name in self.forms and step.name == played.active:
                    played.form_ran = True
                elif step.name in self.forms:
                    played.started = played.started or step
                    self.started.add(step.name)
                elif completed is not None:
                    done.append(step)
                else:
                    played.answers.append(step)
            elif step.kind == ACTIVE_LOOP:
                if step.name is None:
                    finished = played.active or (played.started.name if played.started else None)
                    if finished is not None and not played.cancelled:
                        completed = finished
                    played.active = None
                elif step.name in self.forms:
                    played.active = step.name
                else:
                    self.report.note(flow.file, step.line, f"`active_loop: {step.name}` names no form; ignored")
            elif step.kind == BOT:
                self.report.note(
                    flow.file, step.line, f"{flow.label} has a bot text step (end-to-end); Deskmate cannot map it"
                )
            elif step.kind == CHECKPOINT:
                self.report.note(
                    flow.file,
                    step.line,
                    f"{flow.label} goes on in another story (checkpoint `{step.name}`); that story's turns answer only "
                    "intents that no other rule or story answers",
                )
        if completed is not None:
            self._completed(flow, completed, done)
        elif played.started is not None and not any(s.kind == ACTIVE_LOOP for s in steps):
            played.active = played.started.name  # `- active_loop: f` left out after `- action: f`
        return played

    def _completed(self, flow: Flow, form: str, steps: list[Step]) -> None:
        if not steps:
            return
        first = steps[0]
        kind = RESPONSE if first.name and first.name.startswith("utter_") else CUSTOM_ACTION
        rank = RULE if flow.kind == "rule" else STORY
        answer = Answer(kind, str(first.name), flow.file, first.line, rank)
        self.done.setdefault(form, []).append((answer, steps[1:]))

    # --- answers ------------------------------------------------------------------------------

    def _candidate(self, flow: Flow, intent: str, step: Step, rank: int, context: str) -> None:
        name = str(step.name)
        note = self.report.note
        if intent not in self.intents and intent not in self.bases and intent != FALLBACK_INTENT:
            note(flow.file, step.line, f"{flow.label} answers intent `{intent}`, which has no examples; not used")
            return
        if name in self.forms:
            kind = FORM
        elif name.startswith("utter_"):
            kind = RESPONSE
            base = name.removeprefix("utter_")
            if name not in self.responses and base not in self.bases:
                note(
                    flow.file, step.line, f"{flow.label} answers with `{name}`, which no `responses:` define; not used"
                )
                return
        elif name in DEFAULT_ACTIONS and intent != FALLBACK_INTENT:
            note(
                flow.file,
                step.line,
                f"{flow.label} answers `{intent}` with Rasa's `{name}`, which Deskmate does not have; not used "
                "(Deskmate asks to rephrase, clarifies and hands off by itself)",
            )
            return
        else:
            kind = CUSTOM_ACTION
            if name not in self.actions and name not in DEFAULT_ACTIONS:
                note(flow.file, step.line, f"custom action `{name}` is not listed in the domain's `actions:`")
        answer = Answer(kind, name, flow.file, step.line, rank, context)
        self.candidates.setdefault(intent, []).append(answer)

    def dialogue(self) -> Dialogue:
        dialogue = Dialogue(started=set(self.started), in_forms=set(self.in_forms), stops=dict(self.stops))
        dialogue.answers = choose_answers(self.candidates, self.report)
        dialogue.done = choose_done(self.done, self.report)
        return dialogue
