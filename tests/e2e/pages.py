"""What the Chromium tests do on the pages again and again: type to the bot, sign in to the console
or the admin page, open a page that records its script errors."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect


async def open_page(browser: Browser, errors: list[str], **context: object) -> Page:
    """A page in a fresh context (``context``: viewport...), its script errors appended to ``errors``."""
    page = await (await browser.new_context(**context)).new_page()  # type: ignore[arg-type]
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


async def say(page: Page, text: str) -> None:
    """Type ``text`` into the widget and press Enter."""
    await page.fill("#deskmate-input", text)
    await page.press("#deskmate-input", "Enter")


async def sign_in_agent(page: Page, base: str, username: str, password: str) -> None:
    await page.goto(f"http://{base}/console")
    await page.fill("#console-username", username)
    await page.fill("#console-password", password)
    await page.click("#console-signin-button")
    await expect(page.locator("#console-main")).to_be_visible()


async def sign_in_admin(page: Page, base: str, username: str, password: str, *, tab: str = "") -> None:
    """Sign in on the admin page with an account; ``tab`` (``inbox``, ``kb``) opens that tab."""
    await page.goto(f"http://{base}/admin" + (f"#{tab}" if tab else ""))
    await page.fill("#admin-username", username)
    await page.fill("#admin-password", password)
    await page.click("#admin-login-button")
    await expect(page.locator("#admin-main")).to_be_visible()
