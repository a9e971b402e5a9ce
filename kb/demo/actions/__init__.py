"""Custom actions of the Pinecone Outfitters demo KB (plain ``rasa_sdk.Action`` subclasses).

Run them in Deskmate (``InProcessActionRunner("kb.demo.actions")``) or on a Rasa action server::

    python -m rasa_sdk --actions kb.demo.actions --port 5055

- ``action_order_status``: looks the ``order_id`` slot up in ``kb/demo/orders.csv`` (invented
  orders) and says where the order is; sets ``order_id``, ``order_status``, ``order_carrier`` and
  ``order_expected_date``. Without an order number it asks for one. The table holds no dates:
  an order's delivery day is counted in working days from today (:data:`clock`), so the demo
  says "Thursday 10 December" whenever it runs.
- ``action_open_ticket``: stores a support ticket in the ``tickets`` table of Deskmate's SQLite
  database (``DESKMATE_DB_PATH``, default ``var/deskmate.sqlite3``) and sets ``ticket_id``: the
  ``ticket`` form's ``email``, ``topic`` and ``description`` when it ends the form, else the
  customer's latest message.
- ``validate_order_lookup`` and ``validate_return_request``: the forms' rasa-sdk
  ``FormValidationAction``s. They read an order number written loosely ("pc 483920") and check it
  against the orders table; a return also needs the order to have been delivered.
- ``action_request_return``: logs the ``return_request`` form's return as a ticket for the team.
- ``action_talk_to_human``: pauses the conversation (``ConversationPaused``): Deskmate hands it to
  an agent and says its own handoff message from ``kb.yml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.errors import StoreError

logger = logging.getLogger(__name__)

ORDERS_CSV = Path(__file__).resolve().parent.parent / "orders.csv"
ORDER_ID = re.compile(r"\bPC[-\s]?(\d{6})\b", re.IGNORECASE)
ASK_ORDER_ID = (
    "Sure, I can check that. What's your order number? It looks like PC-123456 and it's in your "
    "order confirmation email."
)
TICKETS_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT UNIQUE,
    conversation_id TEXT NOT NULL,
    message TEXT NOT NULL,
    intent TEXT,
    order_id TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    created_at REAL NOT NULL,
    email TEXT,
    topic TEXT
)
"""
ADDED_COLUMNS = ("email", "topic")  # tables made before the ticket form lack them
Events = list[dict[str, Any]]

clock: Callable[[], date] = date.today  # today's date, read when an action runs; tests set a fixed day


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str  # processing | dispatched | in_transit | out_for_delivery | delivered | delayed | cancelled | returned
    carrier: str
    tracking_number: str
    # working days (Monday to Friday, when couriers deliver) from today to the expected delivery;
    # negative for an order delivered that many working days ago; None when there is no date
    delivery_in_working_days: int | None
    items: str

    def delivery_date(self, today: date) -> date | None:
        """The day the order is expected (or was delivered), seen from ``today``."""
        if self.delivery_in_working_days is None:
            return None
        return working_day(today, self.delivery_in_working_days)


@functools.cache
def load_orders(path: Path = ORDERS_CSV) -> dict[str, Order]:
    """The demo orders table, keyed by order number."""
    with path.open(encoding="utf-8", newline="") as file:
        return {
            row["order_id"]: Order(
                order_id=row["order_id"],
                status=row["status"],
                carrier=row["carrier"],
                tracking_number=row["tracking_number"],
                delivery_in_working_days=int(row["delivery_in_working_days"])
                if row["delivery_in_working_days"]
                else None,
                items=row["items"],
            )
            for row in csv.DictReader(file)
        }


def normalize_order_id(raw: str) -> str | None:
    """``PC-123456`` from ``pc 123456``, ``PC123456`` or a sentence containing one; else ``None``."""
    match = ORDER_ID.search(raw)
    return f"PC-{match.group(1)}" if match else None


def working_day(today: date, offset: int) -> date:
    """The working day ``offset`` working days after ``today`` (before it, when negative).

    Offset 0 is today, or the next Monday at a weekend.
    """
    day, step = today, (1 if offset >= 0 else -1)
    while offset >= 0 and day.weekday() >= 5:
        day += timedelta(days=1)
    for _ in range(abs(offset)):
        day += timedelta(days=step)
        while day.weekday() >= 5:
            day += timedelta(days=step)
    return day


def describe(order: Order, *, today: date) -> str:
    """One customer-facing sentence or two about where the order is, its dates seen from ``today``."""
    when = _day(order.delivery_date(today), today=today)
    via = f" with {order.carrier}" if order.carrier else ""
    tracking = f" (tracking number {order.tracking_number})" if order.tracking_number else ""
    texts = {
        "processing": f"Order {order.order_id} ({order.items}) is being packed in our warehouse and should "
        f"reach you by {when}. You'll get a tracking number by email once it ships.",
        "dispatched": f"Order {order.order_id} has left our warehouse{via}{tracking}. Expected delivery: {when}.",
        "in_transit": f"Order {order.order_id} is on its way{via}{tracking} and should arrive on {when}.",
        "out_for_delivery": f"Good news: order {order.order_id} is out for delivery{via}, due on {when}.",
        "delivered": f"Order {order.order_id} was delivered{via} on {when}. If you can't find it, "
        "let me know and I'll open a ticket for our team.",
        "delayed": f"Sorry, order {order.order_id} is delayed{via}{tracking}. The new expected delivery date "
        f"is {when}.",
        "cancelled": f"Order {order.order_id} was cancelled, so it won't be sent. Any payment is refunded "
        "to your original payment method within 5 working days.",
        "returned": f"We've received order {order.order_id} back as a return. Your refund is on its way "
        "and usually shows up within 5 working days.",
    }
    return texts.get(order.status, f"Order {order.order_id} has the status '{order.status.replace('_', ' ')}'.")


class ActionOrderStatus(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        raw = tracker.get_slot("order_id") or next(tracker.get_latest_entity_values("order_id"), None)
        if not raw:
            raw = normalize_order_id(str(tracker.latest_message.get("text") or ""))
        if not raw:
            dispatcher.utter_message(text=ASK_ORDER_ID)
            return []
        order_id = normalize_order_id(str(raw)) or str(raw).strip()
        order = load_orders().get(order_id)
        if order is None:
            dispatcher.utter_message(
                text=f"I couldn't find an order with the number {order_id}. Could you check it? Order numbers "
                "look like PC-123456 and are in your order confirmation email."
            )
            return [SlotSet("order_id", None), SlotSet("order_status", None)]
        today = clock()
        dispatcher.utter_message(text=describe(order, today=today))
        expected = order.delivery_date(today)
        return [
            SlotSet("order_id", order.order_id),
            SlotSet("order_status", order.status),
            SlotSet("order_carrier", order.carrier or None),
            SlotSet("order_expected_date", expected.isoformat() if expected else None),
        ]


class ActionOpenTicket(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_open_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        email = tracker.get_slot("email")
        description = tracker.get_slot("description")
        number = await asyncio.to_thread(
            store_ticket,
            database_path(),
            conversation_id=tracker.sender_id,
            message=str(description) if description else _last_customer_text(tracker),
            intent="open_ticket" if description else intent,
            order_id=tracker.get_slot("order_id"),
            email=str(email) if email else None,
            topic=tracker.get_slot("topic"),
        )
        logger.info("conversation %s: opened ticket %s", tracker.sender_id, number)
        where = f"at {email}" if email else "by email"
        dispatcher.utter_message(
            text=f"I've opened ticket {number} for you. Our support team will reply {where} within one "
            f"working day; please quote {number} if you contact us again."
        )
        return [SlotSet("ticket_id", number)]


class ValidateOrderLookup(FormValidationAction):  # type: ignore[misc]
    """The ``order_lookup`` form's checks: the order number is read loosely and must exist."""

    def name(self) -> str:
        return "validate_order_lookup"

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An order number written without the dash ("pc 483920"), when the form asks for one."""
        if tracker.get_slot("requested_slot") != "order_id" or tracker.get_slot("order_id"):
            return {}
        found = normalize_order_id(str(tracker.latest_message.get("text") or ""))
        return {"order_id": found} if found else {}

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order = _known_order(value, dispatcher)
        return {"order_id": order.order_id if order else None}


class ValidateReturnRequest(ValidateOrderLookup):
    """The ``return_request`` form's checks: as an order lookup, and the order must have arrived."""

    def name(self) -> str:
        return "validate_return_request"

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order = _known_order(value, dispatcher)
        if order is None:
            return {"order_id": None}
        if order.status != "delivered":
            dispatcher.utter_message(
                text=f"Order {order.order_id} hasn't been delivered yet (it is "
                f"{order.status.replace('_', ' ')}), so it can't be returned yet. If you want to stop it "
                "instead, cancelling may still be possible. Is there another order you'd like to return?"
            )
            return {"order_id": None}
        return {"order_id": order.order_id}


class ActionRequestReturn(Action):  # type: ignore[misc]
    """Logs the ``return_request`` form's return as a ticket, and says what happens next."""

    def name(self) -> str:
        return "action_request_return"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        order_id = str(tracker.get_slot("order_id") or "")
        reason = str(tracker.get_slot("return_reason") or "not given")
        number = await asyncio.to_thread(
            store_ticket,
            database_path(),
            conversation_id=tracker.sender_id,
            message=f"Return request for {order_id}; reason: {reason}",
            intent="start_return",
            order_id=order_id or None,
            topic="return",
        )
        logger.info("conversation %s: logged return request %s", tracker.sender_id, number)
        dispatcher.utter_message(
            text=f"I've logged your return for order {order_id} as {number}. Our team will email a free "
            "prepaid returns label to the address on the order within one working day; pack the items "
            "unused with their tags and drop the parcel at any Post Office."
        )
        return [SlotSet("ticket_id", number)]


def _known_order(value: Any, dispatcher: CollectingDispatcher) -> Order | None:
    """The order ``value`` names, or None after telling the customer it wasn't found."""
    order_id = normalize_order_id(str(value or "")) or str(value or "").strip()
    order = load_orders().get(order_id)
    if order is None:
        dispatcher.utter_message(
            text=f"I couldn't find an order with the number {order_id}. Could you check it? It's in your "
            "order confirmation email."
        )
    return order


class ActionTalkToHuman(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_talk_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        return [ConversationPaused()]


def store_ticket(
    path: Path,
    *,
    conversation_id: str,
    message: str,
    intent: str | None = None,
    order_id: str | None = None,
    email: str | None = None,
    topic: str | None = None,
) -> str:
    """Insert a ticket (creating the table if needed) and return its number, such as ``TK-000042``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(str(path), timeout=10.0)) as conn, conn:
            conn.execute(TICKETS_SCHEMA)
            have = {row[1] for row in conn.execute("PRAGMA table_info(tickets)")}
            for column in ADDED_COLUMNS:
                if column not in have:
                    conn.execute(f"ALTER TABLE tickets ADD COLUMN {column} TEXT")
            cursor = conn.execute(
                "INSERT INTO tickets (conversation_id, message, intent, order_id, email, topic, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, message, intent, order_id, email, topic, time.time()),
            )
            number = f"TK-{cursor.lastrowid:06d}"
            conn.execute("UPDATE tickets SET number = ? WHERE id = ?", (number, cursor.lastrowid))
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(
            f"cannot store the ticket in {path} ({exc}); check the path exists and is writable "
            "(setting DESKMATE_DB_PATH)"
        ) from exc
    return number


def database_path() -> Path:
    """Deskmate's database, as the bot resolves it (``DESKMATE_DB_PATH``, else ``<DESKMATE_DATA_DIR>/deskmate.sqlite3``)."""
    from bot.ops.config import Settings  # here, not at the top: it imports the retrieval stack (FAISS)

    return Settings.from_env().database


def _last_customer_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text")
    if text:
        return str(text)
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("text"):
            return str(event["text"])
    return ""


def _day(day: date | None, *, today: date) -> str:
    """``Thursday 10 December``; with the year when it is not this year's."""
    if day is None:
        return "a date we'll confirm by email"
    year = f" {day.year}" if day.year != today.year else ""
    return f"{day:%A} {day.day} {day:%B}{year}"
