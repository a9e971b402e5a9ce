"""One customer turn of a form, without I/O.

A :class:`FormTurn` is a small state machine driven by the service: it produces conversation events
and, when it needs something only the service can do, it stops with a request in ``pending``:

- :class:`RunAction`: run a custom action (the form's validate action, a slot's ask action, the
  ``done`` action) and :meth:`FormTurn.resume` with its :class:`~bot.core.conversation.ActionOutcome`;
- :class:`AnswerInstead`: answer the message as if no form were active (an interruption: "how much
  is delivery?" in the middle of an order lookup) and resume with the events of that answer.

::

    turn = conversation.form_turn(...)            # None: not a form turn
    while turn.pending is not None:
        turn.resume(await perform(turn.pending))  # the service's I/O
    events = turn.events

The logic is one generator (:meth:`FormTurn._run`) that yields requests and receives their results,
so it reads top to bottom. Rules (docs/kb-format.md, "forms.yml"): the reply is read first as the
answer to the question asked; a failed answer is asked again after the check's message, and
``max_failures`` failed answers hand off (``form_failed``); a reply that fills nothing but is
confidently another intent is answered, then the question is asked again; "stop" asks to confirm.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.core.events import BOT_REPLY, FORM, HANDOFF, SLOT_SET, STATE_CHANGED, NewEvent
from bot.core.forms.reading import Reply, candidates, trigger_values
from bot.core.forms.replies import NO, YES, is_stop, yes_or_no
from bot.core.forms.requests import ASK, DONE, VALIDATE, AnswerInstead, Request, RunAction
from bot.core.forms.state import (
    ASKING,
    CANCELLED,
    COMPLETED,
    FAILED,
    HANDED_OFF,
    PENDING_CONFIRM,
    PENDING_STOP,
    STARTED,
    SWITCHED,
    FormState,
)
from bot.core.forms.values import Taken, checked, validated
from bot.core.policy import Action, Decision, HandoffReason, Understanding
from kb.forms_model import BUTTON, INTENT, TEXT, TRIGGER, Form
from kb.model import Button, KnowledgeBase
from kb.placeholders import known_slots

if TYPE_CHECKING:
    from bot.core.composer import Composer
    from bot.core.conversation import ActionOutcome, Conversation

logger = logging.getLogger(__name__)

FORM_FAILED = "form_failed"  # the handoff reason when a question failed max_failures times


def yes_no_buttons(composer: Composer) -> tuple[Button, Button]:
    """A yes/no question's buttons, titled in the composer's language (system ``button_yes``/``button_no``)."""
    return Button(composer.system("button_yes"), value="yes"), Button(composer.system("button_no"), value="no")


@dataclass
class _Taken:
    accepted: dict[str, Any] = field(default_factory=dict)
    rejected: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)  # {text, buttons} said about them
    next_slot: tuple[str | None] | None = None  # the validate action chose the next slot (None: done)
    failed: bool = False  # the validate action failed: the turn handed off


class FormTurn:
    def __init__(
        self,
        conversation: Conversation,
        *,
        kb: KnowledgeBase,
        composer: Composer,
        text: str,
        understanding: Understanding,
        decision: Decision,
        entities: list[tuple[str, str]],
        client_id: str,
        start: Form | None = None,
    ) -> None:
        self.conversation = conversation
        self.kb = kb
        self.composer = composer
        self.text = text
        self.understanding = understanding
        self.decision = decision
        self.client_id = client_id
        self.start = start
        confident = decision.intent if decision.action is Action.ANSWER else None
        self.reply = Reply.read(text, entities, confident)
        self.events: list[NewEvent] = []
        self._steps = self._run()
        self.pending: Request | None = self._step(None)

    def resume(self, result: ActionOutcome | list[NewEvent]) -> None:
        """Go on with the result of ``pending``: an action's outcome, or the events of a plain answer."""
        if self.pending is None:
            raise RuntimeError("this form turn is finished; it has nothing to resume")
        self.pending = self._step(result)

    def _step(self, value: Any) -> Request | None:
        try:
            return self._steps.send(value)
        except StopIteration:
            return None

    # The turn ---------------------------------------------------------------------------------

    def _run(self) -> Generator[Request, Any, None]:
        state = self.conversation.form
        if self.start is not None:
            if state.active and state.form != self.start.name:
                self._form_event(replace(state, status=SWITCHED))
            yield from self._begin(self.start)
            return
        form = self.kb.forms.get(state.form or "")
        if form is None:  # a reload removed the form: answer as usual
            self._form_event(replace(state, status=CANCELLED))
            yield from self._answer_instead()
            return
        if state.pending == PENDING_STOP:
            yield from self._after_stop_question(form, state)
        elif state.pending == PENDING_CONFIRM:
            yield from self._after_confirm_question(form, state)
        else:
            yield from self._after_question(form, state)

    def _begin(self, form: Form) -> Generator[Request, Any, None]:
        logger.info("conversation %s: form %s started", self.conversation.id, form.name)
        self._form_event(FormState(form.name, None, STARTED))
        found = {**trigger_values(form, self.decision.intent), **candidates(form, None, self.reply, templates={})}
        taken = yield from self._take(form, None, found)
        if taken.failed:
            return
        self._say_all(taken.messages, form)
        yield from self._next(form, taken.next_slot)

    def _after_question(self, form: Form, state: FormState) -> Generator[Request, Any, None]:
        asked = state.requested_slot
        if self._asks_to_stop(form):
            self._ask_stop(form, state)
            return
        if self.decision.action is Action.HANDOFF and self.decision.reason is HandoffReason.EXPLICIT_REQUEST:
            self._handoff(form, HANDED_OFF, self.decision.reason.value)
            return
        found = candidates(
            form, asked, self.reply, templates=self.kb.templates, offered=self.conversation.offered_values
        )
        taken = yield from self._take(form, asked, found)
        if taken.failed:
            return
        # answered: the slot has a value now, or the validate action moved on to another slot
        moved_on = taken.next_slot is not None and taken.next_slot[0] != asked
        answered = asked is None or self._value(asked) or moved_on
        if not answered and not taken.accepted and asked not in taken.rejected:
            kind = self._interruption(form)
            if kind == "switch":
                target = self.kb.forms[self.kb.intent(self.decision.intent or "").form or ""]
                self._form_event(replace(state, status=SWITCHED))
                yield from self._begin(target)
                return
            if kind == "answer":
                yield from self._answer_instead()
                if self.conversation.bot_is_answering and self.conversation.form.active:
                    yield from self._ask(form, asked)
                return
            if kind == "same":  # asked again for the task already under way: just ask again
                yield from self._ask(form, asked)
                return
        if not answered:
            assert asked is not None
            yield from self._failed_answer(form, state, asked, taken)
            return
        self._say_all(taken.messages, form)
        yield from self._next(form, taken.next_slot)

    def _failed_answer(self, form: Form, state: FormState, asked: str, taken: Taken) -> Generator[Request, Any, None]:
        failures = state.failures + 1
        if failures >= form.max_failures:
            self._say_all(taken.messages, form)
            self._handoff(form, FAILED, FORM_FAILED, failures=failures)
            return
        self._form_event(replace(state, status=ASKING, failures=failures))
        if taken.messages:
            self._say_all(taken.messages, form)
        else:
            slot = form.slot(asked)
            message = slot.check.message if slot is not None and slot.check is not None else None
            self._say(message or self.composer.system("form_retry"), form)
        yield from self._ask(form, asked)

    def _after_stop_question(self, form: Form, state: FormState) -> Generator[Request, Any, None]:
        answer = yes_or_no(self.text) or self._mapped_yes_no()
        leave_on = form.stop.leave_on if form.stop is not None and self._own_stop_question(form) else YES
        if answer == leave_on or self._asks_to_stop(form):
            logger.info("conversation %s: form %s stopped by the customer", self.conversation.id, form.name)
            self._form_event(replace(state, status=CANCELLED, pending=None))
            said = form.stop.stopped if form.stop is not None else None
            reply = (
                self.composer.named(said, turn=self.conversation.bot_turns, slots=self.conversation.slots)
                if said
                else None
            )
            if reply is not None:
                self._reply(reply.text, form, **reply.data)
            else:
                self._say(self.composer.system("form_stopped"), form)
            return
        resumed = replace(state, pending=None)
        if answer in (YES, NO):
            self._form_event(resumed)
            self._say(self.composer.system("form_continue"), form)
            if state.requested_slot is None:
                yield from self._next(form, None)
            else:
                yield from self._ask(form, state.requested_slot)
            return
        self._form_event(resumed)  # neither: read it as the answer to the question
        yield from self._after_question(form, resumed)

    def _after_confirm_question(self, form: Form, state: FormState) -> Generator[Request, Any, None]:
        if self._asks_to_stop(form):
            self._ask_stop(form, state)
            return
        if self.decision.action is Action.HANDOFF and self.decision.reason is HandoffReason.EXPLICIT_REQUEST:
            self._handoff(form, HANDED_OFF, self.decision.reason.value)
            return
        answer = yes_or_no(self.text) or self._mapped_yes_no()
        if answer == YES:
            yield from self._complete(form)
            return
        if answer == NO:
            for name in (slot.name for slot in form.slots if slot.source != TRIGGER):
                if name in self.conversation.raw_slots:
                    self._emit(NewEvent(SLOT_SET, {"slot": name, "value": None, "source": "form"}))
            self._form_event(FormState(form.name, None, ASKING))
            self._say(self.composer.system("form_restart"), form)
            yield from self._next(form, None)
            return
        kind = self._interruption(form)
        if kind == "switch":
            self._form_event(replace(state, status=SWITCHED, pending=None))
            yield from self._begin(self.kb.forms[self.kb.intent(self.decision.intent or "").form or ""])
            return
        if kind == "answer":
            yield from self._answer_instead()
            if self.conversation.bot_is_answering and self.conversation.form.active:
                self._ask_confirm(form)
            return
        if kind == "same":
            self._ask_confirm(form)
            return
        failures = state.failures + 1
        if failures >= form.max_failures:
            self._handoff(form, FAILED, FORM_FAILED, failures=failures)
            return
        self._form_event(replace(state, failures=failures))
        self._say(self.composer.system("form_retry"), form)
        self._ask_confirm(form)

    # Steps ------------------------------------------------------------------------------------

    def _take(self, form: Form, asked: str | None, found: dict[str, Any]) -> Generator[Request, Any, Taken]:
        """Check the candidate values (each slot's check, then the form's validate action) and set the good ones."""
        taken = checked(form, asked, found)
        self._clear(taken.rejected)  # failed its check: the validate action never sees it
        if form.validate is not None:
            outcome = yield RunAction(form.validate, VALIDATE, form, asked, dict(taken.accepted))
            if outcome.error is not None:
                self._handoff(form, HANDED_OFF, "action", error=outcome.error)
                taken.failed = True
                return taken
            taken = validated(taken, outcome)
        for name, value in taken.accepted.items():
            if self.conversation.raw_slots.get(name) != value:
                self._emit(NewEvent(SLOT_SET, {"slot": name, "value": value, "source": "form"}))
        self._clear(taken.rejected)  # set from the message's entities, then refused
        return taken

    def _clear(self, names: set[str]) -> None:
        for name in sorted(names):
            if self.conversation.raw_slots.get(name) is not None:
                self._emit(NewEvent(SLOT_SET, {"slot": name, "value": None, "source": "form"}))

    def _next(self, form: Form, chosen: tuple[str | None] | None) -> Generator[Request, Any, None]:
        """Ask for the next slot without a value, or complete the form."""
        if chosen is not None:
            following = chosen[0]
        else:
            following = next((name for name in form.slot_names if not self._value(name)), None)
        if following is None:
            if form.confirm is not None:
                self._form_event(FormState(form.name, None, ASKING, pending=PENDING_CONFIRM))
                self._ask_confirm(form)
                return
            yield from self._complete(form)
            return
        self._form_event(FormState(form.name, following, ASKING))
        yield from self._ask(form, following)

    def _ask(self, form: Form, slot_name: str | None) -> Generator[Request, Any, None]:
        if slot_name is None:
            yield from self._next(form, None)
            return
        slot = form.slot(slot_name)
        if slot is not None and slot.ask_action is not None:
            outcome = yield RunAction(slot.ask_action, ASK, form, slot_name)
            if outcome.error is None and outcome.messages:
                for message in outcome.messages:
                    self._reply(
                        message["text"],
                        form,
                        buttons=message.get("buttons", []),
                        asks=slot_name,
                        action=slot.ask_action,
                    )
                return
        for name in form.ask_responses(slot_name):
            reply = self.composer.named(name, turn=self.conversation.bot_turns, slots=self.conversation.slots)
            if reply is not None:
                self._reply(reply.text, form, asks=slot_name, **reply.data)
                return
        self._reply(f"Could you tell me your {slot_name.replace('_', ' ')}?", form, asks=slot_name)

    def _ask_confirm(self, form: Form) -> None:
        assert form.confirm is not None
        reply = self.composer.named(
            form.confirm, turn=self.conversation.bot_turns, slots=self.conversation.slots, buttons=yes_no_buttons(self.composer)
        )
        text = reply.text if reply is not None else "Shall I go ahead?"
        data = reply.data if reply is not None else {"buttons": [b.to_dict() for b in yes_no_buttons(self.composer)]}
        self._reply(text, form, **data)

    def _ask_stop(self, form: Form, state: FormState) -> None:
        self._form_event(replace(state, pending=PENDING_STOP))
        ask = form.stop.ask if form.stop is not None else None
        if ask is not None:
            turn, slots = self.conversation.bot_turns, self.conversation.slots
            reply = self.composer.named(ask, turn=turn, slots=slots, buttons=yes_no_buttons(self.composer))
            if reply is not None:
                self._reply(reply.text, form, **reply.data)
                return
        self._reply(self.composer.system("form_stop"), form, buttons=[b.to_dict() for b in yes_no_buttons(self.composer)])

    def _own_stop_question(self, form: Form) -> bool:
        """Whether the form's own stop question is asked (else the system's "Do you want to stop?")."""
        ask = form.stop.ask if form.stop is not None else None
        return ask is not None and self.composer.named(ask, turn=0, slots=self.conversation.slots) is not None

    def _asks_to_stop(self, form: Form) -> bool:
        """ "stop", "cancel", "never mind"... or an intent the form names for it."""
        stop_intents = form.stop.intents if form.stop is not None else ()
        return is_stop(self.text) or (self.reply.intent is not None and self.reply.intent in stop_intents)

    def _complete(self, form: Form) -> Generator[Request, Any, None]:
        logger.info("conversation %s: form %s complete", self.conversation.id, form.name)
        self._form_event(FormState(form.name, None, COMPLETED))
        if not form.done:
            self._say(self.composer.system("form_done"), form)
        for kind, name in form.done:
            if kind == "response":
                reply = self.composer.named(name, turn=self.conversation.bot_turns, slots=self.conversation.slots)
                if reply is None:  # a slot it needs was cleared by an action
                    self._handoff(form, HANDED_OFF, "action", error=f"response `{name}` could not be filled")
                    return
                self._reply(reply.text, form, source="template", **reply.data)
                continue
            outcome = yield RunAction(name, DONE, form)
            if outcome.error is not None or outcome.paused:
                # never say it was done: a person finishes it, with what was collected
                self._say_all(outcome.messages if outcome.error is None else [], form, action=name)
                self._handoff(form, HANDED_OFF, "action", error=outcome.error)
                return
            for slot, value in outcome.slots.items():
                if self.conversation.raw_slots.get(slot) != value:
                    self._emit(NewEvent(SLOT_SET, {"slot": slot, "value": value, "source": f"action:{name}"}))
            if any(m.get("text") for m in outcome.messages):
                self._say_all(outcome.messages, form, action=name, source="action")
            elif name == form.done[-1][1]:
                self._say(self.composer.system("form_done"), form)
        self._forget_answers(form)

    def _forget_answers(self, form: Form) -> None:
        """After the task is done, its answers (text, buttons, yes/no) are cleared, so the same task
        started again asks them again; values found as entities (an order number, an email) stay known."""
        for slot in form.slots:
            if slot.source in (TEXT, BUTTON, INTENT) and slot.name in self.conversation.raw_slots:
                self._emit(NewEvent(SLOT_SET, {"slot": slot.name, "value": None, "source": "form"}))

    def _handoff(
        self, form: Form, status: str, reason: str, *, error: str | None = None, failures: int | None = None
    ) -> None:
        state = self.conversation.form
        if not state.active:  # the form had completed: its done step failed
            state = FormState(form.name, None, ASKING)
        collected = {
            name: self.conversation.raw_slots[name] for name in form.slot_names if name in self.conversation.raw_slots
        }
        ended = replace(state, status=status, pending=None)
        self._form_event(ended if failures is None else replace(ended, failures=failures))
        logger.info("conversation %s: form %s handed off (%s)", self.conversation.id, form.name, reason)
        data: dict[str, Any] = {
            "text": self.composer.system("handoff"),
            **self._meta(),
            "rule": "form",
            "reason": reason,
            "form": form.name,
            "collected": collected,
        }
        if error is not None:
            data["action_error"] = error
        self._emit(NewEvent(HANDOFF, data))
        self._emit(
            NewEvent(
                STATE_CHANGED, {"from": self.conversation.state.value, "to": "WAITING_FOR_AGENT", "reason": reason}
            )
        )

    def _answer_instead(self) -> Generator[Request, Any, None]:
        events = yield AnswerInstead(self.decision)
        self.events.extend(events)  # already applied to the conversation by whoever made them
        state = self.conversation.form
        if state.active and not self.conversation.bot_is_answering:  # that answer handed off
            self._form_event(replace(state, status=HANDED_OFF, pending=None))

    # Helpers ----------------------------------------------------------------------------------

    def _interruption(self, form: Form) -> str | None:
        """What a reply that filled nothing is: ``switch`` (another task), ``answer``, ``same`` or None."""
        decision = self.decision
        if decision.action not in (Action.ANSWER, Action.RETRIEVED):
            return None
        intent = decision.intent
        if decision.action is Action.ANSWER and intent is not None and intent in self.kb.intent_names:
            if intent in form.ignored_intents:
                return None
            target = self.kb.intent(intent).form
            if target == form.name:
                return "same"
            if target is not None and target in self.kb.forms:
                return "switch"
        return "answer"

    def _mapped_yes_no(self) -> str | None:
        intent = self.reply.intent
        return intent if intent in (YES, NO) else None

    def _value(self, name: str) -> bool:
        return bool(known_slots(self.conversation.slots).get(name))

    def _meta(self) -> dict[str, Any]:
        ranking = self.understanding.prediction.ranking[:3]
        return {
            "reply_to": self.client_id,
            "intent": self.decision.intent,
            "confidence": round(self.decision.confidence, 4),
            "ranking": [{"intent": s.intent, "p": round(s.probability, 4)} for s in ranking],
        }

    def _reply(self, text: str, form: Form, **data: Any) -> None:
        payload: dict[str, Any] = {"text": text, "source": "form", "rule": "form", **self._meta(), "form": form.name}
        payload.update({k: v for k, v in data.items() if v is not None})
        self._emit(NewEvent(BOT_REPLY, payload))

    def _say(self, text: str, form: Form) -> None:
        self._reply(text, form)

    def _say_all(self, messages: list[dict[str, Any]], form: Form, **data: Any) -> None:
        for message in messages:
            if message.get("text"):
                self._reply(message["text"], form, buttons=message.get("buttons") or None, **data)

    def _form_event(self, state: FormState) -> None:
        self._emit(NewEvent(FORM, {**state.to_data(), "reply_to": self.client_id}))

    def _emit(self, event: NewEvent) -> None:
        self.events.extend(self.conversation.emit([event]))
