"""The admin page in headless Chromium: admin accounts (an agent refused, sign in, reload, sign out) and
the admin token (a wrong one, sign in, reload the KB live, a rejection, escaped)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bot.service.accounts import Accounts
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.server import agent_accounts, running_service

pytestmark = pytest.mark.slow

TOKEN = "page-admin-token-0123456789"
PASSWORD = "admin page password"


@pytest.fixture(scope="module")
async def accounts() -> Accounts:
    """An agent (sam) and an admin (alice), with cheap argon2 settings."""
    made = await agent_accounts(PASSWORD, sam="Sam")
    await made.add("alice", PASSWORD, "admin", "Alice")
    return made


@pytest.fixture(scope="module")
async def live(
    demo_brain: Brain,
    demo_builds_dir: Path,
    embedder: Any,
    kb_copy: Path,
    accounts: Accounts,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, ChatService]]:
    db = tmp_path_factory.mktemp("db") / "admin-page.sqlite3"
    async with running_service(
        demo_brain,
        db,
        kb_path=kb_copy,
        builds_dir=demo_builds_dir,
        embedder=embedder,
        admin_token=TOKEN,
        accounts=accounts,
    ) as running:
        yield running


async def test_an_admin_account_signs_in_reloads_is_named_in_the_history_and_signs_out(
    live: tuple[str, ChatService], accounts: Accounts, browser: Browser, tmp_path: Path
) -> None:
    base, _ = live
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"http://{base}/admin")
    signin_error = page.locator("#admin-signin #admin-signin-error")

    # An agent's account: refused, saying which kind of account is needed and how to make one.
    await page.fill("#admin-username", "sam")
    await page.fill("#admin-password", PASSWORD)
    await page.click("#admin-login-button")
    await expect(signin_error).to_contain_text("This account is an agent; an admin account is needed")
    await expect(signin_error.locator("code")).to_have_text("deskmate users add NAME --role admin")
    await expect(page.locator("#admin-main")).to_be_hidden()
    await expect(page.locator("#admin-login-button")).to_be_enabled()
    await expect(page.locator("#admin-password")).to_be_focused()

    await page.fill("#admin-username", "alice")
    await page.fill("#admin-password", PASSWORD)
    await page.click("#admin-login-button")
    await expect(page.locator("#admin-main")).to_be_visible()
    await expect(signin_error).to_be_hidden()
    await expect(page.locator("#admin-who")).to_have_text("Signed in as alice")
    session = await page.evaluate("sessionStorage.getItem('deskmate-admin-session')")
    assert session and await accounts.authenticate(session) is not None

    await page.click("#tab-kb")
    await page.click("#admin-reload")
    await expect(page.locator("#admin-status")).to_contain_text("Now serving", timeout=120_000)
    latest = page.locator("#admin-history tbody tr").first
    await expect(latest).to_contain_text("admin:alice")
    await expect(latest).to_contain_text("reload")

    # A reload of the page resumes the session: no second sign-in.
    await page.reload()
    await expect(page.locator("#admin-main")).to_be_visible()
    await expect(page.locator("#admin-who")).to_have_text("Signed in as alice")

    # Signing out ends the session on the server, not only in this tab.
    await page.click("#admin-logout")
    await expect(page.locator("#admin-signin")).to_be_visible()
    await expect(page.locator("#admin-main")).to_be_hidden()
    await expect(page.locator("#admin-logout")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('deskmate-admin-session')") is None
    for _ in range(100):
        if await accounts.authenticate(session) is None:
            break
        await asyncio.sleep(0.05)
    assert await accounts.authenticate(session) is None
    await page.reload()
    await expect(page.locator("#admin-signin")).to_be_visible()
    await expect(page.locator("#admin-main")).to_be_hidden()
    await page.screenshot(path=str(tmp_path / "admin-signin.png"))
    assert errors == []
    await context.close()


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
    await page.click("#tab-kb")
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
        await page.click("#admin-reload")  # the KB tab is open already
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
