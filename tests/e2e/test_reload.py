"""Live KB reload on the real server: under load, with a broken KB, rollback, and admin auth.

The KB is a copy of the demo KB whose replies are edited between reloads; its intents do not
change, so each reload reuses the session's trained classifier and only re-embeds (seconds).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from bot.cli.admin_client import admin_change, admin_versions
from bot.errors import DeskmateError
from bot.service.brain import Brain
from bot.service.candidates import CandidateReview
from bot.service.chat import ChatService
from bot.storage.candidates import InMemoryCandidateStore
from tests.e2e.server import Client, agent, agent_accounts, customer, running_service

pytestmark = pytest.mark.slow

TOKEN = "test-admin-token-0123456789"
AGENT_PASSWORD = "correct horse battery"
QUESTION = "How much is delivery?"
NEW_REPLY = "RELOADED: UK delivery is £4.95, free over £50."
CUSTOMERS = 20


@pytest.fixture(scope="module")
async def live(
    demo_brain: Brain, demo_builds_dir: Path, embedder: Any, kb_copy: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, ChatService]]:
    db = tmp_path_factory.mktemp("db") / "reload.sqlite3"
    accounts = await agent_accounts(AGENT_PASSWORD, sam="Sam")
    async with running_service(
        demo_brain,
        db,
        kb_path=kb_copy,
        builds_dir=demo_builds_dir,
        embedder=embedder,
        admin_token=TOKEN,
        accounts=accounts,
        review=CandidateReview(InMemoryCandidateStore(), kb_copy),
    ) as running:
        yield running


def set_delivery_reply(kb: Path, text: str) -> None:
    path = kb / "responses.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("  shipping_cost:")
    end = start + 1
    while lines[end].startswith("    - "):
        end += 1
    lines[start + 1 : end] = [f"    - {json.dumps(text)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def test_admin_is_refused_without_a_configured_token_or_with_a_wrong_one(
    demo_brain: Brain, live: tuple[str, ChatService], tmp_path: Path
) -> None:
    base, _ = live
    with pytest.raises(DeskmateError, match=r"refused the admin token.*auth"):
        await admin_versions(base, "not-the-token-at-all")

    async with (
        running_service(demo_brain, tmp_path / "plain.sqlite3") as (plain, _),
        connect(f"ws://{plain}/ws/admin") as ws,
    ):
        await ws.send(json.dumps({"type": "auth", "token": TOKEN}))
        refusal = json.loads(await ws.recv())
    assert refusal["code"] == "admin_disabled"
    assert "DESKMATE_ADMIN_TOKEN" in refusal["message"]


async def test_a_broken_kb_is_rejected_with_file_and_line_and_the_old_version_keeps_serving(
    live: tuple[str, ChatService], kb_copy: Path
) -> None:
    base, service = live
    serving = service.brain.build_id
    intents = kb_copy / "intents.yml"
    original = intents.read_text(encoding="utf-8")
    broken = original.replace("      - hiya\n", "      - hiya\n      - Hiya\n", 1)
    assert broken != original
    intents.write_text(broken, encoding="utf-8")
    try:
        done = await admin_change(base, TOKEN, {"type": "reload", "id": "r-broken"})
    finally:
        intents.write_text(original, encoding="utf-8")

    assert done["record"]["outcome"] == "rejected"
    (issue,) = done["issues"]
    assert issue["file"] == "intents.yml"
    assert original.splitlines()[issue["line"] - 2].strip() == "- hiya"  # the duplicate, one line below
    assert "duplicate example" in issue["message"]
    assert service.brain.build_id == serving
    async with customer(base) as (client, _):
        reply = await client.say("m1", QUESTION)
    assert reply["text"] in service.brain.kb.responses["shipping_cost"]
    versions = await admin_versions(base, TOKEN)
    assert versions["history"][0]["outcome"] == "rejected"
    assert versions["serving"] == serving


async def _chat_until(base: str, stop: asyncio.Event, during: list[int], reloading: asyncio.Event) -> dict[str, Any]:
    async with customer(base) as (client, _):
        sent = 0
        answers: list[dict[str, Any]] = []
        while not stop.is_set():
            reply = await client.say(f"m{sent}", QUESTION)
            sent += 1
            answers.append(reply)
            if reloading.is_set() and not stop.is_set():
                during.append(1)
        after = await client.say(f"m{sent}", QUESTION)
        sent += 1
        answers.append(after)
        errors = [frame for frame in client.seen if frame["type"] == "error"]
        return {"sent": sent, "answers": answers, "errors": errors}


async def test_reload_under_twenty_concurrent_customers_loses_nothing_and_switches_answers(
    live: tuple[str, ChatService], kb_copy: Path
) -> None:
    base, service = live
    old_build = service.brain.build_id
    old_replies = set(service.brain.kb.responses["shipping_cost"])
    set_delivery_reply(kb_copy, NEW_REPLY)
    stop, reloading = asyncio.Event(), asyncio.Event()
    during: list[int] = []
    chats = [asyncio.create_task(_chat_until(base, stop, during, reloading)) for _ in range(CUSTOMERS)]
    await asyncio.sleep(1.0)  # every customer is mid-conversation before the reload starts

    reloading.set()
    done = await admin_change(base, TOKEN, {"type": "reload", "id": "r-live"})
    stop.set()
    results = await asyncio.gather(*chats)

    assert done["record"]["outcome"] == "serving", done
    assert done["record"]["build_id"] != old_build
    assert sum(during) > 0, "no customer message was handled while the reload ran"
    for result in results:
        assert result["errors"] == []
        assert len(result["answers"]) == result["sent"]  # every message answered
        assert all(a["type"] == "reply" for a in result["answers"])
        assert {a["text"] for a in result["answers"][:-1]} <= old_replies | {NEW_REPLY}
        assert result["answers"][-1]["text"] == NEW_REPLY  # sent after the swap
    versions = await admin_versions(base, TOKEN)
    assert versions["serving"] == done["record"]["build_id"]
    assert versions["history"][0]["action"] == "reload" and versions["history"][0]["actor"] == "admin"


async def test_rollback_serves_the_earlier_build_again(live: tuple[str, ChatService]) -> None:
    base, service = live
    history = (await admin_versions(base, TOKEN))["history"]
    earlier = next(r["build_id"] for r in history if r["outcome"] == "serving" and r["detail"].startswith("was "))
    previous = history[0]["detail"].removeprefix("was ")
    assert earlier != previous

    done = await admin_change(base, TOKEN, {"type": "rollback", "id": "rb", "build": previous})

    assert done["record"]["outcome"] == "serving"
    assert service.brain.build_id == previous
    async with customer(base) as (client, _):
        reply = await client.say("m1", QUESTION)
    assert reply["text"] != NEW_REPLY
    missing = await admin_change(base, TOKEN, {"type": "rollback", "id": "rb2", "build": "no-such-build"})
    assert missing["record"]["outcome"] == "failed" and "known builds" in missing["record"]["detail"]
    assert service.brain.build_id == previous


async def _admin(base: str, frame: dict[str, Any], answer: str) -> dict[str, Any]:
    async with connect(f"ws://{base}/ws/admin") as ws:
        client = Client(ws)
        await client.send({"type": "auth", "token": TOKEN})
        await client.expect("authed")
        await client.send(frame)
        try:
            return await client.expect(answer, timeout=10)
        except TimeoutError:
            raise AssertionError(f"no {answer!r} frame; got {client.seen}") from None


async def test_an_agents_reply_becomes_a_candidate_and_once_approved_serves_after_a_reload(
    live: tuple[str, ChatService], kb_copy: Path
) -> None:
    base, service = live
    question = "Do your tents come with a guarantee against leaks?"
    answer = "Yes: every tent has a two-year guarantee against leaks; email tents@pinecone.example with a photo."
    async with customer(base) as (client, hello), agent(base, "sam", AGENT_PASSWORD) as (sam, _):
        conversation = hello["conversation_id"]
        assert (await client.say("m1", "I want to talk to a real person"))["type"] == "handoff"
        assert (await sam.act("claim", "k1", conversation))["type"] == "ack"
        await client.send({"type": "message", "id": "m2", "text": question})
        await client.expect("ack")
        assert (await sam.act("reply", "r1", conversation, text=answer))["type"] == "ack"
        assert (await client.expect("agent_message"))["text"] == answer

    listed = await _admin(base, {"type": "candidates", "id": "c1"}, "candidates")
    (candidate,) = [c for c in listed["items"] if c["conversation_id"] == conversation]
    masked = answer.replace("tents@pinecone.example", "{email}")  # personal data never reaches the KB
    assert candidate["question"] == question and candidate["answer"] == masked and candidate["agent"] == "sam"
    decided = await _admin(base, {"type": "approve", "id": "a1", "candidate": candidate["id"]}, "decided")
    assert decided["candidate"]["status"] == "approved"
    assert (kb_copy / "approved.jsonl").is_file()

    done = await admin_change(base, TOKEN, {"type": "reload", "id": "r-learn"})
    assert done["record"]["outcome"] == "serving", done
    learned = [p for p in service.brain.retriever.pairs if p.source.startswith("approved:")]
    assert [(p.customer, p.reply) for p in learned] == [(question, masked)]
