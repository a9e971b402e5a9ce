"""Insights on the admin page, in Chromium: a customer's thumbs-down and score show up as figures and charts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bot.service.accounts import Accounts
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.pages import open_page, say, sign_in_admin
from tests.e2e.server import running_service, staff_accounts

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
async def live(
    demo_brain: Brain,
    demo_builds_dir: Path,
    embedder: Any,
    kb_copy: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, ChatService, Accounts]]:
    accounts = await staff_accounts(PASSWORD)
    db = tmp_path_factory.mktemp("db") / "insights.sqlite3"
    async with running_service(
        demo_brain, db, kb_path=kb_copy, builds_dir=demo_builds_dir, embedder=embedder, accounts=accounts
    ) as (base, service):
        yield base, service, accounts



async def test_a_thumbs_down_and_a_score_show_in_the_insights(
    live: tuple[str, ChatService, Accounts], browser: Browser
) -> None:
    base, _, _ = live
    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await say(shop, "How much is delivery?")
    answer = shop.locator(".deskmate-msg.deskmate-bot").nth(1)
    await answer.get_by_role("button", name="Not helpful").click()
    await answer.locator(".deskmate-comment button").click()
    await shop.click("#deskmate-end")
    await shop.locator("#deskmate-survey").get_by_role("button", name="2 of 5").click()
    await shop.locator("#deskmate-survey .deskmate-comment button").click()
    await expect(shop.locator("#deskmate-survey")).to_contain_text("Thank you")
    await expect(shop.locator(".deskmate-pending")).to_have_count(0)

    admin = await open_page(browser, errors)
    await sign_in_admin(admin, base, "ana", PASSWORD)
    await expect(admin.locator("#view-insights")).to_be_visible()  # the first tab
    tiles = admin.locator("#insights-tiles")
    await expect(tiles).to_contain_text("1 👎")
    await expect(tiles).to_contain_text("2.0 / 5")
    await expect(tiles).to_contain_text("conversations")
    thumbs = admin.locator("#chart-thumbs")
    await expect(thumbs.locator("canvas")).to_have_count(1)  # drawn by Chart.js, served by Deskmate
    assert await admin.evaluate("() => typeof window.Chart") == "function"
    await thumbs.locator("summary").click()
    await expect(thumbs.locator("table")).to_contain_text("shipping")
    async with admin.expect_download() as downloading:
        await thumbs.get_by_role("button", name="Export CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "thumbs.csv"
    text = Path(await download.path()).read_text()
    assert text.splitlines()[0] == "intent,up,down" and ",0,1" in text
    survey = admin.locator("#chart-satisfaction table")
    await admin.locator("#chart-satisfaction summary").click()
    await expect(survey).to_contain_text("2")
    # another period: today
    await admin.select_option("#insights-period", "1")
    await expect(tiles).to_contain_text("1 👎")
    # a custom period that holds nothing
    await admin.select_option("#insights-period", "custom")
    await admin.fill("#insights-since", "2020-01-01")
    await admin.fill("#insights-until", "2020-01-31")
    await admin.click("#insights-apply")
    await expect(tiles).to_contain_text("0 👍 · 0 👎")
    await expect(admin.locator("#chart-thumbs")).to_contain_text("Nothing in this period")
    assert errors == []
