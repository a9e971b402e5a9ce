"""What a new user tripped over in the pages, in headless Chromium: hidden panels, the status line,
live buttons, the favicon, and the widget and console details that make them feel finished."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Response, expect

from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.pages import open_page, say, sign_in_agent
from tests.e2e.server import agent_accounts, running_service

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
CLOCK = re.compile(r"^\d{1,2}:\d{2}(\s?[AP]M)?$")


@pytest.fixture(scope="module")
async def live(demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, ChatService]]:
    accounts = await agent_accounts(PASSWORD, sam="Sam")
    db = tmp_path_factory.mktemp("db") / "pages.sqlite3"
    async with running_service(demo_brain, db, accounts=accounts) as running:
        yield running


async def _sign_in(browser: Browser, base: str, errors: list[str], **context: object) -> Page:
    console = await open_page(browser, errors, **context)
    await sign_in_agent(console, base, "sam", PASSWORD)
    return console


async def _shown_though_hidden(page: Page) -> list[str]:
    found: list[str] = await page.evaluate(
        "() => Array.from(document.querySelectorAll('[hidden]'))"
        ".filter(n => getComputedStyle(n).display !== 'none').map(n => n.id || n.className)"
    )
    return found


async def test_before_sign_in_the_console_shows_only_the_sign_in(live: tuple[str, ChatService], browser: Browser) -> None:
    base, _ = live
    errors: list[str] = []
    for path in ("/console", "/admin", "/"):
        page = await open_page(browser, errors)
        await page.goto(f"http://{base}{path}")
        assert await _shown_though_hidden(page) == [], path
    console = await open_page(browser, errors)
    await console.goto(f"http://{base}/console")
    await expect(console.locator("#console-signin")).to_be_visible()
    await expect(console.locator("#console-main")).to_be_hidden()
    await expect(console.get_by_role("heading", name="Queue")).to_be_hidden()
    await expect(console.get_by_role("heading", name="Inbox")).to_be_hidden()
    assert errors == []


async def test_no_page_asks_for_a_file_that_is_not_there(live: tuple[str, ChatService], browser: Browser) -> None:
    base, _ = live
    errors: list[str] = []
    failed: list[str] = []
    for path in ("/", "/console", "/admin"):
        page = await open_page(browser, errors)

        def check(response: Response) -> None:
            if response.status >= 400:
                failed.append(f"{response.status} {response.url}")

        page.on("response", check)
        await page.goto(f"http://{base}{path}")
        await page.wait_for_load_state("networkidle")
        icon = await page.evaluate("() => document.querySelector('link[rel=icon]').href")
        assert icon.endswith("/favicon.svg")
    assert failed == []
    page = await open_page(browser, errors)
    response = await page.goto(f"http://{base}/favicon.ico")  # what browsers ask for without a <link>
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/vnd.microsoft.icon"
    assert errors == []


async def test_the_header_never_says_online_when_nobody_from_the_team_is(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, _ = live
    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    status = shop.locator("#deskmate-status")
    await expect(status).to_have_text("Online")  # the assistant is
    await say(shop, "I want to talk to a real person")
    await expect(shop.locator("#deskmate-queue")).to_contain_text("No one from our team is online")
    await expect(status).to_have_attribute("data-status", "away")
    await expect(status).not_to_have_text(re.compile(r"\bOnline\b"))
    dot = await status.evaluate("n => getComputedStyle(n, '::before').backgroundColor")
    assert dot != "rgb(74, 222, 128)"  # not the green of "online"

    console = await _sign_in(browser, base, errors)  # now someone is
    await expect(status).to_have_text("Waiting for our team")
    await expect(shop.locator("#deskmate-queue")).to_contain_text("number 1 in the queue")
    await console.close()
    assert errors == []


async def test_only_the_newest_buttons_can_be_clicked(
    live: tuple[str, ChatService], browser: Browser, demo_brain: Brain
) -> None:
    from tests.e2e.test_chat import _ambiguous_message

    base, _ = live
    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await say(shop, _ambiguous_message(demo_brain))
    options = shop.locator(".deskmate-option")
    await expect(options).to_have_count(2)
    await expect(options.first).to_be_enabled()
    await say(shop, "How much is delivery?")  # the customer moved on without clicking
    await expect(shop.locator(".deskmate-msg.deskmate-bot")).to_have_count(3)
    await expect(options.first).to_be_disabled()
    await expect(options.last).to_be_disabled()
    await shop.reload()  # and after a reload too
    await shop.click("#deskmate-launcher")
    await expect(shop.locator(".deskmate-msg.deskmate-bot")).to_have_count(3)
    await expect(shop.locator(".deskmate-option:not(:disabled)")).to_have_count(0)
    assert errors == []


async def test_the_widget_shows_times_the_bot_typing_and_unread_replies(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, _ = live
    errors: list[str] = []
    shop = await open_page(browser, errors)
    await shop.goto(f"http://{base}/")
    launcher = shop.locator("#deskmate-launcher")
    await expect(launcher).to_have_text("Chat with us")
    await launcher.click()
    await expect(launcher).to_have_text("Close chat")
    await expect(shop.locator("#deskmate-status")).to_have_text("Online")
    # the dots appear while the bot works and go with its answer
    await shop.evaluate(
        "() => { window.__dots = 0; new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => {"
        " if (n.classList && n.classList.contains('deskmate-bot-typing')) window.__dots++; })))"
        ".observe(document.getElementById('deskmate-messages'), {childList: true}); }"
    )
    await say(shop, "How much is delivery?")
    bot = shop.locator(".deskmate-msg.deskmate-bot")
    await expect(bot).to_have_count(2)
    await expect(shop.locator(".deskmate-bot-typing")).to_have_count(0)
    assert await shop.evaluate("() => window.__dots") == 1
    times = shop.locator(".deskmate-msg .deskmate-time")
    await expect(times).to_have_count(3)  # greeting, question, answer
    for text in await times.all_text_contents():
        assert CLOCK.match(text.strip()), text
    assert await times.first.get_attribute("datetime")

    # closed: a reply that arrives is counted on the launcher; opening clears it
    await launcher.click()
    await expect(launcher).to_have_text("Chat with us")
    await shop.evaluate("() => window.Deskmate.send('do you deliver to France?')")
    await expect(bot).to_have_count(3)
    badge = shop.locator("#deskmate-unread")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text("1")
    await launcher.click()
    await expect(badge).to_be_hidden()
    assert errors == []


async def test_on_a_phone_the_open_chat_fills_the_screen(live: tuple[str, ChatService], browser: Browser) -> None:
    base, _ = live
    errors: list[str] = []
    phone = await open_page(browser, errors, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await phone.goto(f"http://{base}/")
    await phone.click("#deskmate-launcher")
    box = await phone.locator("#deskmate-panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    await expect(phone.locator("#deskmate-close")).to_be_visible()
    await phone.click("#deskmate-close")
    await expect(phone.locator("#deskmate-launcher")).to_be_visible()
    assert errors == []


async def test_the_console_names_the_customer_when_they_started_and_where_from(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, _ = live
    errors: list[str] = []
    visitor = await open_page(browser, errors)  # says nothing about who they are
    await visitor.goto(f"http://{base}/?utm_source=mail&email=jo@example.com#top")
    await visitor.click("#deskmate-launcher")
    await say(visitor, "I want to talk to a real person")
    await expect(visitor.locator(".deskmate-handoff")).to_have_count(1)
    await say(visitor, "the blue kettle from the visitor")
    known = await open_page(browser, errors)  # leaves an email while nobody is online
    await known.goto(f"http://{base}/")
    await known.click("#deskmate-launcher")
    await say(known, "I want to talk to a real person")
    await known.fill("#deskmate-contact-email", "kim@example.com")
    await known.fill("#deskmate-contact-text", "the red kettle from kim")
    await known.click("#deskmate-contact-send")
    await expect(known.locator(".deskmate-contact-done")).to_have_count(1)
    await say(known, "the red kettle from kim")

    console = await _sign_in(browser, base, errors, viewport={"width": 800, "height": 700})
    anonymous = console.locator("#console-queue li", has_text="the blue kettle from the visitor")
    await expect(anonymous.locator(".who")).to_have_text(re.compile(r"^Visitor \d{4}$"))
    named = console.locator("#console-queue li", has_text="the red kettle from kim")
    await expect(named.locator(".who")).to_have_text("kim@example.com")

    label = await anonymous.locator(".who").text_content()
    await anonymous.click()
    await expect(console.locator("#console-chat-title")).to_have_text(label or "")
    await expect(console.locator("#console-chat-state")).to_have_text("waiting for an agent")  # words, not WAITING_FOR_AGENT
    customer = console.locator("#console-chat-customer")
    await expect(customer).to_contain_text("Started ")
    await expect(customer).to_contain_text(f"from http://{base}/")
    shown = await customer.text_content() or ""
    assert "utm_source" not in shown and "jo@example.com" not in shown  # never the query: it can hold personal data
    await named.click()
    await expect(console.locator("#console-chat-title")).to_have_text("kim@example.com")

    # the actions stay on one line at 800 px
    boxes = [await button.bounding_box() for button in await console.locator(".chat-head .actions button").all()]
    assert len(boxes) == 4 and all(box is not None for box in boxes)
    assert len({round(box["y"]) for box in boxes if box}) == 1, boxes
    assert all(box["height"] < 40 for box in boxes if box), boxes
    assert errors == []
