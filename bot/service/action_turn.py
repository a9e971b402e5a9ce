"""Running a KB intent's custom action for one customer turn, and reading what it came to.

The conversation core stays free of I/O: the service calls :func:`run_action` (which talks to a
Rasa SDK action runner, in-process or over the webhook) and hands the :class:`ActionOutcome` to
``Conversation.action_answer``. Any :class:`ActionError` (timeout, action server down, an
exception in the action) becomes an outcome with ``error`` set: the customer gets the intent's
template and the agent console shows the error; nothing hangs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.actions import (
    ActionCall,
    ActionRunner,
    LatestMessage,
    build_domain,
    latest_message,
    messages,
    paused,
    run_chain,
    slot_updates,
)
from bot.core.conversation import ActionOutcome, Conversation
from bot.core.events import NewEvent
from bot.core.forms.requests import DONE, VALIDATE, AnswerInstead, RunAction
from bot.core.forms.turn import FormTurn
from bot.core.policy import Decision, Understanding
from bot.errors import ActionError
from kb.model import KnowledgeBase

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"  # Rasa's slot for the slot a form asks for


def action_for(kb: KnowledgeBase, decision: Decision, slots: dict[str, str]) -> str | None:
    """The custom action to run for ``decision``: its intent's action, once the slots it needs are known."""
    if decision.intent is None or decision.intent not in kb.intent_names:
        return None
    intent = kb.intent(decision.intent)
    if intent.action is None or any(not slots.get(s) for s in intent.action_slots):
        return None
    return intent.action


async def run_action(
    runner: ActionRunner,
    action: str,
    *,
    conversation: Conversation,
    text: str,
    understanding: Understanding,
    entities: list[tuple[str, str]],
    kb: KnowledgeBase,
) -> ActionOutcome:
    """Run an intent's custom action (and its follow-ups) for this turn."""
    call = ActionCall.from_turns(
        action,
        conversation.id,
        slots=conversation.raw_slots,
        latest=_latest(text, understanding, entities),
        domain=_domain(kb, conversation, action),
    )
    return await _outcome(runner, call, conversation)


async def run_form_action(
    runner: ActionRunner,
    request: RunAction,
    *,
    conversation: Conversation,
    text: str,
    understanding: Understanding,
    entities: list[tuple[str, str]],
    kb: KnowledgeBase,
) -> ActionOutcome:
    """Run a form's action (validate, ask or done) as Rasa calls it: the tracker carries the active
    loop, ``requested_slot``, the latest message and, for validation, the slot candidates."""
    requested = {REQUESTED_SLOT: request.requested_slot}
    call = ActionCall.from_turns(
        request.action,
        conversation.id,
        slots={**conversation.raw_slots, **requested},
        latest=_latest(text, understanding, entities),
        domain=_domain(kb, conversation, request.action),
        active_loop=request.form.name if request.purpose != DONE else None,
        candidates=request.candidates if request.purpose == VALIDATE else None,
    )
    outcome = await _outcome(runner, call, conversation)
    if REQUESTED_SLOT not in outcome.slots:
        return outcome
    slots = dict(outcome.slots)
    chosen = slots.pop(REQUESTED_SLOT)
    return replace(outcome, slots=slots, requested_slot=(None if chosen is None else str(chosen),))


async def finish_form_turn(
    turn: FormTurn,
    runner: ActionRunner | None,
    plain_answer: Callable[[Decision], Awaitable[list[NewEvent]]],
    *,
    conversation: Conversation,
    text: str,
    understanding: Understanding,
    entities: list[tuple[str, str]],
) -> list[NewEvent]:
    """Perform what a form turn asks for (its actions, plain answers to interruptions) until it is done."""
    while turn.pending is not None:
        request = turn.pending
        if isinstance(request, AnswerInstead):
            turn.resume(await plain_answer(request.decision))
        elif runner is None:
            turn.resume(ActionOutcome(request.action, error="no action runner is configured; set one up to run forms"))
        else:
            turn.resume(
                await run_form_action(
                    runner,
                    request,
                    conversation=conversation,
                    text=text,
                    understanding=understanding,
                    entities=entities,
                    kb=turn.kb,
                )
            )
    return turn.events


async def _outcome(runner: ActionRunner, call: ActionCall, conversation: Conversation) -> ActionOutcome:
    try:
        result = await run_chain(runner, call)
    except ActionError as exc:
        logger.warning("conversation %s: action %s failed: %s", conversation.id, call.name, exc)
        return ActionOutcome(call.name, error=str(exc))
    updates = slot_updates(result, current=conversation.raw_slots)
    replies = [_reply(m) for m in messages(result, domain=call.domain, slots={**conversation.slots, **updates})]
    return ActionOutcome(call.name, messages=replies, slots=updates, paused=paused(result))


def _latest(text: str, understanding: Understanding, entities: list[tuple[str, str]]) -> LatestMessage:
    top = understanding.prediction.top
    return latest_message(
        text,
        intent=top.intent,
        confidence=top.probability,
        entities=[{"entity": name, "value": value} for name, value in entities],
    )


def _domain(kb: KnowledgeBase, conversation: Conversation, action: str) -> dict[str, Any]:
    """The domain an action sees: the KB's intents, entities, slots, forms and responses.

    Responses are offered under their Deskmate name and Rasa's ``utter_`` name (an imported action
    says ``utter_message(response="utter_ask_email")``); never a variation in which the bot says
    it is a person (kb validate warns about them).
    """
    responses: dict[str, list[str]] = {}
    for name, variations in kb.templates.items():
        texts = [t.text for t in variations if not t.persona]
        responses[name] = texts
        responses.setdefault(f"utter_{name}", texts)
    return build_domain(
        slots=[*conversation.raw_slots, REQUESTED_SLOT],
        actions=[action],
        intents=kb.intent_names,
        entities=[e.name for e in kb.entities],
        responses=responses,
        forms={name: form.slot_names for name, form in kb.forms.items()},
    )


def _reply(message: Any) -> dict[str, Any]:
    """An action message with its Rasa buttons as ours: payload ``/intent`` -> ``{title, intent}``;
    ``/intent{"slot": "value"}`` or a plain-text payload -> ``{title, value}`` (a form's answer)."""
    buttons = []
    for button in message.get("buttons", []):
        payload = str(button.get("payload", "")).strip()
        title = str(button.get("title", payload.lstrip("/")))
        if payload.startswith("/") and len(payload) > 1:
            intent, _, arguments = payload[1:].partition("{")
            value = _single_value("{" + arguments) if arguments else None
            if value is not None:
                buttons.append({"title": title, "value": value})
            else:
                buttons.append({"title": title, "intent": intent})
        elif payload:
            buttons.append({"title": title, "value": payload})
    return {"text": str(message.get("text", "")), "buttons": buttons}


def _single_value(arguments: str) -> str | None:
    """The value of ``{"slot": "value"}`` (one entry), else None."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return None
    if isinstance(parsed, dict) and len(parsed) == 1:
        value = next(iter(parsed.values()))
        return None if value is None else str(value)
    return None
