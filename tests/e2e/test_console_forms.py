"""Forms in the agent console (its Task panel) and slot-value buttons in the widget, in Chromium.

The last test runs the demo's ticket form for real. The others build their conversations by
appending the core's events (``form``, ``slot_set``, a handoff mid-form) through the running
server's own store and bus, as another replica would, so that every state of the panel, and its
live updates, are shown exactly; the server, the sockets and the pages are the real ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from bot.bus.base import QUEUE_TOPIC, Signal
from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, FORM, HANDOFF, SLOT_SET, STATE_CHANGED, NewEvent, StoredEvent
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.server import agent, agent_accounts, customer, running_service

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
EMAIL = "ana@example.com"
ORDER = "PC-483920"
MARKUP = "<img src=x onerror=alert(1)><b>bold</b>"


@pytest.fixture(scope="module")
async def live(demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, ChatService]]:
    accounts = await agent_accounts(PASSWORD, sam="Sam")
    db = tmp_path_factory.mktemp("db") / "console-forms.sqlite3"
    async with running_service(demo_brain, db, accounts=accounts) as running:
        yield running


def form(
    name: str | None, status: str, slot: str | None = None, failures: int = 0, pending: str | None = None
) -> NewEvent:
    data = {"form": name, "requested_slot": slot, "status": status, "failures": failures, "pending": pending}
    return NewEvent(FORM, data)


def slot_set(slot: str, value: Any, source: str = "form") -> NewEvent:
    return NewEvent(SLOT_SET, {"slot": slot, "value": value, "source": source})


def handoff(reply_to: str, reason: str, **extra: Any) -> list[NewEvent]:
    text = "I'll pass you to a person from our team."
    return [
        NewEvent(HANDOFF, {"text": text, "reply_to": reply_to, "reason": reason, **extra}),
        NewEvent(STATE_CHANGED, {"from": "BOT", "to": "WAITING_FOR_AGENT", "reason": reason}),
    ]


def failed_order_lookup() -> list[NewEvent]:
    """An order lookup the customer could not finish: three wrong order numbers, then a person."""
    return [
        NewEvent(CUSTOMER_MESSAGE, {"text": f"Where is my order? I'm {EMAIL}"}, client_id="m1"),
        form("order_lookup", "started"),
        slot_set("email", EMAIL, "entity"),
        slot_set("nickname", MARKUP, "entity"),
        form("order_lookup", "asking", "order_id"),
        NewEvent(
            BOT_REPLY,
            {
                "text": "What is your order number?",
                "reply_to": "m1",
                "source": "template",
                "response": "ask_order_id",
                "form": "order_lookup",
                "asks": "order_id",
            },
        ),
        NewEvent(CUSTOMER_MESSAGE, {"text": "PC-48"}, client_id="m2"),
        form("order_lookup", "failed", "order_id", failures=3),
        *handoff(
            "m2", "form_failed", form="order_lookup", collected={"email": EMAIL, "nickname": MARKUP, "topic": "late"}
        ),
    ]


async def add(service: ChatService, conversation_id: str, events: Sequence[NewEvent]) -> list[StoredEvent]:
    """Store ``events`` and deliver them as the core would; tell agents the queue may have changed."""
    stored = await service.store.append(conversation_id, events)
    await service.bus.publish(conversation_id, stored)
    await service.bus.signal(QUEUE_TOPIC, Signal("queue_changed", {}))
    return stored


async def say(page: Page, text: str) -> None:
    await page.fill("#deskmate-input", text)
    await page.press("#deskmate-input", "Enter")


async def sign_in(browser: Browser, base: str, errors: list[str]) -> Page:
    console = await (await browser.new_context()).new_page()
    console.on("pageerror", lambda exc: errors.append(str(exc)))
    await console.goto(f"http://{base}/console")
    await console.fill("#console-username", "sam")
    await console.fill("#console-password", PASSWORD)
    await console.click("#console-signin-button")
    await expect(console.locator("#console-main")).to_be_visible()
    return console


def queued(console: Page, conversation_id: str) -> Locator:
    return console.locator(f'#console-queue li[data-conversation="{conversation_id}"]')


async def test_agent_frames_carry_the_task_and_customers_never_see_it(live: tuple[str, ChatService]) -> None:
    base, service = live
    async with customer(base) as (shop, welcome):
        conversation_id = welcome["conversation_id"]
        await add(service, conversation_id, failed_order_lookup())
        handed = await shop.expect("handoff")
        await shop.expect("state")  # after every event before it: the customer got all there was
        assert handed["reason"] == "form_failed" and "collected" not in handed and "form" not in handed
        customer_saw = json.dumps(shop.seen)
        assert EMAIL not in customer_saw and "order_lookup" not in customer_saw and "ask_order_id" not in customer_saw
        assert not {f["type"] for f in shop.seen} & {"event", "task", "form", "slot_set"}

        async with agent(base, "sam", PASSWORD) as (desk, _):
            queue = await desk.expect("queue")
            (item,) = [i for i in queue["items"] if i["conversation_id"] == conversation_id]
            assert (item["reason"], item["form"]) == ("form_failed", "order_lookup")

            await desk.send({"type": "open", "conversation_id": conversation_id})
            transcript = await desk.expect("transcript")
            assert transcript["task"] == {
                "form": "order_lookup",
                "requested_slot": "order_id",
                "status": "failed",
                "active": False,
                "failures": 3,
                "pending": None,
                "slots": {"email": EMAIL, "nickname": MARKUP, "topic": "late"},
            }
            kinds = [e["kind"] for e in transcript["events"]]
            assert kinds.count("form") == 3 and kinds.count("slot_set") == 2
            (handed_off,) = [e for e in transcript["events"] if e["kind"] == "handoff"]
            assert handed_off["collected"] == {"email": EMAIL, "nickname": MARKUP, "topic": "late"}

            (stored,) = await add(service, conversation_id, [slot_set("order_id", ORDER, "action:action_order_lookup")])
            event = await desk.expect("event")
            assert event["event"]["seq"] == stored.seq and event["event"]["value"] == ORDER
            task = await desk.expect("task")
            assert task["conversation_id"] == conversation_id
            assert task["task"]["slots"] == {"email": EMAIL, "nickname": MARKUP, "topic": "late", "order_id": ORDER}

            await add(service, conversation_id, [slot_set("topic", None)])  # cleared
            task = await desk.expect("task")
            assert list(task["task"]["slots"]) == ["email", "nickname", "order_id"]


async def test_the_task_panel_shows_the_form_and_its_slots_and_follows_them_live(
    live: tuple[str, ChatService], browser: Browser, tmp_path: Path
) -> None:
    base, service = live
    errors: list[str] = []
    async with customer(base) as (_, failed), customer(base) as (_, asked), customer(base) as (_, plain):
        failed_id, asked_id, plain_id = (w["conversation_id"] for w in (failed, asked, plain))
        await add(service, failed_id, failed_order_lookup())
        await add(  # asked for a person while the form was asking for the order number
            service,
            asked_id,
            [
                NewEvent(CUSTOMER_MESSAGE, {"text": "Where is my order?"}, client_id="m1"),
                form("order_lookup", "asking", "order_id"),
                NewEvent(CUSTOMER_MESSAGE, {"text": "just get me a human"}, client_id="m2"),
                *handoff("m2", "explicit_request", form="order_lookup", collected={}),
            ],
        )
        await add(
            service,
            plain_id,
            [
                NewEvent(CUSTOMER_MESSAGE, {"text": "a person please"}, client_id="m1"),
                *handoff("m1", "explicit_request"),
            ],
        )

        console = await sign_in(browser, base, errors)
        failed_item = queued(console, failed_id)
        await expect(failed_item).to_contain_text("couldn't complete order lookup")
        await expect(queued(console, asked_id)).to_contain_text("asked for a person (during order lookup)")

        # no form, no slot: no panel
        await queued(console, plain_id).click()
        await expect(console.locator("#console-transcript li.t-customer")).to_have_count(1)
        await expect(console.locator("#console-task")).to_be_hidden()

        # the failed form, rebuilt from the history
        await failed_item.click()
        task = console.locator("#console-task")
        await expect(task).to_be_visible()
        await expect(console.locator("#console-task-name")).to_have_text("order lookup")
        await expect(console.locator("#console-task-status")).to_have_text("failed")
        await expect(console.locator("#console-task-asking")).to_have_text("Stuck on order_id")
        await expect(console.locator("#console-task-note")).to_contain_text("3 failed answers")
        rows = console.locator("#console-task-slots tbody tr")
        await expect(rows).to_have_count(3)
        await expect(rows.nth(0)).to_have_text(f"email{EMAIL}")
        await expect(rows.nth(1).locator("td.value")).to_have_text(MARKUP)  # as text, never as markup
        await expect(rows.nth(2)).to_have_text("topiclate")
        assert await console.locator("#console-task img, #console-task b, #console-transcript img").count() == 0
        handed_off = console.locator("#console-transcript li.t-handoff")
        await expect(handed_off).to_contain_text("Handed off: couldn't complete order lookup")
        collected = f"collected: email = {EMAIL} · nickname = {MARKUP} · topic = late"
        await expect(handed_off.locator(".collected")).to_have_text(collected)
        question = console.locator("#console-transcript li.t-bot", has_text="What is your order number?")
        await expect(question.locator(".meta")).to_have_text("order lookup · asks for order_id")
        await console.screenshot(path=str(tmp_path / "console-task-failed.png"), full_page=True)

        # live: an action finds the order number, then the topic is cleared
        await add(service, failed_id, [slot_set("order_id", ORDER, "action:action_order_lookup")])
        await expect(rows).to_have_count(4)
        await expect(console.locator('#console-task-slots tr[data-slot="order_id"] td.value')).to_have_text(ORDER)
        await add(service, failed_id, [slot_set("topic", None)])
        await expect(rows).to_have_count(3)
        await expect(console.locator('#console-task-slots tr[data-slot="topic"]')).to_have_count(0)

        # the form still asking when the customer asked for a person; then it is cancelled, live
        await queued(console, asked_id).click()
        await expect(queued(console, asked_id)).to_have_class("selected")
        await expect(console.locator("#console-task-name")).to_have_text("order lookup")
        await expect(console.locator("#console-task-status")).to_have_text("in progress")
        await expect(console.locator("#console-task-asking")).to_have_text("Asking for order_id")
        await expect(console.locator("#console-task-slots")).to_be_hidden()
        await expect(console.locator("#console-transcript li.t-handoff")).to_have_text(
            "Handed off: asked for a person (during order lookup)"
        )
        await console.screenshot(path=str(tmp_path / "console-task-asking.png"), full_page=True)
        await add(service, asked_id, [slot_set("email", EMAIL, "entity"), form("order_lookup", "cancelled")])
        await expect(console.locator("#console-task-status")).to_have_text("cancelled")
        await expect(console.locator("#console-task-asking")).to_be_hidden()
        await expect(rows).to_have_count(1)
        await expect(console.locator("#console-transcript li.t-form").last).to_have_text("order lookup: cancelled")
        await add(service, asked_id, [form(None, "cancelled"), slot_set("email", None)])
        await expect(task).to_be_hidden()  # no form, no slot left
    assert errors == []


async def messages_answered(
    sent: list[dict[str, Any]], received: list[dict[str, Any]], count: int
) -> list[dict[str, Any]]:
    """The ``count`` messages the widget sent, once the server acknowledged and answered each."""
    async with asyncio.timeout(30):
        while True:
            messages = [f for f in sent if f["type"] == "message"]
            acked = {f["id"] for f in received if f["type"] == "ack"}
            answered = {f.get("reply_to") for f in received if f["type"] in ("reply", "clarify", "handoff")}
            if len(messages) == count and all(m["id"] in acked and m["id"] in answered for m in messages):
                return messages
            assert not [f for f in received if f["type"] == "error"], received
            await asyncio.sleep(0.05)


async def test_slot_value_buttons_send_their_title_as_a_plain_message(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, service = live
    errors: list[str] = []
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    shop = await (await browser.new_context()).new_page()
    shop.on("pageerror", lambda exc: errors.append(str(exc)))

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    shop.on("websocket", watch)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await expect(shop.locator("#deskmate-status")).to_have_text("Online")
    (welcome,) = [f for f in received if f["type"] == "welcome"]
    conversation_id = welcome["conversation_id"]

    question = {
        "text": "What is it about?",
        "reply_to": None,
        "source": "template",
        "response": "ask_topic",
        "form": "ticket",
        "asks": "topic",
        "buttons": [{"title": "Damaged item", "value": "damaged"}, {"title": "Something else"}],
    }
    await add(service, conversation_id, [form("ticket", "asking", "topic"), NewEvent(BOT_REPLY, question)])
    options = shop.locator(".deskmate-option")
    await expect(options).to_have_count(2)
    assert await options.first.get_attribute("data-intent") is None
    await options.first.click()
    (answer,) = await messages_answered(sent, received, 1)
    assert answer["text"] == "Damaged item" and answer.get("intent") is None

    old = {
        "text": "Anything else?",
        "reply_to": None,
        "source": "template",
        "buttons": [{"title": "Where is my order?", "intent": "order_status"}],
    }
    await add(service, conversation_id, [NewEvent(BOT_REPLY, old)])
    button = shop.locator(".deskmate-option", has_text="Where is my order?")
    await expect(button).to_have_attribute("data-intent", "order_status")
    await button.click()
    _, answer = await messages_answered(sent, received, 2)
    assert answer["text"] == "Where is my order?" and answer["intent"] == "order_status"
    assert not [f for f in received if f["type"] == "error"]
    assert await shop.locator(".deskmate-error").count() == 0
    assert errors == []


async def test_a_ticket_form_answered_with_a_button_then_handed_off_shows_the_agent_what_was_collected(
    live: tuple[str, ChatService], browser: Browser, tmp_path: Path
) -> None:
    base, _ = live
    errors: list[str] = []
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    shop = await (await browser.new_context()).new_page()
    shop.on("pageerror", lambda exc: errors.append(str(exc)))

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    shop.on("websocket", watch)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await expect(shop.locator("#deskmate-status")).to_have_text("Online")
    (welcome,) = [f for f in received if f["type"] == "welcome"]

    await say(shop, "I want to open a ticket")
    await messages_answered(sent, received, 1)
    await say(shop, EMAIL)
    await messages_answered(sent, received, 2)
    (question,) = [f for f in received if f["type"] == "reply" and f.get("buttons")]
    choice = question["buttons"][0]
    assert "intent" not in choice  # a form question's {title, value} button
    await shop.locator(".deskmate-option", has_text=choice["title"]).first.click()
    *_, clicked = await messages_answered(sent, received, 3)
    assert clicked["text"] == choice["title"] and clicked.get("intent") is None
    await say(shop, "I want to talk to a real person")
    await expect(shop.locator(".deskmate-handoff")).to_have_count(1)

    console = await sign_in(browser, base, errors)
    item = queued(console, welcome["conversation_id"])
    await expect(item).to_contain_text("asked for a person (during ticket)")
    await item.click()
    await expect(console.locator("#console-task-name")).to_have_text("ticket")
    await expect(console.locator("#console-task-status")).to_have_text("handed to a person")
    await expect(console.locator("#console-task-asking")).to_have_text("Was asking for description")
    await expect(console.locator('#console-task-slots tr[data-slot="email"] td.value')).to_have_text(EMAIL)
    topic = choice.get("value", choice["title"])
    await expect(console.locator('#console-task-slots tr[data-slot="topic"] td.value')).to_have_text(topic)
    collected = console.locator("#console-transcript li.t-handoff .collected")
    await expect(collected).to_have_text(f"collected: email = {EMAIL} · topic = {topic}")
    await console.screenshot(path=str(tmp_path / "console-task-ticket.png"), full_page=True)
    await shop.screenshot(path=str(tmp_path / "shop-ticket.png"))
    assert errors == []
