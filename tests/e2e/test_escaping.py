"""Hostile text through the widget, the agent console and the admin page, in headless Chromium.

Markup, script, ``javascript:`` links and a long bidirectional string travel every way text
reaches a page: customer messages and contact requests to the console (queue preview, transcript,
inbox), agent replies and a display name with markup to the widget, the KB's own texts (greeting,
templates with a customer-filled slot, buttons, clarification options, handoff, retrieved replies
as the agent's suggestions) to both, learned candidates and KB issues to the admin page. Each must
show as the literal text, never run (``window.__xss`` stays undefined) and never become elements.

The server answers with a cheap in-memory brain over a KB whose every text is hostile.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from bot.service.accounts import Accounts
from bot.service.brain import Brain
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.storage.candidates import CandidateStatus, InMemoryCandidateStore
from kb.model import SYSTEM_DEFAULTS, Button, EntityDefinition, Intent, KnowledgeBase, Template
from retrieval.embedder import HashingEmbedder
from retrieval.pairs import Pair
from retrieval.retriever import Retriever
from tests.e2e.server import agent, agent_accounts, customer, running_service
from training.memory import InMemoryIntentClassifier

pytestmark = pytest.mark.slow

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
LINK = '<a href="javascript:window.__xss=1">click me</a> javascript:window.__xss=1'
IFRAME = '<iframe src="javascript:parent.__xss=1"></iframe><b onmouseover=window.__xss=1>bold</b>'
RTL = " ".join(
    [
        "\u202eevil.exe\u202c",
        "שלום עולם",
        "مرحبا بالعالم",
        "Ｆｕｌｌ",
        "n\u0303\u0301",
        "👩\u200d💻",
        "\u2067isolate\u2069",
    ]
    * 14
)
PAYLOADS = [RTL, LINK, IFRAME, SCRIPT, IMG, SVG]  # the last one is the queue's preview

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "escaping-admin-token-0123456789"
NAME = '<img src=x onerror="window.__xss=1">Eve'  # the agent's display name
ASK_PERSON = "I want to talk to a real person"
EMAIL = "eve@example.com"
CONTACT = "call me back " + SCRIPT + " " + IMG

GREETING = "greeting " + IMG
CLARIFY = "clarify " + SCRIPT
HANDOFF = "handoff " + SVG
FALLBACK = "fallback " + LINK
LEAK_LABEL = "Leak " + IMG
HOURS_LABEL = "Hours " + SVG
BUTTON = "button " + SCRIPT
LEAK_REPLY = "leak " + SCRIPT + " for {ref}"
HOURS_REPLY = "hours " + LINK
RETRIEVED = "retrieved " + IFRAME
SLOT = "@@" + IMG + "@@"  # a customer-typed value the ``ref`` entity finds and the template inserts

# Where texts land on each page; none may hold an element made from a text.
INJECTED = "img, script, svg, iframe, a, b, object, embed, [onerror], [onload], [onmouseover]"
WIDGET_AREAS = ["#deskmate-root"]
CONSOLE_AREAS = ["#console-main", "#console-who", "#console-error"]
ADMIN_AREAS = ["#admin-main", "#admin-error"]


def hostile_brain() -> Brain:
    kb = KnowledgeBase(
        name="Shop " + IMG,
        description="",
        language="en",
        system={**SYSTEM_DEFAULTS, "greeting": GREETING, "clarify": CLARIFY, "handoff": HANDOFF, "fallback": FALLBACK},
        intents=(
            Intent("leak", LEAK_LABEL, ("kettle leaks badly",)),
            Intent("hours", HOURS_LABEL, ("shop open today",)),
        ),
        responses={"leak": (LEAK_REPLY,), "hours": (HOURS_REPLY,)},
        templates={
            "leak": (Template(LEAK_REPLY, (Button(BUTTON, "hours"),)),),
            "hours": (Template(HOURS_REPLY),),
        },
        faq=(),
        dialogues=(),
        entities=(EntityDefinition("ref", pattern="@@[^@]+@@"),),
    )
    classifier = InMemoryIntentClassifier({i.name: i.examples for i in kb.intents})
    pairs = [Pair("unrelated words about a refund", "unrelated words about a refund", RETRIEVED, "dialogue:d1#1")]
    return Brain.assemble(kb, classifier, Retriever.build(HashingEmbedder(), pairs))


@pytest.fixture(scope="module")
async def accounts() -> Accounts:
    return await agent_accounts(PASSWORD, eve=NAME)


@pytest.fixture(scope="module")
async def live(
    accounts: Accounts, kb_copy: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, ChatService, CandidateReview]]:
    review = CandidateReview(InMemoryCandidateStore(), kb_copy)
    async with running_service(
        hostile_brain(),
        tmp_path_factory.mktemp("db") / "escaping.sqlite3",
        kb_path=kb_copy,
        builds_dir=tmp_path_factory.mktemp("builds"),
        embedder=HashingEmbedder(),
        admin_token=ADMIN_TOKEN,
        accounts=accounts,
        review=review,
    ) as (base, service):
        yield base, service, review


async def open_page(browser: Browser, url: str, errors: list[str]) -> Page:
    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda exc: errors.append(f"{url}: {exc}"))
    page.on("dialog", lambda dialog: _refuse_dialog(dialog, url, errors))
    await page.goto(url)
    return page


async def _refuse_dialog(dialog: Dialog, url: str, errors: list[str]) -> None:
    errors.append(f"{url}: a dialog opened: {dialog.message}")
    await dialog.dismiss()


async def texts(page: Page, selector: str) -> list[str]:
    found: list[str] = await page.locator(selector).evaluate_all("nodes => nodes.map(n => n.textContent)")
    return found


async def shows(page: Page, selector: str, literal: str, *, exact: bool = False, timeout: float = 20.0) -> None:
    """Wait until an element matching ``selector`` holds ``literal`` as text (exactly, unnormalised)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await texts(page, selector)
        if any((t == literal) if exact else (literal in t) for t in found):
            return
        if loop.time() > deadline:
            raise AssertionError(f"{literal!r} is not shown as text in {selector}; found {found!r}")
        await asyncio.sleep(0.1)


async def assert_inert(page: Page, areas: list[str]) -> None:
    """Nothing ran and no element was made from a text."""
    assert await page.evaluate("() => typeof window.__xss") == "undefined"
    assert await page.evaluate("() => typeof parent.__xss") == "undefined"
    for area in areas:
        injected = await page.locator(area).first.evaluate(
            "(node, selector) => Array.from(node.querySelectorAll(selector)).map(n => n.outerHTML)", INJECTED
        )
        assert injected == [], f"elements were made from text in {area}: {injected}"


async def say(page: Page, text: str) -> None:
    await page.fill("#deskmate-input", text)
    await page.press("#deskmate-input", "Enter")


async def test_hostile_text_is_shown_literally_in_the_widget_and_the_console(
    live: tuple[str, ChatService, CandidateReview], browser: Browser
) -> None:
    base, _, _ = live
    errors: list[str] = []

    # The customer meets the bot: every text the KB sends is hostile.
    shop = await open_page(browser, f"http://{base}/", errors)
    await shop.click("#deskmate-launcher")
    await expect(shop.locator("#deskmate-status")).to_have_text("Online")
    bot = ".deskmate-bot .deskmate-text"
    await shows(shop, bot, GREETING, exact=True)
    await say(shop, f"kettle leaks badly {SLOT}")
    await shows(shop, bot, LEAK_REPLY.replace("{ref}", SLOT), exact=True)
    await shows(shop, ".deskmate-option", BUTTON, exact=True)
    await say(shop, "kettle open")
    await shows(shop, bot, CLARIFY, exact=True)
    await shows(shop, ".deskmate-option", LEAK_LABEL, exact=True)
    await shows(shop, ".deskmate-option", HOURS_LABEL, exact=True)
    await say(shop, ASK_PERSON)
    await shows(shop, ".deskmate-handoff .deskmate-text", HANDOFF, exact=True)

    # Nobody is online: the customer leaves a message, then keeps typing hostile text.
    await expect(shop.locator("#deskmate-contact")).to_be_visible()
    await shop.fill("#deskmate-contact-email", EMAIL)
    await shop.fill("#deskmate-contact-text", CONTACT)
    await shop.click("#deskmate-contact-send")
    for payload in PAYLOADS:
        await say(shop, payload)
        await shows(shop, ".deskmate-customer .deskmate-text", payload, exact=True)
    await expect(shop.locator(".deskmate-pending")).to_have_count(0)  # all stored

    # The agent signs in; the name, queue preview, inbox and transcript show text, nothing else.
    console = await open_page(browser, f"http://{base}/console", errors)
    await console.fill("#console-username", "eve")
    await console.fill("#console-password", PASSWORD)
    await console.click("#console-signin-button")
    await expect(console.locator("#console-main")).to_be_visible()
    await shows(console, "#console-who", NAME, exact=True)
    await shows(console, "#console-queue li .preview", PAYLOADS[-1], exact=True)
    await console.click("#console-inbox-refresh")
    await shows(console, "#console-inbox li .preview", CONTACT, exact=True)
    await shows(console, "#console-inbox li .reason", EMAIL)
    await console.locator("#console-queue li").first.click()
    transcript = "#console-transcript li"
    for payload in PAYLOADS:
        await shows(console, transcript + ".t-customer", payload)
    await shows(console, transcript + ".t-customer", SLOT)
    for said in (GREETING, LEAK_REPLY.replace("{ref}", SLOT), CLARIFY):
        await shows(console, transcript + ".t-bot", said)
    await shows(console, transcript + ".t-system", f"Left a message for follow-up: {EMAIL} — {CONTACT}", exact=True)
    # the suggestions for the last message: the KB's templates (with the slot) and a retrieved reply
    await shows(console, ".suggestion .text", RETRIEVED, exact=True)
    await shows(console, ".suggestion .text", LEAK_REPLY.replace("{ref}", SLOT), exact=True)

    # The agent takes over: the widget shows the display name as text.
    await console.click("#console-claim")
    await shows(shop, ".deskmate-agent-joined .deskmate-text", f"{NAME} joined the chat.", exact=True)
    await shows(shop, "#deskmate-status", f"Chatting with {NAME}", exact=True)
    await shows(console, transcript + ".t-system", f"{NAME} joined", exact=True)
    await expect(console.locator("#console-reply")).to_be_enabled()
    await console.locator(".suggestion .use-edit").first.click()
    assert await console.input_value("#console-reply") in (RETRIEVED, LEAK_REPLY.replace("{ref}", SLOT), HOURS_REPLY)
    await console.fill("#console-reply", "")
    await console.locator("#console-reply").press_sequentially("typing")  # tells the customer who types
    await shows(shop, "#deskmate-typing", f"{NAME} is typing…", exact=True)

    # The agent answers with hostile text; the customer sees it as text, under the name.
    for payload in PAYLOADS:
        await console.fill("#console-reply", payload)
        await console.click("#console-send")
        await shows(shop, ".deskmate-agent .deskmate-text", payload, exact=True)
        await shows(console, transcript + ".t-agent", payload)
    await shows(shop, ".deskmate-agent .deskmate-name", NAME, exact=True)

    # The customer reloads: the history is rendered again, by another path, as text.
    await shop.reload()
    await shop.click("#deskmate-launcher")
    await shows(shop, bot, GREETING, exact=True)
    await shows(shop, bot, LEAK_REPLY.replace("{ref}", SLOT), exact=True)
    await shows(shop, bot, CLARIFY, exact=True)
    await shows(shop, ".deskmate-option", LEAK_LABEL, exact=True)
    await shows(shop, ".deskmate-option", BUTTON, exact=True)
    await shows(shop, ".deskmate-handoff .deskmate-text", HANDOFF, exact=True)
    await shows(shop, ".deskmate-agent-joined .deskmate-text", f"{NAME} joined the chat.", exact=True)
    for payload in PAYLOADS:
        await shows(shop, ".deskmate-customer .deskmate-text", payload, exact=True)
        await shows(shop, ".deskmate-agent .deskmate-text", payload, exact=True)
    await shows(shop, ".deskmate-agent .deskmate-name", NAME, exact=True)

    # The agent closes the chat.
    await console.click("#console-close")
    await shows(shop, ".deskmate-closed .deskmate-text", f"{NAME} closed the chat. Thanks for getting in touch!")
    await shows(console, transcript + ".t-system", f"Closed by {NAME}", exact=True)

    await assert_inert(shop, WIDGET_AREAS)
    await assert_inert(console, CONSOLE_AREAS)
    assert errors == []


async def test_hostile_candidates_and_kb_issues_are_shown_literally_on_the_admin_page(
    live: tuple[str, ChatService, CandidateReview], browser: Browser, kb_copy: Path
) -> None:
    base, _, review = live
    question_parts = [IMG, SCRIPT, SVG]
    answer = " ".join([LINK, IFRAME, RTL])
    async with customer(base) as (client, hello), agent(base, "eve", PASSWORD) as (eve, _):
        conversation = hello["conversation_id"]
        assert (await client.say("m1", ASK_PERSON))["type"] == "handoff"
        assert (await eve.act("claim", "k1", conversation))["type"] == "ack"
        for number, part in enumerate(question_parts):
            await client.send({"type": "message", "id": f"q{number}", "text": part})
            await client.expect_where("ack", lambda f, n=number: f["id"] == f"q{n}")
        assert (await eve.act("reply", "r1", conversation, text=answer))["type"] == "ack"
    (candidate,) = [c for c in await review.store.list() if c.conversation_id == conversation]
    assert candidate.question == "\n".join(question_parts) and candidate.answer == answer  # nothing masked away

    errors: list[str] = []
    page = await open_page(browser, f"http://{base}/admin", errors)
    await page.fill("#admin-token", ADMIN_TOKEN)
    await page.click("#admin-signin-button")
    await expect(page.locator("#admin-main")).to_be_visible()
    await page.click("#tab-inbox")
    row = f'#admin-candidates tr[data-candidate="{candidate.id}"]'
    await shows(page, row + " td.detail", candidate.question, exact=True)
    assert await page.input_value(row + " textarea") == answer
    await shows(page, row + " td", "eve", exact=True)

    # An admin's edit goes back as text too, and the decision is shown.
    edited = "edited " + SVG + " " + IMG
    await page.fill(row + " textarea", edited)
    await page.click(row + " .candidate-approve")
    await expect(page.locator("#admin-status")).to_contain_text("Approved")
    await expect(page.locator(row)).to_have_count(0)
    decided = await review.store.get(candidate.id)
    assert decided is not None and decided.status is CandidateStatus.APPROVED and decided.answer == edited

    # A KB whose bad lines hold every payload is rejected; the issues name them as text.
    intents = kb_copy / "intents.yml"
    original = intents.read_text(encoding="utf-8")
    markup = [IMG, SCRIPT, SVG, LINK, IFRAME]
    bad = "".join(f"  - {json.dumps(p, ensure_ascii=False)}\n" * 2 for p in markup)
    intents.write_text(original.replace("out_of_scope:\n", "out_of_scope:\n" + bad, 1), encoding="utf-8")
    try:
        await page.click("#tab-kb")
        await page.click("#admin-reload")
        await expect(page.locator("#admin-status")).to_contain_text("rejected", timeout=60_000)
    finally:
        intents.write_text(original, encoding="utf-8")
    for payload in markup:
        await shows(page, "#admin-issues li", repr(payload))
    await expect(page.locator("#admin-history tbody tr").first).to_contain_text("rejected")

    await assert_inert(page, ADMIN_AREAS)
    assert errors == []
