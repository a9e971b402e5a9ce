"""The Chinese demo KB in headless Chromium: a customer writes Chinese and gets Chinese answers, a
form, a handoff, in a widget whose own texts are Chinese; an agent answers from the console."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from bot.actions import InProcessActionRunner
from bot.service.brain import Brain
from bot.service.chat import ChatService
from kb.build import build_kb
from retrieval.embedder import Embedder
from tests.e2e.pages import open_page, say, sign_in_agent
from tests.e2e.server import agent_accounts, running_service

PASSWORD = "correct horse battery"
DEMO_ZH = Path(__file__).resolve().parents[2] / "kb" / "demo-zh"


@pytest.fixture(scope="module")
async def live(
    embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, ChatService]]:
    info = await asyncio.to_thread(build_kb, DEMO_ZH, tmp_path_factory.mktemp("builds"), embedder=embedder)
    brain = await asyncio.to_thread(Brain.load, info, embedder)
    assert brain.reads is None  # the multilingual encoder reads the KB
    actions = await asyncio.to_thread(InProcessActionRunner, str(DEMO_ZH / "actions"))
    accounts = await agent_accounts(PASSWORD, lin="小林")
    db = tmp_path_factory.mktemp("db") / "zh.sqlite3"
    async with running_service(brain, db, accounts=accounts, actions=actions) as running:
        yield running
    await actions.close()


async def test_a_chinese_customer_is_served_in_chinese_from_widget_to_agent(
    live: tuple[str, ChatService], browser: Browser, tmp_path: Path
) -> None:
    base, _ = live
    errors: list[str] = []
    shop = await open_page(browser, errors, locale="zh-CN")
    await shop.goto(f"http://{base}/")
    await shop.click("#deskmate-launcher")
    await expect(shop.locator("#deskmate-status")).to_have_text("在线")  # the widget's own texts
    await expect(shop.locator("#deskmate-input")).to_have_attribute("placeholder", "请输入消息…")
    bot = shop.locator(".deskmate-msg.deskmate-bot")
    await expect(bot.first).to_contain_text("松果户外的智能助手")  # the KB's greeting

    await say(shop, "运费多少钱？")
    await expect(bot.last).to_contain_text("£4.95")

    await say(shop, "我的订单到哪了？")  # a form: the bot asks for the order number, in Chinese
    await expect(bot.last).to_contain_text("订单号")
    await say(shop, "PC-483920")
    await expect(bot.last).to_contain_text("PC-483920")  # the Chinese custom action looked it up

    await say(shop, "我要转人工")
    await expect(shop.locator(".deskmate-handoff")).to_have_count(1)

    console = await open_page(browser, errors, locale="zh-CN")
    await sign_in_agent(console, base, "lin", PASSWORD)
    item = console.locator("#console-queue li").first
    await item.click()
    await console.click("#console-claim")
    await expect(shop.locator(".deskmate-agent-joined")).to_contain_text("小林 加入了对话")
    await console.fill("#console-reply", "您好，我是小林，您的订单明天送到。")
    await console.click("#console-send")
    await expect(shop.locator(".deskmate-msg.deskmate-agent")).to_contain_text("您的订单明天送到")
    await shop.screenshot(path=str(tmp_path / "shop-zh.png"))
    await console.screenshot(path=str(tmp_path / "console-zh.png"))
    assert errors == []
