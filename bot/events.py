"""Conversation events: the one record of what happened, stored, replayed and sent.

The conversation core returns :class:`NewEvent` values; the store gives each a sequence number
and a time, making it a :class:`StoredEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CUSTOMER_MESSAGE = "customer_message"
BOT_REPLY = "bot_reply"
CLARIFY = "clarify"
HANDOFF = "handoff"
STATE_CHANGED = "state_changed"

KINDS = (CUSTOMER_MESSAGE, BOT_REPLY, CLARIFY, HANDOFF, STATE_CHANGED)


@dataclass(frozen=True)
class NewEvent:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    client_id: str | None = None  # the client's message id, for customer messages

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; expected one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class StoredEvent:
    conversation_id: str
    seq: int
    kind: str
    data: dict[str, Any]
    created_at: float
    client_id: str | None = None

    @property
    def id(self) -> str:
        """The event's id on the wire: the client's id for customer messages, else ``e<seq>``."""
        return self.client_id if self.client_id is not None else f"e{self.seq}"
