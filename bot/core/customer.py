"""Who a conversation's customer is, as agents see them: a name to call them by, how to reach them,
when and where they started.

Read from the conversation's events, without I/O:

* the email: the latest ``email`` slot (a form asked for it) or contact request;
* the name: the latest ``name`` slot;
* the page: the ``visit`` event that opened the conversation (the widget's page, without its query);
* the start: the first event.

The label is the email, else the name, else "Visitor 4821": four digits drawn from the
conversation id, so the same customer has the same label on every screen and after a reload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.events import CONTACT_REQUEST, SLOT_SET, VISIT, StoredEvent, iso

EMAIL_SLOTS = frozenset({"email", "email_address", "customer_email"})
NAME_SLOTS = frozenset({"name", "customer_name", "full_name", "first_name"})


@dataclass(frozen=True)
class CustomerCard:
    label: str
    email: str | None
    name: str | None
    started: float | None
    page: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "email": self.email,
            "name": self.name,
            "started": iso(self.started) if self.started is not None else None,
            "page": self.page,
        }


def visitor_label(conversation_id: str) -> str:
    number = int(hashlib.sha256(conversation_id.encode("utf-8")).hexdigest(), 16) % 9000 + 1000
    return f"Visitor {number}"


def customer_card(conversation_id: str, events: Sequence[StoredEvent]) -> CustomerCard:
    email = name = page = None
    for event in events:
        if event.kind == SLOT_SET and isinstance(event.data.get("value"), str) and event.data["value"].strip():
            slot, value = event.data.get("slot"), event.data["value"].strip()
            if slot in EMAIL_SLOTS:
                email = value
            elif slot in NAME_SLOTS:
                name = value
        elif event.kind == CONTACT_REQUEST and isinstance(event.data.get("email"), str):
            email = event.data["email"]
        elif event.kind == VISIT and isinstance(event.data.get("page"), str):
            page = event.data["page"]
    started = events[0].created_at if events else None
    return CustomerCard(email or name or visitor_label(conversation_id), email, name, started, page)
