"""The pages in two languages: the catalogues are complete, and in headless Chromium the widget, the
console and the admin page pick their language (switch, data-lang, browser, KB, English) and switch
it live."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from bot.service.brain import Brain
from bot.service.chat import ChatService
from bot.web.server import WEB_DIR
from tests.e2e.pages import open_page, say, sign_in_admin, sign_in_agent
from tests.e2e.server import running_service, staff_accounts

PASSWORD = "correct horse battery"
I18N = WEB_DIR / "i18n"
PAGES = ["index.html", "console.html", "admin.html"]
SCRIPTS = sorted(WEB_DIR.glob("*.js")) + sorted(WEB_DIR.glob("*/*.js"))
KEY_LITERAL = re.compile(r"""["']((?:widget|console|admin|time|error|language|list)\.[A-Za-z0-9_.]*)["']""")
HTML_KEY = re.compile(r"""data-i18n(?:-[a-z-]+)?="([^"]*)\"""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# error codes the widget shows (docs/protocol.md); closed and session_unknown start a new conversation
WIDGET_ERRORS = [
    "bad_json",
    "bad_frame",
    "bad_email",
    "hello_required",
    "too_long",
    "rate_limited",
    "internal",
    "internal_refused",
    "bad_feedback",
    "already_rated",
]


def _catalogue(language: str) -> dict[str, Any]:
    catalogue: dict[str, Any] = json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))
    return catalogue


def _forms(value: Any) -> list[str]:
    """A catalogue value's texts: the text, or each plural form."""
    return list(value.values()) if isinstance(value, dict) else [value]


def catalogue_problems(en: dict[str, Any], other: dict[str, Any], name: str) -> list[str]:
    """What is wrong with catalogue ``other`` measured against the English one."""
    problems = [f"{name} lacks {key!r}" for key in en if key not in other]
    problems += [f"{name} has {key!r}, which English lacks" for key in other if key not in en]
    for language, catalogue in (("en", en), (name, other)):
        for key, value in catalogue.items():
            if isinstance(value, dict) and "other" not in value:
                problems.append(f"{language} {key!r}: plural forms need 'other'")
            for text in _forms(value):
                if not isinstance(text, str) or not text.strip():
                    problems.append(f"{language} {key!r} is empty")
    for key in en.keys() & other.keys():
        wanted = {p for text in _forms(en[key]) for p in PLACEHOLDER.findall(str(text))}
        got = {p for text in _forms(other[key]) for p in PLACEHOLDER.findall(str(text))}
        if got - wanted:
            problems.append(f"{name} {key!r} uses {sorted(got - wanted)}, which the page never fills in")
    return problems


def used_keys() -> dict[str, set[str]]:
    """Catalogue keys named in the pages' HTML (data-i18n...) and scripts (string literals), by file."""
    used: dict[str, set[str]] = {}
    for page in PAGES:
        used[page] = set(HTML_KEY.findall((WEB_DIR / page).read_text(encoding="utf-8")))
    for script in SCRIPTS:
        if "vendor" in script.parts:
            continue
        found = KEY_LITERAL.findall(script.read_text(encoding="utf-8"))
        used[str(script.relative_to(WEB_DIR))] = {k for k in found if not re.search(r"\.(js|css|json|html)$", k)}
    return used


def missing_keys(en: dict[str, Any]) -> list[str]:
    """Keys the pages use that English lacks; a prefix ("console.reason.") needs one key under it."""
    missing = []
    for file, keys in used_keys().items():
        for key in sorted(keys):
            known = any(k.startswith(key) for k in en) if key.endswith(".") else key in en
            if not known:
                missing.append(f"{file}: {key!r}")
    return missing


def test_the_chinese_catalogue_has_every_english_key_and_no_empty_text() -> None:
    en, zh = _catalogue("en"), _catalogue("zh")
    assert catalogue_problems(en, zh, "zh") == []
    languages = re.search(r"LANGUAGES = \[([^\]]*)\]", (I18N / "i18n.js").read_text(encoding="utf-8"))
    assert languages is not None
    assert re.findall(r'"(\w+)"', languages.group(1)) == ["en", "zh"]
    assert {f.stem for f in I18N.glob("*.json")} == {"en", "zh"}
    assert {en["language.en"], en["language.zh"]} == {"English", "中文"}  # the switch names each in itself


def test_every_key_the_pages_and_scripts_use_is_in_the_english_catalogue() -> None:
    en = _catalogue("en")
    used = used_keys()
    assert len(used["console.html"]) > 20 and len(used["admin.html"]) > 50  # the HTML is read
    assert len(used["widget/view.js"]) > 10 and len(used["console.js"]) > 40  # and so are the scripts
    assert missing_keys(en) == []
    assert [code for code in WIDGET_ERRORS if f"widget.error.{code}" not in en] == []


def test_the_checks_find_what_is_missing() -> None:
    """The completeness checks fail on a catalogue with holes (they are not vacuous)."""
    en = _catalogue("en")
    broken = dict(_catalogue("zh"))
    del broken["widget.send"]
    broken["widget.status.online"] = " "
    broken["widget.unread"] = {"one": "{count}"}
    broken["widget.status.agent"] = "{agent}"
    problems = catalogue_problems(en, broken, "zh")
    assert any("lacks 'widget.send'" in p for p in problems)
    assert any("'widget.status.online' is empty" in p for p in problems)
    assert any("'widget.unread': plural forms need 'other'" in p for p in problems)
    assert any("'widget.status.agent' uses ['agent']" in p for p in problems)
    shrunk = {k: v for k, v in en.items() if k not in ("console.queue.title", "widget.launcher.open")}
    gaps = missing_keys(shrunk)
    assert "console.html: 'console.queue.title'" in gaps
    assert "widget/dom.js: 'widget.launcher.open'" in gaps
    assert any(g.startswith("widget/view.js: 'widget.launcher.open'") for g in gaps)


# ---------- in the browser ----------


@pytest.fixture(scope="module")
async def live(
    demo_brain: Brain,
    demo_builds_dir: Path,
    embedder: Any,
    kb_copy: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, ChatService]]:
    """A server with an agent (sam) and an admin (ana) account; the admin page needs a KB it can reload."""
    accounts = await staff_accounts(PASSWORD)
    db = tmp_path_factory.mktemp("db") / "languages.sqlite3"
    async with running_service(
        demo_brain, db, kb_path=kb_copy, builds_dir=demo_builds_dir, embedder=embedder, accounts=accounts
    ) as running:
        yield running


async def _untranslated(page: Page, catalogue: dict[str, Any]) -> list[str]:
    """Elements with a catalogue text (and no params) that do not show that text in ``catalogue``."""
    shown: list[list[str]] = await page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-i18n]:not([data-i18n-params])'))"
        ".map(n => [n.getAttribute('data-i18n'), n.textContent])"
    )
    assert shown, "no translated element on the page"
    wanted = {key: value.replace("`", "") for key, value in catalogue.items() if isinstance(value, str)}  # `code`
    return [f"{key}: {text!r}" for key, text in shown if key in wanted and text != wanted[key]]


@pytest.mark.slow
async def test_with_a_chinese_browser_the_widget_console_and_admin_are_in_chinese(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, _ = live
    zh = _catalogue("zh")
    errors: list[str] = []
    shop = await open_page(browser, errors, locale="zh-CN")
    await shop.goto(f"http://{base}/")
    await expect(shop.locator("#deskmate-launcher")).to_have_text("联系我们")
    await shop.click("#deskmate-launcher")
    await expect(shop.locator("#deskmate-status")).to_have_text("在线")
    await expect(shop.locator("#deskmate-input")).to_have_attribute("placeholder", "请输入消息…")
    await expect(shop.locator("#deskmate-end")).to_have_text("结束对话")
    await expect(shop.locator("#deskmate-lang")).to_have_value("zh")
    await expect(shop.locator("#deskmate-root")).to_have_attribute("lang", "zh-CN")
    await expect(shop.locator("html")).to_have_attribute("lang", "en")  # the shop's page keeps its own
    await say(shop, "How much is delivery?")
    answer = shop.locator(".deskmate-msg.deskmate-bot").nth(1)
    await expect(answer.get_by_role("button", name="有帮助", exact=True)).to_be_visible()
    assert await _untranslated(shop, zh) == []
    # long Chinese text wraps inside its bubble
    await say(shop, "我想知道" * 60)
    await expect(shop.locator(".deskmate-customer")).to_have_count(2)
    overflowing = await shop.evaluate(
        "() => Array.from(document.querySelectorAll('#deskmate-root .deskmate-msg, #deskmate-root .deskmate-header'))"
        ".filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.className)"
    )
    assert overflowing == []
    font = await shop.evaluate("() => getComputedStyle(document.querySelector('#deskmate-root')).fontFamily")
    assert "PingFang SC" in font and "Noto Sans CJK SC" in font

    console = await open_page(browser, errors, locale="zh-CN")
    await console.goto(f"http://{base}/console")
    await expect(console.locator("#console-signin h2")).to_have_text("登录")
    assert await console.title() == "Deskmate 客服工作台"
    await expect(console.locator("html")).to_have_attribute("lang", "zh-CN")
    await console.fill("#console-username", "sam")
    await console.fill("#console-password", "wrong password here")
    await console.click("#console-signin-button")
    await expect(console.locator("#console-error")).to_contain_text("用户名或密码错误")  # by the error's code
    await sign_in_agent(console, base, "sam", PASSWORD)
    await expect(console.get_by_role("heading", name="排队")).to_be_visible()
    await expect(console.locator("#console-online")).to_contain_text("位客服在线")
    assert await _untranslated(console, zh) == []

    admin = await open_page(browser, errors, locale="zh-CN")
    await sign_in_admin(admin, base, "ana", PASSWORD)
    await expect(admin.locator("#tab-insights")).to_have_text("数据洞察")
    await expect(admin.locator("#admin-who")).to_have_text("已登录：ana")
    await expect(admin.locator("#insights-tiles")).to_contain_text("满意度")
    await expect(admin.locator("#chart-thumbs h3")).to_have_text("各意图的点赞与点踩")
    await expect(admin.locator("html")).to_have_attribute("lang", "zh-CN")
    assert await _untranslated(admin, zh) == []
    assert errors == []


@pytest.mark.slow
async def test_the_switch_changes_the_language_at_once_keeps_the_chat_and_is_remembered(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, _ = live
    en, zh = _catalogue("en"), _catalogue("zh")
    errors: list[str] = []
    shop = await open_page(browser, errors, locale="en-US")
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await expect(shop.locator("#deskmate-status")).to_have_text("Online")
    await expect(shop.locator("#deskmate-lang")).to_have_value("en")
    await say(shop, "How much is delivery?")
    bot = shop.locator(".deskmate-msg.deskmate-bot")
    await expect(bot).to_have_count(2)
    reply = await bot.nth(1).locator(".deskmate-text").text_content()
    await shop.select_option("#deskmate-lang", "zh")
    await expect(shop.locator("#deskmate-status")).to_have_text("在线")
    await expect(shop.locator("#deskmate-launcher")).to_have_text("关闭对话")
    await expect(shop.locator("#deskmate-root")).to_have_attribute("lang", "zh-CN")
    await expect(bot.nth(1).get_by_role("button", name="有帮助", exact=True)).to_be_visible()
    await expect(bot).to_have_count(2)  # the chat is kept, the bot's words as they were
    await expect(bot.nth(1).locator(".deskmate-text")).to_have_text(reply or "")
    await expect(shop.locator(".deskmate-customer .deskmate-text")).to_have_text("How much is delivery?")
    assert await _untranslated(shop, zh) == []
    await shop.reload()
    await expect(shop.locator("#deskmate-launcher")).to_have_text("联系我们")  # remembered
    await shop.click("#deskmate-launcher")
    await expect(shop.locator(".deskmate-customer")).to_have_count(1)
    await shop.select_option("#deskmate-lang", "en")
    await expect(shop.locator("#deskmate-status")).to_have_text("Online")
    await expect(shop.locator("#deskmate-launcher")).to_have_text("Close chat")
    assert await _untranslated(shop, en) == []

    console = await open_page(browser, errors, locale="en-US")
    await sign_in_agent(console, base, "sam", PASSWORD)
    await expect(console.get_by_role("heading", name="Queue")).to_be_visible()
    await console.select_option("#console-lang", "zh")
    await expect(console.get_by_role("heading", name="排队")).to_be_visible()
    await expect(console.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(console.locator("#console-main")).to_be_visible()  # still signed in
    assert await console.title() == "Deskmate 客服工作台"
    await console.reload()
    await expect(console.get_by_role("heading", name="排队")).to_be_visible()  # remembered, and the session too
    await console.select_option("#console-lang", "en")
    await expect(console.get_by_role("heading", name="Queue")).to_be_visible()
    assert await _untranslated(console, en) == []

    admin = await open_page(browser, errors, locale="en-US")
    await sign_in_admin(admin, base, "ana", PASSWORD)
    tiles = admin.locator("#insights-tiles")
    await expect(tiles).to_contain_text("satisfaction")
    await admin.select_option("#admin-lang", "zh")
    await expect(admin.locator("#tab-kb")).to_have_text("知识库")
    await expect(tiles).to_contain_text("满意度")  # the figures too, in place
    await expect(admin.locator("#chart-trend h3")).to_have_text("每日趋势")
    await expect(admin.locator("#admin-main")).to_be_visible()
    await admin.select_option("#admin-lang", "en")
    await expect(admin.locator("#tab-kb")).to_have_text("Knowledge base")
    await expect(tiles).to_contain_text("satisfaction")
    assert await _untranslated(admin, en) == []
    assert errors == []


@pytest.mark.slow
async def test_without_a_choice_the_language_follows_data_lang_then_the_browser_then_the_kb(
    live: tuple[str, ChatService], browser: Browser
) -> None:
    base, _ = live
    errors: list[str] = []
    # a browser language with no catalogue: the KB's default language (the demo KB's is English)
    french = await open_page(browser, errors, locale="fr-FR")
    await french.goto(f"http://{base}/")
    await expect(french.locator("#deskmate-launcher")).to_have_text("Chat with us")

    # ... and with a KB in Chinese, Chinese (the KB's language comes from /site.json)
    async def chinese_kb(route: Route) -> None:
        body = json.dumps({"kb": "Pinecone Outfitters", "language": "zh", "languages": ["zh", "en"]})
        await route.fulfill(status=200, content_type="application/json", body=body)

    french = await open_page(browser, errors, locale="fr-FR")
    await french.route("**/site.json", chinese_kb)
    await french.goto(f"http://{base}/")
    await expect(french.locator("#deskmate-launcher")).to_have_text("联系我们")
    console = await open_page(browser, errors, locale="fr-FR")
    await console.route("**/site.json", chinese_kb)
    await console.goto(f"http://{base}/console")
    await expect(console.locator("#console-signin-button")).to_have_text("登录")

    # the embedding tag's data-lang wins over the browser's language; the user's choice wins over both
    async def shop_page(route: Route) -> None:
        html = (
            '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"></head><body><h1>A shop</h1>'
            f'<script src="http://{base}/widget.js" data-lang="zh" defer></script></body></html>'
        )
        await route.fulfill(status=200, content_type="text/html", body=html)

    english = await open_page(browser, errors, locale="en-US")
    await english.route(f"http://{base}/zh-shop", shop_page)
    await english.goto(f"http://{base}/zh-shop")
    await expect(english.locator("#deskmate-launcher")).to_have_text("联系我们")
    await expect(english.locator(".deskmate-title")).to_have_text("在线客服")  # no data-title: ours
    await english.click("#deskmate-launcher")
    await english.select_option("#deskmate-lang", "en")
    await expect(english.locator("#deskmate-launcher")).to_have_text("Close chat")
    await english.reload()
    await expect(english.locator("#deskmate-launcher")).to_have_text("Chat with us")
    assert errors == []


async def test_site_json_names_the_kb_languages_and_the_texts_are_served_to_any_origin(
    live: tuple[str, ChatService], demo_brain: Brain
) -> None:
    base, _ = live

    def get(path: str) -> tuple[dict[str, str], bytes]:
        with urllib.request.urlopen(f"http://{base}{path}", timeout=10) as response:
            return dict(response.headers), response.read()

    headers, body = await asyncio.to_thread(get, "/site.json")
    kb = demo_brain.kb
    assert json.loads(body) == {"kb": kb.name, "language": kb.language, "languages": list(kb.languages)}
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cache-Control"] == "no-store"
    for path in ("/i18n/en.json", "/i18n/zh.json", "/i18n/i18n.js"):
        headers, body = await asyncio.to_thread(get, path)
        assert headers["Access-Control-Allow-Origin"] == "*", path
        assert headers["Cache-Control"] == "no-store", path
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    _, body = await asyncio.to_thread(get, "/i18n/zh.json")
    assert json.loads(body) == _catalogue("zh")


def test_the_pages_hold_no_english_words_of_their_own() -> None:
    """The console's and admin's HTML carry keys, not texts: every text comes from a catalogue."""
    for page in ("console.html", "admin.html"):
        html = (WEB_DIR / page).read_text(encoding="utf-8")
        body = re.sub(r"<script.*?</script>|<[^>]+>", " ", html.split("<body>", 1)[1], flags=re.S)
        assert body.split() == [], (page, body.split()[:10])
        assert "<title data-i18n=" in html


def test_the_catalogues_are_flat_with_plural_forms_as_intl_names_them() -> None:
    forms = {"zero", "one", "two", "few", "many", "other"}  # Intl.PluralRules' categories
    for language in ("en", "zh"):
        for key, value in _catalogue(language).items():
            assert re.fullmatch(r"[a-z]+(\.[A-Za-z0-9_]+)+", key), key
            assert isinstance(value, str) or (isinstance(value, dict) and set(value) <= forms), key
