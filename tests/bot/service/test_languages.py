"""Customers in other languages: the pipeline that reads them, and replies in their language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bus.inprocess import InProcessBus
from bot.core.events import BOT_REPLY, CUSTOMER_MESSAGE, VISIT
from bot.service.brain import CROSSLINGUAL, Brain
from bot.service.chat import ChatService, assist_event
from bot.service.pipeline import Pipeline
from bot.storage.store import InMemoryStore
from kb.loader import load_kb
from retrieval.embedder import HashingEmbedder
from retrieval.retriever import Retriever
from tests.kb.test_languages import write_kb
from training.memory import InMemoryIntentClassifier


def kettle_brain(tmp_path: Path, *, crosslingual: bool = False) -> Brain:
    """The kettle KB of tests/kb/test_languages.py: English with Chinese texts."""
    kb = load_kb(write_kb(tmp_path / "kb"))
    examples = {i.name: i.examples for i in kb.intents}
    examples["leak"] = (*examples["leak"], "水壶漏水了")
    other = None
    if crosslingual:
        other = Pipeline(InMemoryIntentClassifier(examples), Retriever.build(HashingEmbedder(), []), name=CROSSLINGUAL)
    classifier = InMemoryIntentClassifier(examples)
    return Brain.assemble(kb, classifier, Retriever.build(HashingEmbedder(), []), crosslingual=other)


def test_an_english_build_reads_other_languages_with_its_crosslingual_pipeline(tmp_path: Path) -> None:
    brain = kettle_brain(tmp_path, crosslingual=True)
    english, chinese, unknown = brain.understand(["my kettle leaks"] * 3, None, ["en", "zh", None])
    assert english.pipeline == "main" and chinese.pipeline == CROSSLINGUAL
    assert unknown.pipeline == "main"  # a message that does not say its language: the main pipeline
    assert brain.policy_for(chinese) is brain.crosslingual_policy and brain.policy_for(english) is brain.policy


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[ChatService]:
    chat = ChatService(store=InMemoryStore(), bus=InProcessBus(), brain=kettle_brain(tmp_path))
    try:
        yield chat
    finally:
        await chat.close()


async def test_the_greeting_is_in_the_browsers_language(service: ChatService) -> None:
    session = await service.open_session(None, language="zh")
    events = await service.store.events(session.conversation_id)
    assert [e.data for e in events if e.kind == VISIT] == [{"language": "zh"}]
    assert [e.data["text"] for e in events if e.kind == BOT_REPLY] == ["您好！"]


async def test_a_chinese_customer_is_answered_in_chinese(service: ChatService) -> None:
    session = await service.open_session(None)
    _, events = await service.customer_message(
        session.conversation_id, client_id="m1", text="水壶漏水了 my kettle leaks"
    )
    message = next(e for e in events if e.kind == CUSTOMER_MESSAGE)
    replies = [e.data for e in events if e.kind == BOT_REPLY]
    assert message.data["language"] == "zh"
    assert [r["text"] for r in replies] == ["我们会给您换一个。"]  # never the untranslated variation
    assert replies[0]["buttons"][0]["title"] == "营业时间"


async def test_a_language_the_kb_lacks_gets_one_notice_in_the_kbs_own(tmp_path: Path) -> None:
    chat = ChatService(store=InMemoryStore(), bus=InProcessBus(), brain=kettle_brain(tmp_path))
    try:
        session = await chat.open_session(None)
        notices = []
        for number, text in enumerate(["Mi hervidor gotea por todas partes", "El hervidor gotea otra vez hoy"]):
            _, events = await chat.customer_message(session.conversation_id, client_id=f"m{number}", text=text)
            notices += [e.data["text"] for e in events if e.kind == BOT_REPLY and e.data.get("notice") == "language"]
        assert notices == ["I can only reply in English, but I'll do my best to help."]
    finally:
        await chat.close()


def test_an_agent_is_offered_the_templates_in_the_customers_language(tmp_path: Path) -> None:
    brain = kettle_brain(tmp_path)
    (understanding,) = brain.understand(["my kettle leaks"])

    chinese = assist_event(understanding, brain, "m1", {}, "zh").data["items"]
    english = assist_event(understanding, brain, "m1", {}, None).data["items"]

    assert "我们会给您换一个。" in [item["text"] for item in chinese]
    assert "We will replace it." in [item["text"] for item in english]
