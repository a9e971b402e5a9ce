"""A turn the policy chose to generate: stream a grounded answer, each sentence checked first.

The conversation core stays free of I/O: this runs the generator (bot/generation), streams the
sentences the guard passed (bot/generation/guard.py) as ``reply_delta`` signals on the bus, and
hands the outcome to the conversation: ``Conversation.generated_answer`` when every sentence
passed, else ``Conversation.answer`` with the policy's decision without generation, tagged with
why (``generation_withheld``, ``generation_error``) for the agent console.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from bot.bus.base import Bus, Signal
from bot.core.conversation import Conversation
from bot.core.events import STATE_CHANGED, NewEvent
from bot.core.policy import Decision, Understanding
from bot.generation import Generator, Grounding, Passage, build_messages, with_fallback
from bot.generation.fallback import GenerationStatus
from bot.generation.guard import ReplyGuard, Verdict, stream_checked
from bot.service.brain import Brain

logger = logging.getLogger(__name__)


async def generated_turn(
    generator: Generator,
    bus: Bus,
    *,
    brain: Brain,
    conversation: Conversation,
    text: str,
    client_id: str,
    decision: Decision,
    understanding: Understanding,
) -> list[NewEvent]:
    """Stream a grounded answer, each sentence held back until it is checked; then store it.

    Only general past replies ground it (never a case-specific one), each scoring at least the
    policy's ``generation_min_score``: the best one had to, to generate at all. A sentence that fails the
    guard (bot/generation/guard.py) ends the generation, and so does a generator error: the
    policy then decides without generation (clarify, hand off, rephrase), its reply replaces
    whatever was streamed, and the reply's data says why for the agent console. A weak past
    reply is never sent in a generated reply's place: it was too weak to send on its own.
    """
    floor = brain.policy.config.generation_min_score  # a past reply too weak to ground alone grounds nothing
    passages = [Passage(r.reply, r.source, r.score) for r in understanding.retrieved if r.general and r.score >= floor]
    messages = build_messages(Grounding(text, passages), shop_name=brain.kb.name)
    stream_id = f"s{conversation.bot_turns}-{secrets.token_hex(4)}"
    guarded = with_fallback(generator, messages, fallback_text="")
    guard = ReplyGuard(finder=brain.deidentifier, support=brain.faithfulness)
    said = (*conversation.recent_turns, text, *conversation.slots.values())

    async def check(sentence: str) -> Verdict:
        return await asyncio.to_thread(
            guard.check,
            sentence,
            passages=[p.text for p in passages],
            question=text,
            slots=conversation.slots,
            customer_said=said,
        )

    async def send(sentence: str) -> None:
        signal = Signal("reply_delta", {"stream": stream_id, "reply_to": client_id, "text": sentence})
        await bus.signal(conversation.id, signal)

    checked = await stream_checked(
        guarded, check=check, send=send, finished=lambda: guarded.outcome.status is GenerationStatus.COMPLETED
    )
    outcome = guarded.outcome
    if outcome.failed:
        # the reason only: an endpoint's error text may echo the customer's words (kept in the event)
        reason = getattr(outcome.error, "reason", "failed")
        logger.warning("conversation %s: generation failed (%s)", conversation.id, reason)
        logger.debug("conversation %s: generation error: %s", conversation.id, outcome.error)
    elif checked.failed is None:
        return conversation.generated_answer(
            client_id=client_id, decision=decision, understanding=understanding, text=checked.text, stream=stream_id
        )
    why: dict[str, object] = {}
    if checked.failed is not None:
        why["generation_withheld"] = {"failure": checked.failed.failure, "reason": checked.failed.reason}
        logger.debug("conversation %s: generated reply withheld (%s)", conversation.id, checked.failed.failure)
    if outcome.failed:
        why["generation_error"] = str(outcome.error)
    events = conversation.answer(
        text,
        client_id=client_id,
        understanding=understanding,
        policy=brain.policy_for(understanding),
        composer=brain.composer_for(conversation.language),
        decision=conversation.decide(text, understanding, brain.policy_for(understanding), generation=False),
    )
    for event in events:
        if event.kind != STATE_CHANGED:
            event.data.update(why, stream=stream_id)  # the stream id: it replaces what was streamed
    return events
