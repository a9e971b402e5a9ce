"""No message text in the logs at INFO or above (customer privacy; STYLE.md: logging).

A whole conversation runs end to end against the real server with the demo build, every logger
captured at DEBUG: bot answers with an order id, a handoff, a message left for follow-up, an
agent who claims, replies, hands back, claims again and closes, the admin approving and
discarding what was learned, and some refused frames, sign-ins and sessions. Every text any of
them sent carries a unique marker; no record at INFO or above may hold one.

A cheap second test makes a model server fail with an error that echoes the customer's words
(some servers and proxies do); that error text must stay out of the logs too.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from bot.core.policy import PolicyConfig
from bot.generation import OpenAICompatibleGenerator
from bot.ops.config import DEMO_KB
from bot.service.brain import Brain
from bot.service.candidates import CandidateReview
from bot.storage.candidates import InMemoryCandidateStore
from retrieval.embedder import HashingEmbedder
from retrieval.retriever import Retriever
from tests.bot.fake_openai_server import FakeOpenAIServer
from tests.bot.service.test_brain import KB, PAIRS
from tests.e2e.server import Client, agent, agent_accounts, customer, running_service
from training.memory import InMemoryIntentClassifier

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "privacy-admin-token-0123456789"

ORDER = "PC-482913"  # an order id: the demo KB's entity fills it into the bot's reply
EMAIL_IN_TEXT = "heron-3141@example.com"
CONTACT_EMAIL = "walrus-5519@example.com"
ASK_ORDER = f"Where is my order {ORDER}? zebra-7731"
ASK_PERSON = "I want to talk to a real person about quokka-4402"
CONTACT_TEXT = "Please call me back narwhal-8812"
WITH_AGENT = f"My parcel is lost ocelot-3390, write to {EMAIL_IN_TEXT}"
AGENT_REPLY = "Sorry about that pangolin-6621, I am sending a new one"
AFTER_HAND_BACK = "Thanks tapir-9045, where is my order?"
ASK_AGAIN = "Let me speak to a human agent ibex-2287"
STILL_THERE = "Are you still there? puffin-5772"
AGENT_REPLY_2 = "Closing this chat now okapi-1178"
TOO_LATE = "A reply to a closed chat vole-2718"
EDITED = "An edited answer lemur-4456"
WRONG_PASSWORD = "hunter2-cobra-5150"
BAD_JSON = '{"type": "message", "id": "bad", "text": "kiwi-6060"'
TOO_LONG = "gecko-7070 " + "x" * 2000
FORGED_SESSION = "forged-session-marmot-9931"

MARKERS = [
    ORDER,
    EMAIL_IN_TEXT,
    CONTACT_EMAIL,
    "zebra-7731",
    "quokka-4402",
    "narwhal-8812",
    "ocelot-3390",
    "pangolin-6621",
    "tapir-9045",
    "ibex-2287",
    "puffin-5772",
    "okapi-1178",
    "vole-2718",
    "lemur-4456",
    WRONG_PASSWORD,
    PASSWORD,
    ADMIN_TOKEN,
    "kiwi-6060",
    "gecko-7070",
    "marmot-9931",
]


async def _admin(base: str, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send admin frames one by one; the answer to each (its ``decided`` or ``candidates``)."""
    answers = []
    async with connect(f"ws://{base}/ws/admin") as ws:
        admin = Client(ws)
        await admin.send({"type": "auth", "token": ADMIN_TOKEN})
        await admin.expect("authed")
        for frame in frames:
            await admin.send(frame)
            answers.append(await admin.expect_where("candidates", lambda f, i=frame["id"]: f["id"] == i))
    return answers


async def _conversation(base: str, demo_brain: Brain) -> None:
    async with customer(base) as (shopper, hello):
        conversation = hello["conversation_id"]
        reply = await shopper.say("m1", ASK_ORDER)
        assert reply["type"] == "reply" and ORDER in reply["text"], reply  # the slot was filled
        assert (await shopper.say("m2", ASK_PERSON))["type"] == "handoff"
        await shopper.expect_where("queue", lambda f: f["agents_online"] == 0)
        await shopper.send({"type": "contact", "id": "c1", "email": CONTACT_EMAIL, "text": CONTACT_TEXT})
        await shopper.expect_where("ack", lambda f: f["id"] == "c1")

        async with connect(f"ws://{base}/ws/agent") as ws:  # a wrong password first
            await ws.send(json.dumps({"type": "login", "username": "sam", "password": WRONG_PASSWORD}))
            assert (await Client(ws).expect("error"))["code"] == "unauthorized"

        async with agent(base, "sam", PASSWORD) as (sam, _):
            assert (await sam.act("claim", "k1", conversation))["type"] == "ack"
            await sam.send({"type": "open", "conversation_id": conversation})
            await sam.expect("transcript")
            await shopper.send({"type": "message", "id": "m3", "text": WITH_AGENT})
            await sam.expect_where("event", lambda f: f["event"]["kind"] == "suggestions")
            await shopper.send({"type": "typing", "on": True})
            await sam.send({"type": "typing", "conversation_id": conversation, "on": True})
            assert (await sam.act("reply", "r1", conversation, text=AGENT_REPLY))["type"] == "ack"
            assert (await shopper.expect("agent_message"))["text"] == AGENT_REPLY
            await sam.send({"type": "inbox"})
            inbox = await sam.expect("inbox")
            assert any(item["text"] == CONTACT_TEXT for item in inbox["items"])
            await sam.send({"type": "export", "conversation_id": conversation})
            await sam.expect("export")

            assert (await sam.act("hand_back", "b1", conversation))["type"] == "ack"
            await shopper.expect("handed_back")
            assert (await shopper.say("m4", AFTER_HAND_BACK))["type"] in ("reply", "clarify")
            assert (await shopper.say("m5", ASK_AGAIN))["type"] == "handoff"
            assert (await sam.act("claim", "k2", conversation))["type"] == "ack"
            await shopper.send({"type": "message", "id": "m6", "text": STILL_THERE})
            await sam.expect_where("event", lambda f: f["event"].get("reply_to") == "m6")
            assert (await sam.act("reply", "r2", conversation, text=AGENT_REPLY_2))["type"] == "ack"
            assert (await sam.act("close", "x1", conversation))["type"] == "ack"
            await shopper.expect("closed")
            refused = await sam.act("reply", "r3", conversation, text=TOO_LATE)
            assert refused["type"] == "error", refused
            await sam.send({"type": "logout"})

    # Refused frames and sessions from another customer.
    async with connect(f"ws://{base}/ws/customer") as ws:
        stranger = Client(ws)
        await stranger.send({"type": "hello", "session": FORGED_SESSION})
        assert (await stranger.expect("error"))["code"] == "session_unknown"
        await stranger.send({"type": "hello", "session": None})
        await stranger.expect("welcome")
        await ws.send(BAD_JSON)
        assert (await stranger.expect("error"))["code"] == "bad_json"
        await stranger.send({"type": "message", "id": "m1", "text": TOO_LONG})
        assert (await stranger.expect("error"))["code"] == "too_long"
        await stranger.send({"type": "contact", "id": "c1", "email": "not-an-email", "text": CONTACT_TEXT})
        assert (await stranger.expect("error"))["code"] == "bad_email"

    # The admin goes through what was learned: one approved with an edit, one discarded.
    (listed,) = await _admin(base, [{"type": "candidates", "id": "l1"}])
    mine = [c for c in listed["items"] if c["conversation_id"] == conversation]
    assert {c["answer"] for c in mine} == {AGENT_REPLY, AGENT_REPLY_2}
    first, second = mine
    await _admin(
        base,
        [
            {"type": "approve", "id": "a1", "candidate": first["id"], "answer": EDITED},
            {"type": "discard", "id": "d1", "candidate": second["id"]},
        ],
    )


@pytest.mark.slow  # the demo build
async def test_message_text_never_reaches_the_logs_at_info(
    demo_brain: Brain, embedder: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: the records are checked below
    caplog.set_level(logging.DEBUG, logger="websockets")  # a CLI test before may have quietened it
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    accounts = await agent_accounts(PASSWORD, sam="Sam")
    async with running_service(
        demo_brain,
        tmp_path / "privacy.sqlite3",
        kb_path=kb,
        builds_dir=tmp_path / "builds",
        embedder=embedder,
        admin_token=ADMIN_TOKEN,
        accounts=accounts,
        review=CandidateReview(InMemoryCandidateStore(), kb),
    ) as (base, _):
        await _conversation(base, demo_brain)

    formatter = logging.Formatter()
    leaks = []
    for record in caplog.records:
        if record.levelno < logging.INFO:
            continue
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + formatter.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        found = [marker for marker in MARKERS if marker in text]
        if found:
            leaks.append(f"{record.pathname}:{record.lineno} {record.levelname} {found}: {text[:300]!r}")
    assert leaks == [], "message text logged at INFO or above:\n" + "\n".join(leaks)

    # the check looked at real lines: one per turn, each naming its conversation
    logged = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert any(name == "bot.service.chat" and "turn handled" in message for name, message in logged), logged
    assert any(name == "bot.service.desk" and "claimed by sam" in message for name, message in logged), logged
    assert any(name == "bot.service.candidates" and "approved by admin" in message for name, message in logged), logged
    # and the markers did reach the DEBUG records where a library logs frames, so they were catchable
    assert any("zebra-7731" in r.getMessage() for r in caplog.records if r.levelno < logging.INFO)


async def test_a_model_servers_error_text_stays_out_of_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model server (or a proxy before it) may echo the prompt, so the customer's words, in its error."""

    question = "Is the kettle safe to use? badger-4711"
    fake = await FakeOpenAIServer(mode="status", status=400, error_message=f"content refused: {question}").start()
    always_generate = PolicyConfig(
        answer_threshold=1.01, retrieval_threshold=1.01, generation_min_score=0.0, generate=True
    )

    brain = Brain.assemble(
        KB,
        InMemoryIntentClassifier({i.name: i.examples for i in KB.intents}),
        Retriever.build(HashingEmbedder(), PAIRS),
        policy_config=always_generate,
    )
    caplog.set_level(logging.DEBUG)
    try:
        generator = OpenAICompatibleGenerator(fake.base_url, "some-model", timeout=5.0)
        async with (
            running_service(brain, tmp_path / "g.sqlite3", generator=generator) as (base, _),
            customer(base) as (client, _),
        ):
            reply = await client.say("m1", question)
    finally:
        await fake.close()
    assert reply["type"] in ("reply", "clarify", "handoff") and reply.get("source") != "generated"  # generation failed
    leaked = [
        f"{r.pathname}:{r.lineno} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.INFO and "badger-4711" in r.getMessage()
    ]
    assert leaked == []
