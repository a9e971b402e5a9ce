"""The admin inbox in Chromium: fix a single message of a group, a refused fix says why, nothing is lost."""

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
from tests.e2e.pages import open_page, sign_in_admin
from tests.e2e.server import customer, running_service, staff_accounts

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
FIRST, SECOND = "zorblax quintrell vapp", "zorblax quintrell vapp again"


@pytest.fixture
async def live(
    demo_brain: Brain, demo_builds_dir: Path, embedder: Any, tmp_path: Path
) -> AsyncIterator[tuple[str, ChatService, Path]]:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    accounts = await staff_accounts(PASSWORD)
    async with running_service(
        demo_brain, tmp_path / "inbox.sqlite3", kb_path=kb, builds_dir=demo_builds_dir, embedder=embedder, accounts=accounts
    ) as (base, service):
        yield base, service, kb


async def test_one_message_is_dismissed_a_bad_fix_is_refused_the_rest_is_out_of_scope(
    live: tuple[str, ChatService, Path], browser: Browser
) -> None:
    base, _, kb = live
    for text in (FIRST, SECOND):  # two customers (the first may be handed off after its message)
        async with customer(base) as (client, _):
            await client.say("m1", text)
    errors: list[str] = []
    admin = await open_page(browser, errors)
    await sign_in_admin(admin, base, "ana", PASSWORD, tab="inbox")
    group = admin.locator("#inbox-groups .group", has_text=FIRST)
    await expect(group).to_have_count(1)
    await expect(group.locator("h3")).to_contain_text("2 messages")

    # a single message: untick the other, dismiss it
    await group.get_by_label(FIRST, exact=True).uncheck()
    await group.get_by_role("button", name="Dismiss").click()
    await expect(admin.locator("#inbox-status")).to_have_text("Dismissed.")
    group = admin.locator("#inbox-groups .group", has_text=FIRST)
    await expect(group.locator("h3")).to_contain_text("1 message")
    await expect(group).not_to_contain_text(SECOND)

    # a new intent the KB refuses: the reason is shown, nothing is written
    before = (kb / "intents.yml").read_text()
    await group.get_by_label("New intent name").fill("Not A Name!")
    await group.get_by_label("New intent's answer").fill("Zorblax is not something we sell.")
    await group.get_by_role("button", name="New intent").click()
    await expect(admin.locator("#inbox-error")).to_be_visible()
    assert (kb / "intents.yml").read_text() == before

    await group.get_by_role("button", name="Out of scope").click()
    await expect(admin.locator("#inbox-status")).to_contain_text("Written to the KB")
    rows = admin.locator("#inbox-changes tbody tr")
    await expect(rows.filter(has_text="out of scope")).to_have_attribute("data-status", "pending")
    await expect(rows.filter(has_text="dismissed")).to_contain_text("ana")
    assert FIRST in (kb / "intents.yml").read_text() and SECOND not in (kb / "intents.yml").read_text()
    await expect(admin.get_by_role("button", name="Apply and reload (1)")).to_be_enabled()
    assert errors == []
