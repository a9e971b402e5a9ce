"""Conversation events: the one record of what happened, stored, replayed and sent.

The conversation core returns :class:`NewEvent` values; the store gives each a sequence number
and a time, making it a :class:`StoredEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CUSTOMER_MESSAGE = "customer_message"
BOT_REPLY = "bot_reply"
CLARIFY = "clarify"
HANDOFF = "handoff"
STATE_CHANGED = "state_changed"
AGENT_JOINED = "agent_joined"  # an agent claimed the conversation
AGENT_MESSAGE = "agent_message"  # an agent's reply to the customer
HANDED_BACK = "handed_back"  # the agent returned the customer to the bot
CLOSED = "closed"  # an agent closed the conversation
CONTACT_REQUEST = "contact_request"  # no agent online: the customer left an email and a message
SUGGESTIONS = "suggestions"  # agent assist: replies suggested for a customer message (agents only)
SLOT_SET = "slot_set"  # a slot filled from an entity in a message, by a form or by a custom action
FEEDBACK = "feedback"  # the customer rated a bot answer: reply (its wire id), value up | down, comment
SURVEY = "survey"  # the customer rated the whole conversation once it was closed: score 1-5, comment
VISIT = "visit"  # where a new conversation started: the page, without its query (agents only)
FORM = "form"  # the state of the conversation's form changed (bot/core/forms/state.py): agents only

KINDS = (
    CUSTOMER_MESSAGE,
    BOT_REPLY,
    CLARIFY,
    HANDOFF,
    STATE_CHANGED,
    AGENT_JOINED,
    AGENT_MESSAGE,
    HANDED_BACK,
    CLOSED,
    CONTACT_REQUEST,
    SUGGESTIONS,
    SLOT_SET,
    FORM,
    VISIT,
    FEEDBACK,
    SURVEY,
)


@dataclass(frozen=True)
class NewEvent:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    client_id: str | None = None  # the sender's frame id (customer or agent messages), for deduplication

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
        """The event's id on the wire: the customer's own id for what they sent, else ``e<seq>``.

        (Agent messages keep their frame id in ``client_id`` for deduplication, never on the wire.)
        """
        customer_sent = self.kind in (CUSTOMER_MESSAGE, CONTACT_REQUEST)
        return self.client_id if customer_sent and self.client_id is not None else f"e{self.seq}"


def iso(timestamp: float) -> str:
    """An event's time as the wire and the exports show it: ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")
