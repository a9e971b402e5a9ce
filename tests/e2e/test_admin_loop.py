"""The improvement loop in Chromium, end to end: a customer's thumbs-down and score, the admin's insights,
the failed message's group in the inbox, added to an intent, applied and reloaded, then answered.

The reload retrains the classifier (an intent got a new example), so this test takes a few minutes.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bot.ops.config import DEMO_KB
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.pages import open_page, say, sign_in_admin
from tests.e2e.server import customer, running_service, staff_accounts

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
STRANGE = "zorblax quintrell vapp"  # nothing the demo bot was taught: it cannot answer it yet


@pytest.fixture
async def live(
    demo_brain: Brain, demo_builds_dir: Path, embedder: Any, tmp_path: Path
) -> AsyncIterator[tuple[str, ChatService, Path]]:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    accounts = await staff_accounts(PASSWORD)
    async with running_service(
        demo_brain,
        tmp_path / "loop.sqlite3",
        kb_path=kb,
        builds_dir=demo_builds_dir,
        embedder=embedder,
        accounts=accounts,
    ) as (base, service):
        yield base, service, kb



async def test_an_admin_teaches_the_bot_what_a_customer_rated_down(
    live: tuple[str, ChatService, Path], browser: Browser
) -> None:
    base, service, kb = live
    async with customer(base) as (client, _):
        before = await client.say("m1", STRANGE)
    assert before["type"] != "reply" or before["source"] == "fallback", before  # not answered yet

    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await say(shop, "How much is delivery?")
    answer = shop.locator(".deskmate-msg.deskmate-bot").nth(1)
    await answer.get_by_role("button", name="Not helpful").click()
    await answer.locator(".deskmate-comment input").fill("I wanted express prices")
    await answer.locator(".deskmate-comment button").click()
    await say(shop, STRANGE)  # a request to rephrase, or a handoff: either way, not answered
    await expect(shop.locator(".deskmate-msg.deskmate-customer")).to_have_count(2)
    await expect(shop.locator(".deskmate-msg.deskmate-bot, .deskmate-handoff")).to_have_count(3)
    await shop.click("#deskmate-end")
    await shop.locator("#deskmate-survey").get_by_role("button", name="2 of 5").click()
    await shop.locator("#deskmate-survey .deskmate-comment button").click()
    await expect(shop.locator("#deskmate-survey")).to_contain_text("Thank you")
    await expect(shop.locator(".deskmate-pending")).to_have_count(0)

    admin = await open_page(browser, errors)
    await sign_in_admin(admin, base, "ana", PASSWORD)
    await expect(admin.locator("#insights-tiles")).to_contain_text("2.0 / 5")
    await expect(admin.locator("#insights-tiles")).to_contain_text("1 👎")

    await admin.click("#tab-inbox")
    group = admin.locator("#inbox-groups .group", has_text=STRANGE)
    await expect(group).to_have_count(1)
    await group.get_by_label("Intent to add these messages to").select_option("shipping_cost")
    await group.get_by_role("button", name="Add to intent").click()
    await expect(admin.locator("#inbox-status")).to_contain_text("Written to the KB")
    pending = admin.locator("#inbox-changes tbody tr[data-status='pending']")
    await expect(pending).to_have_count(1)
    await expect(pending).to_contain_text("ana")
    await expect(pending).to_contain_text("shipping_cost")
    assert STRANGE in (kb / "intents.yml").read_text()
    await expect(admin.locator("#inbox-groups .group", has_text=STRANGE)).to_have_count(0)  # handled

    await admin.get_by_role("button", name="Apply and reload (1)").click()
    await expect(admin.locator("#inbox-status")).to_contain_text("Now serving", timeout=600_000)
    await expect(admin.locator("#inbox-changes tbody tr[data-status='applied']")).to_have_count(1)
    await admin.click("#tab-kb")
    await expect(admin.locator("#admin-history tbody tr").first).to_contain_text("admin:ana")

    async with customer(base) as (client, _):
        after = await client.say("m1", STRANGE)
    assert after["type"] == "reply" and after["intent"] == "shipping_cost", after
    assert service.brain.build_id != ""
    assert errors == []
