"""The conversation store seam, and its in-memory twin.

A store keeps conversations (looked up by the hash of the customer's session token) and their
events in order. Appending is atomic per call; a customer message id is stored at most once per
conversation (``append`` skips a duplicate and returns the stored original instead).

``append(..., after=n)`` is the replicas' guard: it stores nothing and raises
:class:`~bot.errors.ConflictError` unless the conversation's last event is number ``n``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.events import STATE_CHANGED, NewEvent, StoredEvent
from bot.errors import ConflictError, StoreError
from bot.storage.reloads import ReloadRecord


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation's current state, kept by the store from its ``state_changed`` events."""

    id: str
    state: str
    since: float  # when it entered ``state``
    created_at: float
    data: dict[str, Any] = field(default_factory=dict)  # the last state_changed event's data


class Store(Protocol):
    async def create_conversation(self, token_hash: str) -> str: ...

    async def conversation_for_token(self, token_hash: str) -> str | None: ...

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]: ...

    async def events(self, conversation_id: str) -> list[StoredEvent]: ...

    async def find_customer_message(self, conversation_id: str, client_id: str) -> StoredEvent | None: ...

    async def conversations(self, states: Sequence[str]) -> list[ConversationSummary]:
        """Conversations whose current state is one of ``states``, longest in that state first."""
        ...

    async def events_of_kind(self, kind: str, limit: int = 100) -> list[StoredEvent]:
        """The latest events of one kind across all conversations, newest first (e.g. the inbox)."""
        ...

    async def record_reload(self, record: ReloadRecord) -> None: ...

    async def reloads(self, limit: int = 50) -> list[ReloadRecord]:
        """The most recent KB reloads and rollbacks, newest first."""
        ...

    async def close(self) -> None: ...


def new_conversation_id() -> str:
    return f"c_{uuid.uuid4().hex}"


class InMemoryStore:
    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._events: dict[str, list[StoredEvent]] = {}
        self._reloads: list[ReloadRecord] = []
        self._summaries: dict[str, ConversationSummary] = {}
        self._lock = asyncio.Lock()

    async def create_conversation(self, token_hash: str) -> str:
        conversation_id = new_conversation_id()
        async with self._lock:
            if token_hash in self._tokens:
                raise StoreError("a conversation with this session token already exists")
            self._tokens[token_hash] = conversation_id
            self._events[conversation_id] = []
            now = time.time()
            self._summaries[conversation_id] = ConversationSummary(conversation_id, "BOT", now, now)
        return conversation_id

    async def conversation_for_token(self, token_hash: str) -> str | None:
        return self._tokens.get(token_hash)

    async def append(
        self, conversation_id: str, events: Sequence[NewEvent], *, after: int | None = None
    ) -> list[StoredEvent]:
        async with self._lock:
            log = self._events.get(conversation_id)
            if log is None:
                raise StoreError(f"no conversation {conversation_id}; create it first")
            if after is not None and len(log) != after:
                raise ConflictError(conversation_id, after, len(log))
            stored: list[StoredEvent] = []
            for event in events:
                if event.client_id is not None:
                    existing = next((e for e in log if e.client_id == event.client_id), None)
                    if existing is not None:
                        stored.append(existing)
                        continue
                item = StoredEvent(
                    conversation_id, len(log) + 1, event.kind, dict(event.data), time.time(), event.client_id
                )
                log.append(item)
                stored.append(item)
                if item.kind == STATE_CHANGED:
                    old = self._summaries[conversation_id]
                    self._summaries[conversation_id] = ConversationSummary(
                        conversation_id, item.data["to"], item.created_at, old.created_at, dict(item.data)
                    )
            return stored

    async def events(self, conversation_id: str) -> list[StoredEvent]:
        return list(self._events.get(conversation_id, []))

    async def find_customer_message(self, conversation_id: str, client_id: str) -> StoredEvent | None:
        return next((e for e in self._events.get(conversation_id, []) if e.client_id == client_id), None)

    async def conversations(self, states: Sequence[str]) -> list[ConversationSummary]:
        wanted = set(states)
        return sorted((c for c in self._summaries.values() if c.state in wanted), key=lambda c: c.since)

    async def events_of_kind(self, kind: str, limit: int = 100) -> list[StoredEvent]:
        found = [e for log in self._events.values() for e in log if e.kind == kind]
        return sorted(found, key=lambda e: -e.created_at)[:limit]

    async def record_reload(self, record: ReloadRecord) -> None:
        self._reloads.append(record)

    async def reloads(self, limit: int = 50) -> list[ReloadRecord]:
        return list(reversed(self._reloads))[:limit]

    async def close(self) -> None:
        return None
