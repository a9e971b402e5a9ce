"""The widget page in headless Chromium (Debian's chromium, driven by Playwright) against the real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.service.brain import Brain

pytestmark = pytest.mark.slow


async def _send(page: Page, text: str) -> None:
    await page.fill("#deskmate-input", text)
    await page.press("#deskmate-input", "Enter")


async def test_customer_chats_in_the_widget_is_handed_off_and_keeps_history(
    base: str, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"http://{base}/")
    await page.click("#deskmate-launcher")
    await expect(page.locator("#deskmate-status")).to_have_text("Online")
    bot = page.locator(".deskmate-msg.deskmate-bot")
    await expect(bot).to_have_count(1)  # the greeting

    await _send(page, "Where is my order?")
    await expect(bot).to_have_count(2)
    await expect(bot.nth(1)).to_contain_text("order number")  # the order lookup form asks for it
    await expect(page.locator(".deskmate-pending")).to_have_count(0)

    # Markup typed by a customer is shown as text, never rendered.
    await _send(page, "<img src=x onerror=alert(1)><b>bold</b>")
    await expect(page.locator(".deskmate-customer .deskmate-text").last).to_have_text(
        "<img src=x onerror=alert(1)><b>bold</b>"
    )
    assert await page.locator("#deskmate-messages img, #deskmate-messages b").count() == 0

    await _send(page, "I want to talk to a real person")
    await expect(page.locator(".deskmate-handoff")).to_have_count(1)
    await expect(page.locator("#deskmate-panel")).to_have_attribute("data-state", "WAITING_FOR_AGENT")

    await page.reload()
    await page.click("#deskmate-launcher")
    await expect(page.locator(".deskmate-customer")).to_have_count(3)
    await expect(page.locator(".deskmate-handoff")).to_have_count(1)
    await expect(page.locator("#deskmate-panel")).to_have_attribute("data-state", "WAITING_FOR_AGENT")
    await page.screenshot(path=str(tmp_path / "widget.png"))
    assert errors == []
    await context.close()


async def test_clarification_buttons_answer_the_chosen_topic(base: str, browser: Browser, demo_brain: Brain) -> None:
    from tests.e2e.test_chat import _ambiguous_message

    text = _ambiguous_message(demo_brain)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"http://{base}/")
    await page.click("#deskmate-launcher")
    await expect(page.locator("#deskmate-status")).to_have_text("Online")
    await _send(page, text)
    options = page.locator(".deskmate-option")
    await expect(options).to_have_count(2)
    intent = await options.first.get_attribute("data-intent")
    assert intent is not None
    await options.first.click()
    bot = page.locator(".deskmate-msg.deskmate-bot")
    await expect(bot).to_have_count(3)
    if not demo_brain.kb.intent(intent).handoff:
        assert (await bot.nth(2).locator(".deskmate-text").text_content()) in demo_brain.kb.responses[intent]
    await context.close()


async def test_the_widget_embedded_on_a_shop_of_another_origin_loads_its_modules_and_chats(
    browser: Browser, demo_brain: Brain, tmp_path: Path
) -> None:
    """The embed tag on a page of another origin: the loader imports the ES modules across origins (CORS),
    and a call the page makes on window.Deskmate before they are loaded is carried out."""
    import functools
    import http.server
    import threading

    from tests.e2e.server import running_service

    shop = tmp_path / "shop"
    shop.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(shop)))
    shop_origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        async with running_service(demo_brain, tmp_path / "db.sqlite3", origins=frozenset({shop_origin})) as (base, _):
            (shop / "index.html").write_text(
                '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><h1>A shop</h1>'
                f'<script src="http://{base}/widget.js" data-title="Shop help" defer></script>'
                # the page opens the chat as soon as it can: before the widget's modules are loaded
                '<script>document.addEventListener("DOMContentLoaded", () => window.Deskmate.open());</script>'
                "</body></html>"
            )
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            await page.goto(f"{shop_origin}/index.html")
            await expect(page.locator("#deskmate-panel")).to_be_visible()  # opened by the early call
            await expect(page.locator(".deskmate-title")).to_have_text("Shop help")
            await expect(page.locator("#deskmate-status")).to_have_text("Online")
            await _send(page, "How much is delivery?")
            await expect(page.locator(".deskmate-msg.deskmate-bot")).to_have_count(2)
            await expect(page.locator(".deskmate-pending")).to_have_count(0)
            assert errors == []
            await page.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
