"""The message bus seam: conversation events fan out to every connection watching them.

A topic is a conversation id, or :data:`QUEUE_TOPIC` for agents watching the handoff queue.
Besides stored events the bus carries :class:`Signal` values: things worth showing live but not
worth keeping (typing indicators, "the queue changed"). The in-process bus is the embedded
default; a Redis bus (several replicas) fits the same seam.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.events import StoredEvent

QUEUE_TOPIC = "queue"


@dataclass(frozen=True)
class Signal:
    """A live, unstored notice: ``typing`` (who, on) or ``queue_changed``."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """Events and signals published on one topic since subscribing, in order."""

    def __init__(self, bus: InProcessBus, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self._bus = bus
        self.queue: asyncio.Queue[StoredEvent | Signal] = asyncio.Queue()

    async def get(self) -> StoredEvent | Signal:
        return await self.queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class Bus(Protocol):
    def subscribe(self, conversation_id: str) -> Subscription: ...

    async def publish(self, conversation_id: str, events: Sequence[StoredEvent]) -> None: ...

    async def signal(self, topic: str, signal: Signal) -> None: ...


class InProcessBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, conversation_id: str) -> Subscription:
        subscription = Subscription(self, conversation_id)
        self._subscribers[conversation_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.conversation_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.conversation_id]

    async def publish(self, conversation_id: str, events: Sequence[StoredEvent]) -> None:
        for subscription in list(self._subscribers.get(conversation_id, ())):
            for event in events:
                subscription.queue.put_nowait(event)

    async def signal(self, topic: str, signal: Signal) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.queue.put_nowait(signal)
