"""The embedded bus: one process, where publishing is putting into the subscribers' queues."""

from __future__ import annotations

from collections.abc import Sequence

from bot.bus.base import LocalTopics, Signal, Subscription
from bot.core.events import StoredEvent


class InProcessBus:
    """One process: publishing is putting into the subscribers' queues."""

    def __init__(self) -> None:
        self._topics = LocalTopics()

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._topics.subscribe(conversation_id)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._topics.unsubscribe(subscription)

    async def publish(self, conversation_id: str, events: Sequence[StoredEvent]) -> None:
        self._topics.deliver(conversation_id, events)

    async def signal(self, topic: str, signal: Signal) -> None:
        self._topics.deliver(topic, (signal,))
