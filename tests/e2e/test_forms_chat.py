"""Forms over real websockets, with the demo's real actions in-process: an order lookup whose number
comes in a later message, a failed check then a good answer, a question in the middle, a cancelled
ticket, and a handoff mid-form whose collected slots the agent sees in the console's transcript."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.actions import InProcessActionRunner
from bot.core.events import FORM, SLOT_SET
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.server import agent, agent_accounts, customer, running_service

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
async def desk(demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, ChatService]]:
    accounts = await agent_accounts(PASSWORD, sam="Sam")
    runner = InProcessActionRunner("kb.demo.actions")
    db = tmp_path_factory.mktemp("db") / "forms.sqlite3"
    try:
        async with running_service(demo_brain, db, accounts=accounts, actions=runner) as running:
            yield running
    finally:
        await runner.close()


def asks(brain: Brain, name: str) -> list[str]:
    return [t.text for t in brain.kb.templates[name]]


async def test_order_status_with_the_number_later_a_failed_check_and_a_question_mid_form(
    desk: tuple[str, ChatService], demo_brain: Brain
) -> None:
    base, service = desk
    async with customer(base) as (client, hello):
        first = await client.say("m1", "where is my order?")
        assert first["type"] == "reply" and first["text"] in asks(demo_brain, "ask_order_id")

        unknown = await client.say("m2", "PC-999999")  # well formed, but no such order: the validate action says so
        assert "couldn't find an order with the number PC-999999" in unknown["text"]
        asked_again = await client.expect("reply")
        assert asked_again["text"] in asks(demo_brain, "ask_order_id")

        question = await client.say("m3", "How much is delivery?")
        assert question["intent"] == "shipping_cost" and question["text"] in asks(demo_brain, "shipping_cost")
        back = await client.expect("reply")
        assert back["text"] in asks(demo_brain, "ask_order_id")

        found = await client.say("m4", "PC-483920")  # out for delivery with Royal Mail in kb/demo/orders.csv
        assert found["source"] == "action" and "Royal Mail" in found["text"]

        events = await service.store.events(hello["conversation_id"])
    slots = {e.data["slot"]: e.data["value"] for e in events if e.kind == SLOT_SET}
    assert slots["order_id"] == "PC-483920" and slots["order_status"] == "out_for_delivery"
    statuses = [e.data["status"] for e in events if e.kind == FORM]
    assert statuses == ["started", "asking", "asking", "completed"]  # the failed answer counted once


async def test_a_ticket_cancelled_then_a_handoff_mid_form_with_what_was_collected(
    desk: tuple[str, ChatService], demo_brain: Brain
) -> None:
    base, _ = desk
    async with customer(base) as (client, hello):
        conversation_id = hello["conversation_id"]
        first = await client.say("m1", "I want to open a support ticket")
        assert first["text"] in asks(demo_brain, "ask_email")
        stop = await client.say("m2", "never mind")
        assert [b["title"] for b in stop["buttons"]] == ["Yes", "No"]
        stopped = await client.say("m3", "Yes")
        assert stopped["text"] == demo_brain.composer.system("form_stopped")

        again = await client.say("m4", "can you raise a ticket for me")
        assert again["text"] in asks(demo_brain, "ask_email")
        topic = await client.say("m5", "it's jo@example.com")
        assert topic["text"] in asks(demo_brain, "ask_topic")
        assert "A product" in [b["title"] for b in topic["buttons"]]
        described = await client.say("m6", "A product")  # the button's title, as the widget sends it
        assert described["text"] in asks(demo_brain, "ask_description")

        handoff = await client.say("m7", "I want to talk to a real person")
        assert handoff["type"] == "handoff"

        async with agent(base, "sam", PASSWORD) as (sam, _):
            await sam.send({"type": "open", "conversation_id": conversation_id})
            transcript = await sam.expect_where("transcript", lambda f: f["conversation_id"] == conversation_id)
    (passed,) = [e for e in transcript["events"] if e["kind"] == "handoff"]
    data: dict[str, Any] = passed.get("data", passed)
    assert data["form"] == "ticket"
    assert data["collected"] == {"email": "jo@example.com", "topic": "a product"}


async def test_the_tickets_table_gets_the_forms_values(demo_brain: Brain, tmp_path: Path) -> None:
    """The whole ticket form, confirmed: the demo's action writes email, topic and description."""
    runner = InProcessActionRunner("kb.demo.actions")
    db = tmp_path / "tickets.sqlite3"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DESKMATE_DB_PATH", str(db))
            async with (
                running_service(demo_brain, tmp_path / "chat.sqlite3", actions=runner) as (base, _),
                customer(base) as (client, _),
            ):
                await client.say("m1", "open a ticket please")
                await client.say("m2", "sam@example.org")
                await client.say("m3", "Delivery")
                confirm = await client.say("m4", "The courier left my parcel in the rain")
                assert "sam@example.org" in confirm["text"] and "delivery" in confirm["text"]
                opened = await client.say("m5", "yes")
    finally:
        await runner.close()
    assert "I've opened ticket TK-" in opened["text"]
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT email, topic, message FROM tickets").fetchone()
    assert row == ("sam@example.org", "delivery", "The courier left my parcel in the rain")
