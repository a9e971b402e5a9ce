"""Customers' feedback over real websockets and in Chromium: thumbs on answers, end chat, the survey."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from bot.core.events import FEEDBACK, SURVEY
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.pages import open_page, say, sign_in_agent
from tests.e2e.server import agent_accounts, customer, running_service

PASSWORD = "correct horse battery"


async def test_thumbs_end_and_survey_are_stored_once_and_counted(base: str) -> None:
    async with customer(base) as (client, welcome):
        reply = await client.say("m1", "How much is delivery?")
        assert reply["type"] == "reply"
        rating = {"type": "feedback", "id": "f1", "reply": reply["id"], "value": "down", "comment": "too expensive"}
        await client.send(rating)
        assert (await client.expect("ack"))["id"] == "f1"
        await client.send(rating)  # a resend: acknowledged, stored once
        assert (await client.expect("ack"))["id"] == "f1"
        await client.send({**rating, "id": "f2", "value": "up"})
        assert (await client.expect("error"))["code"] == "already_rated"
        await client.send({"type": "feedback", "id": "f3", "reply": welcome["history"][0]["id"], "value": "up"})
        assert (await client.expect("error"))["code"] == "bad_feedback"  # the greeting is not an answer
        await client.send({"type": "survey", "id": "s1", "score": 4})
        early = await client.expect("error")
        assert early["code"] == "bad_feedback" and "end chat" in early["message"]

        await client.send({"type": "end", "id": "x1"})
        closed = await client.expect("closed")
        assert closed["by"] == "customer"
        assert (await client.expect("ack"))["id"] == "x1"
        await client.send({"type": "survey", "id": "s2", "score": 4, "comment": "fine"})
        assert (await client.expect("ack"))["id"] == "s2"
        conversation_id = welcome["conversation_id"]

    async with customer(base) as (_, fresh):  # the ended conversation is over: a new one starts
        assert fresh["conversation_id"] != conversation_id
    metrics = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://{base}/metrics", timeout=10).read())
    assert b'deskmate_feedback_total{value="down"} 1.0' in metrics
    assert b'deskmate_surveys_total{score="4"} 1.0' in metrics


@pytest.fixture(scope="module")
async def live(demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, ChatService]]:
    accounts = await agent_accounts(PASSWORD, sam="Sam")
    db = tmp_path_factory.mktemp("db") / "feedback.sqlite3"
    async with running_service(demo_brain, db, accounts=accounts) as running:
        yield running



@pytest.mark.slow
async def test_a_thumbs_down_and_a_score_reach_the_agent_and_the_store(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, service = live
    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await expect(shop.locator(".deskmate-msg.deskmate-bot")).to_have_count(1)
    assert await shop.locator(".deskmate-rate").count() == 0  # the greeting is not rated
    await say(shop, "How much is delivery?")
    answer = shop.locator(".deskmate-msg.deskmate-bot").nth(1)
    await expect(answer.locator(".deskmate-thumb")).to_have_count(2)
    await answer.get_by_role("button", name="Not helpful").click()
    await answer.locator(".deskmate-comment input").fill("I wanted express prices")
    await answer.locator(".deskmate-comment button").click()
    await expect(answer.locator(".deskmate-thanks")).to_contain_text("Thanks")
    await expect(answer.locator(".deskmate-thumb:not(:disabled)")).to_have_count(0)
    await say(shop, "I want to talk to a real person")
    await expect(shop.locator(".deskmate-handoff")).to_have_count(1)

    console = await open_page(browser, errors)
    await sign_in_agent(console, base, "sam", PASSWORD)
    await console.locator("#console-queue li", has_text="real person").click()
    await expect(console.locator(".t-feedback")).to_contain_text("unhelpful")
    await expect(console.locator(".t-feedback")).to_contain_text("I wanted express prices")
    await console.click("#console-claim")
    await expect(console.locator("#console-close")).to_be_enabled()
    await console.click("#console-close")

    survey = shop.locator("#deskmate-survey")
    await expect(survey).to_be_visible()
    await expect(shop.locator("#deskmate-end")).to_be_hidden()  # nothing left to end
    await survey.get_by_role("button", name="4 of 5").click()
    await survey.locator(".deskmate-comment input").fill("quick, thanks")
    await survey.locator(".deskmate-comment button").click()
    await expect(survey).to_contain_text("Thank you")
    await expect(console.locator(".t-survey")).to_contain_text("rated the chat 4 of 5 — quick, thanks")

    summaries = await service.store.conversations(["CLOSED"])
    events = [e for s in summaries for e in await service.store.events(s.id)]
    assert [e.data["value"] for e in events if e.kind == FEEDBACK] == ["down"]
    assert [(e.data["score"], e.data["comment"]) for e in events if e.kind == SURVEY] == [(4, "quick, thanks")]
    assert errors == []


@pytest.mark.slow
async def test_the_customer_ends_the_chat_and_rates_it(live: tuple[str, ChatService], browser: Browser) -> None:
    base, _ = live
    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await say(shop, "How much is delivery?")
    answer = shop.locator(".deskmate-msg.deskmate-bot").nth(1)
    await answer.get_by_role("button", name="Helpful", exact=True).click()
    await expect(answer.locator(".deskmate-thanks")).to_have_text("Thanks!")
    await shop.reload()
    await shop.click("#deskmate-launcher")
    rated = shop.locator(".deskmate-msg.deskmate-bot").nth(1).locator(".deskmate-thumb.deskmate-chosen")
    await expect(rated).to_have_attribute("data-value", "up")  # the choice is kept across a reload
    await shop.click("#deskmate-end")
    await expect(shop.locator(".deskmate-closed")).to_have_text("You ended the chat.")
    await shop.locator("#deskmate-survey").get_by_role("button", name="5 of 5").click()
    await shop.locator("#deskmate-survey .deskmate-comment button").click()
    await expect(shop.locator("#deskmate-survey")).to_contain_text("Thank you")
    await expect(shop.locator(".deskmate-pending")).to_have_count(0)
    assert errors == []
