"""Running a KB intent's custom action for one customer turn, and reading what it came to.

The conversation core stays free of I/O: the service calls :func:`run_action` (which talks to a
Rasa SDK action runner, in-process or over the webhook) and hands the :class:`ActionOutcome` to
``Conversation.action_answer``. Any :class:`ActionError` (timeout, action server down, an
exception in the action) becomes an outcome with ``error`` set: the customer gets the intent's
template and the agent console shows the error; nothing hangs.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.actions import (
    ActionCall,
    ActionRunner,
    build_domain,
    latest_message,
    messages,
    paused,
    run_chain,
    slot_updates,
)
from bot.conversation import ActionOutcome, Conversation
from bot.errors import ActionError
from bot.policy import Decision, Understanding
from kb.model import KnowledgeBase

logger = logging.getLogger(__name__)


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
    top = understanding.prediction.top
    latest = latest_message(
        text,
        intent=top.intent,
        confidence=top.probability,
        entities=[{"entity": name, "value": value} for name, value in entities],
    )
    domain = build_domain(
        slots=list(conversation.slots),
        actions=[action],
        intents=kb.intent_names,
        entities=[e.name for e in kb.entities],
        # never a variation in which the bot says it is a person (kb validate warns about them)
        responses={name: [t.text for t in variations if not t.persona] for name, variations in kb.templates.items()},
    )
    call = ActionCall.from_turns(action, conversation.id, slots=conversation.slots, latest=latest, domain=domain)
    try:
        result = await run_chain(runner, call)
    except ActionError as exc:
        logger.warning("conversation %s: action %s failed: %s", conversation.id, action, exc)
        return ActionOutcome(action, error=str(exc))
    updates = slot_updates(result, current=conversation.slots)
    replies = [_reply(m) for m in messages(result, domain=domain, slots={**conversation.slots, **updates})]
    slots = {k: (None if v is None else str(v)) for k, v in updates.items()}
    return ActionOutcome(action, messages=replies, slots=slots, paused=paused(result))


def _reply(message: Any) -> dict[str, Any]:
    """An action message with its Rasa buttons (payload ``/intent``) as our buttons (``intent``)."""
    buttons = []
    for button in message.get("buttons", []):
        payload = str(button.get("payload", ""))
        if payload.startswith("/") and len(payload) > 1:
            buttons.append({"title": str(button.get("title", payload[1:])), "intent": payload[1:].split("{")[0]})
    return {"text": str(message.get("text", "")), "buttons": buttons}
