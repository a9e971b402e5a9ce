"""The admin page in headless Chromium: a wrong token, sign in, reload the KB live, a rejection, escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.server import running_service

pytestmark = pytest.mark.slow

TOKEN = "page-admin-token-0123456789"


@pytest.fixture(scope="module")
async def live(
    demo_brain: Brain, demo_builds_dir: Path, embedder: Any, kb_copy: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, ChatService]]:
    db = tmp_path_factory.mktemp("db") / "admin-page.sqlite3"
    async with running_service(
        demo_brain, db, kb_path=kb_copy, builds_dir=demo_builds_dir, embedder=embedder, admin_token=TOKEN
    ) as running:
        yield running


async def test_admin_signs_in_reloads_and_sees_a_rejected_kb_as_text(
    live: tuple[str, ChatService], browser: Browser, kb_copy: Path, tmp_path: Path
) -> None:
    base, service = live
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"http://{base}/admin")

    # A wrong token: said so under the token field (what to check, no protocol text), and the form
    # stays open for another try, as many as it takes.
    signin_error = page.locator("#admin-signin #admin-signin-error")
    for wrong in ("wrong-token-but-long-enough", "another-wrong-token-0123"):
        await page.fill("#admin-token", wrong)
        await page.click("#admin-signin-button")
        await expect(signin_error).to_be_visible()
        await expect(signin_error).to_contain_text("admin token is wrong")
        await expect(signin_error.locator("code")).to_have_text("deskmate admin token")  # the command to run
        await expect(signin_error).not_to_contain_text('"type"')
        await expect(page.locator("#admin-signin-button")).to_be_enabled()
        await expect(page.locator("#admin-token")).to_be_focused()
        await expect(page.locator("#admin-main")).to_be_hidden()

    await page.fill("#admin-token", TOKEN)
    await page.click("#admin-signin-button")
    await expect(page.locator("#admin-main")).to_be_visible()
    await expect(signin_error).to_be_hidden()
    serving_row = page.locator(f'#admin-builds tr[data-build="{service.brain.build_id}"]')
    await expect(serving_row).to_contain_text("serving")

    await page.click("#admin-reload")
    await expect(page.locator("#admin-status")).to_contain_text("Now serving", timeout=120_000)
    await expect(page.locator("#admin-history tbody tr").first).to_contain_text("reload")
    await expect(page.locator("#admin-history tbody tr").first).to_contain_text("serving")

    # A broken KB whose bad line holds markup: rejected, the issue shown as text, nothing rendered.
    intents = kb_copy / "intents.yml"
    original = intents.read_text(encoding="utf-8")
    markup = '  - "<img src=x onerror=alert(1)>"\n'
    intents.write_text(original.replace("out_of_scope:\n", "out_of_scope:\n" + markup * 2), encoding="utf-8")
    served = service.brain.build_id
    try:
        await page.click("#admin-reload")
        await expect(page.locator("#admin-status")).to_contain_text("rejected", timeout=60_000)
    finally:
        intents.write_text(original, encoding="utf-8")
    issues = page.locator("#admin-issues li")
    await expect(issues).to_have_count(1)
    await expect(issues.first).to_contain_text("intents.yml:")
    await expect(issues.first).to_contain_text("<img src=x onerror=alert(1)>")
    assert await page.locator("#admin-issues img, #admin-history img").count() == 0
    assert service.brain.build_id == served
    await page.screenshot(path=str(tmp_path / "admin.png"))
    assert errors == []
    await context.close()
