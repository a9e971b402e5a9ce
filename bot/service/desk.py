"""The agents' desk: the handoff queue, claims, agent replies, hand-back, close, inbox, export.

Transport-free like the chat service it sits on: the agent console's websocket adapter calls it.
Every change to a conversation goes through :meth:`ChatService.change` (one at a time per
conversation), so of two agents claiming at once exactly one wins and the other is told who did.
After each change that moves the queue, agents get a ``queue_changed`` signal and each waiting
customer their new position.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.bus.base import QUEUE_TOPIC, Signal
from bot.bus.presence import Presence
from bot.core.conversation import Agent, Conversation, State
from bot.core.customer import CustomerCard, customer_card
from bot.core.events import CONTACT_REQUEST, CUSTOMER_MESSAGE, HANDOFF, StoredEvent, iso
from bot.errors import ConversationError, DeskmateError
from bot.service.candidates import CandidateReview, open_question
from bot.service.chat import ChatService
from bot.storage.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueItem:
    conversation_id: str
    state: str
    since: float
    reason: str | None
    agent: str | None
    preview: str  # the customer's last message
    form: str | None = None  # the form the customer was in when handed off (reason form_failed...)
    customer: CustomerCard | None = None  # who they are, as far as the conversation says

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "state": self.state,
            "since": iso(self.since),
            "waiting_seconds": round(max(0.0, now - self.since), 1),
            "reason": self.reason,
            "agent": self.agent,
            "preview": self.preview,
            "form": self.form,
            "customer": self.customer.to_dict() if self.customer is not None else None,
        }


class AgentDesk:
    def __init__(self, service: ChatService, *, review: CandidateReview | None = None) -> None:
        self.service = service
        self.review = review  # agent replies become KB candidates an admin approves (bot/service/candidates.py)
        self.presence = Presence(service.bus)  # agents online on every replica (run() listens)

    # presence ----------------------------------------------------------------------------------

    @property
    def agents_online(self) -> int:
        return len(self.presence.online)

    async def agent_connected(self, agent: Agent) -> None:
        await self.presence.connected(agent.username)
        await self.notify_queue()

    async def agent_disconnected(self, agent: Agent) -> None:
        await self.presence.disconnected(agent.username)
        await self.notify_queue()

    # reading -----------------------------------------------------------------------------------

    async def queue(self) -> list[QueueItem]:
        """Waiting conversations (longest waiting first), then those agents hold."""
        store = self.service.store
        summaries = await store.conversations([State.WAITING_FOR_AGENT.value, State.WITH_AGENT.value])
        items = []
        for summary in summaries:
            events = await store.events(summary.id)
            last = next((e for e in reversed(events) if e.kind == CUSTOMER_MESSAGE), None)
            preview = last.data.get("text", "")[:140] if last is not None else ""
            handoff = next((e for e in reversed(events) if e.kind == HANDOFF), None)
            form = handoff.data.get("form") if handoff is not None else None
            items.append(
                QueueItem(
                    summary.id,
                    summary.state,
                    summary.since,
                    summary.data.get("reason"),
                    summary.data.get("agent"),
                    preview,
                    form if isinstance(form, str) else None,
                    customer_card(summary.id, events),
                )
            )
        return sorted(items, key=lambda i: (i.state != State.WAITING_FOR_AGENT.value, i.since))

    async def position(self, conversation_id: str) -> int | None:
        waiting = await self.service.store.conversations([State.WAITING_FOR_AGENT.value])
        ids = [c.id for c in waiting]
        return ids.index(conversation_id) + 1 if conversation_id in ids else None

    async def inbox(self, limit: int = 100) -> list[StoredEvent]:
        """Messages customers left for follow-up when no agent was online, newest first."""
        return await self.service.store.events_of_kind(CONTACT_REQUEST, limit)

    async def transcript(self, conversation_id: str) -> dict[str, Any]:
        """The whole conversation as JSON-ready data (the console's and the CLI's export)."""
        return await export_transcript(self.service, conversation_id)

    # changing ----------------------------------------------------------------------------------

    async def claim(self, agent: Agent, conversation_id: str) -> list[StoredEvent]:
        stored = await self.service.change(conversation_id, lambda c: c.claim(agent))
        logger.info("conversation %s: claimed by %s", conversation_id, agent.username)
        await self.notify_queue()
        return stored

    async def reply(self, agent: Agent, conversation_id: str, text: str, *, frame_id: str) -> list[StoredEvent]:
        """Send an agent's reply (a resent frame id is stored once) and keep it as a KB candidate."""
        client_id = f"agent:{agent.username}:{frame_id}"
        before = await self.service.store.events(conversation_id)
        stored = await self.service.change(conversation_id, lambda c: c.agent_reply(agent, text, client_id=client_id))
        is_new = bool(stored) and stored[0].seq > (before[-1].seq if before else 0)
        question = open_question(before) if is_new and self.review is not None else None
        if question is not None and self.review is not None:
            try:
                await self.review.record(
                    conversation_id=conversation_id, question=question, answer=text, agent=agent.username
                )
            except DeskmateError as exc:  # learning is a bonus: the reply itself was delivered
                logger.warning("conversation %s: could not keep the reply as a KB candidate: %s", conversation_id, exc)
        return stored

    async def hand_back(self, agent: Agent, conversation_id: str) -> list[StoredEvent]:
        stored = await self.service.change(conversation_id, lambda c: c.hand_back(agent))
        logger.info("conversation %s: handed back to the bot by %s", conversation_id, agent.username)
        await self.notify_queue()
        return stored

    async def close(self, agent: Agent, conversation_id: str) -> list[StoredEvent]:
        stored = await self.service.change(conversation_id, lambda c: c.close(agent))
        logger.info("conversation %s: closed by %s", conversation_id, agent.username)
        await self.notify_queue()
        return stored

    async def typing(self, conversation_id: str, *, who: str, role: str, on: bool) -> None:
        await self.service.bus.signal(conversation_id, Signal("typing", {"who": who, "role": role, "on": on}))

    async def notify_queue(self) -> None:
        """Tell agents the queue changed, and each waiting customer where they stand."""
        bus = self.service.bus
        await bus.signal(QUEUE_TOPIC, Signal("queue_changed", {"agents_online": self.agents_online}))
        waiting = await self.service.store.conversations([State.WAITING_FOR_AGENT.value])
        for position, summary in enumerate(waiting, start=1):
            await bus.signal(summary.id, Signal("queue", {"position": position, "agents_online": self.agents_online}))


async def export_transcript(service: ChatService, conversation_id: str) -> dict[str, Any]:
    return await transcript_from_store(service.store, conversation_id)


async def transcript_from_store(store: Store, conversation_id: str) -> dict[str, Any]:
    """A conversation as JSON-ready data: its state and every event (the console's and CLI's export)."""
    events = await store.events(conversation_id)
    if not events:
        raise ConversationError(f"no conversation {conversation_id}; pick one from the queue")
    conversation = Conversation.replay(conversation_id, events)
    return {
        "conversation_id": conversation_id,
        "state": conversation.state.value,
        "agent": conversation.agent,
        "customer": customer_card(conversation_id, events).to_dict(),
        "exported_at": iso(time.time()),
        "events": [transcript_item(e) for e in events],
    }


def transcript_item(event: StoredEvent) -> dict[str, Any]:
    return {"seq": event.seq, "id": event.id, "kind": event.kind, "at": iso(event.created_at), **event.data}
