"""The message bus seam: conversation events fan out to every connection watching them.

A topic is a conversation id, :data:`QUEUE_TOPIC` for agents watching the handoff queue, or any
other name a component agrees on. Besides stored events the bus carries :class:`Signal` values:
things worth showing live but not worth keeping (typing indicators, "the queue changed",
``resync``: "you may have missed events, read the store again").

:class:`bot.bus.inprocess.InProcessBus` is the embedded default; :class:`bot.bus.redis_bus.RedisBus`
links several replicas. Both deliver to this process's subscribers through one :class:`LocalTopics`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.events import StoredEvent

QUEUE_TOPIC = "queue"
RESYNC = "resync"  # a Signal kind: events may have been missed (the Redis bus was cut off); re-read the store


@dataclass(frozen=True)
class Signal:
    """A live, unstored notice: ``typing`` (who, on), ``queue_changed`` or ``resync``."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """Events and signals published on one topic since subscribing, in order."""

    def __init__(self, conversation_id: str, unsubscribe: Callable[[Subscription], None]) -> None:
        self.conversation_id = conversation_id  # the topic
        self._unsubscribe = unsubscribe
        self.queue: asyncio.Queue[StoredEvent | Signal] = asyncio.Queue()

    async def get(self) -> StoredEvent | Signal:
        return await self.queue.get()

    def close(self) -> None:
        """Stop receiving (idempotent)."""
        self._unsubscribe(self)


class Bus(Protocol):
    def subscribe(self, conversation_id: str) -> Subscription: ...

    async def publish(self, conversation_id: str, events: Sequence[StoredEvent]) -> None: ...

    async def signal(self, topic: str, signal: Signal) -> None: ...


class LocalTopics:
    """This process's subscriptions by topic. Queues are unbounded: a slow reader never blocks others."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    def subscribe(self, topic: str) -> Subscription:
        subscription = Subscription(topic, self.unsubscribe)
        self._subscribers.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.conversation_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.conversation_id]

    def deliver(self, topic: str, items: Sequence[StoredEvent | Signal]) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            for item in items:
                subscription.queue.put_nowait(item)

    def broadcast(self, item: StoredEvent | Signal) -> None:
        """Put ``item`` into every subscription, whatever its topic."""
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.queue.put_nowait(item)
