"""Customers' feedback put to the store: thumbs on an answer, the end of a chat, a satisfaction score.

Each is checked against the conversation's stored events (bot/core/feedback.py) and appended
through :meth:`ChatService.change`, under the conversation's lock. A resent frame (same id) is
stored once and not refused: the store keeps the first, so the customer's retry just gets its ack.
"""

from __future__ import annotations

import logging

from bot.core.events import StoredEvent
from bot.core.feedback import check_survey, rated_answer
from bot.service.chat import ChatService

logger = logging.getLogger(__name__)


async def _resent(service: ChatService, conversation_id: str, client_id: str) -> tuple[bool, list[StoredEvent]]:
    events = await service.store.events(conversation_id)
    return any(e.client_id == client_id for e in events), events


async def rate_answer(
    service: ChatService, conversation_id: str, *, client_id: str, reply: str, value: str, comment: str | None
) -> None:
    resent, events = await _resent(service, conversation_id, client_id)
    if resent:
        return
    answer = rated_answer(events, reply)
    await service.change(conversation_id, lambda c: c.rate(reply, value, comment, client_id=client_id))
    logger.info("conversation %s: answer %s (%s) rated %s", conversation_id, reply, answer.data.get("intent"), value)


async def answer_survey(
    service: ChatService, conversation_id: str, *, client_id: str, score: int, comment: str | None
) -> None:
    resent, events = await _resent(service, conversation_id, client_id)
    if resent:
        return
    check_survey(events)
    await service.change(conversation_id, lambda c: c.answer_survey(score, comment, client_id=client_id))
    logger.info("conversation %s: rated %d of 5", conversation_id, score)


async def end_chat(service: ChatService, conversation_id: str) -> list[StoredEvent]:
    """The customer ended the chat; the stored events (none when it had ended already)."""
    stored = await service.change(conversation_id, lambda c: c.end_by_customer())
    if stored:
        logger.info("conversation %s: ended by the customer", conversation_id)
    return stored
