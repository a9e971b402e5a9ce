"""Human handoff over real websockets: three customers, two agents, racing claims, assist,
hand-back, and a customer whose connection is cut mid-exchange."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.server import Client, agent, agent_accounts, customer, running_service

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
ASK_PERSON = "I want to talk to a real person"


@pytest.fixture(scope="module")
async def desk(demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, ChatService]]:
    accounts = await agent_accounts(PASSWORD, sam="Sam", alex="Alex")
    db = tmp_path_factory.mktemp("db") / "handoff.sqlite3"
    async with running_service(demo_brain, db, accounts=accounts) as running:
        yield running


def waiting(frame: dict[str, Any], *conversation_ids: str) -> bool:
    ids = {i["conversation_id"] for i in frame["items"] if i["state"] == "WAITING_FOR_AGENT"}
    return set(conversation_ids) <= ids


async def test_handoff_claims_assist_hand_back_and_a_cut_connection(
    desk: tuple[str, ChatService], demo_brain: Brain
) -> None:
    base, _ = desk
    async with customer(base) as (first, hello1), customer(base) as (second, hello2), customer(base) as (third, _):
        c1, c2 = hello1["conversation_id"], hello2["conversation_id"]
        assert (await first.say("m1", ASK_PERSON))["type"] == "handoff"
        assert (await second.say("m1", ASK_PERSON))["type"] == "handoff"
        nobody = await first.expect("queue")
        assert nobody["agents_online"] == 0  # the widget offers to leave a message

        async with agent(base, "sam", PASSWORD) as (sam, _), agent(base, "alex", PASSWORD) as (alex, _):
            queue = await sam.expect_where("queue", lambda f: waiting(f, c1, c2))
            item = next(i for i in queue["items"] if i["conversation_id"] == c1)
            assert item["reason"] == "explicit_request" and item["preview"] == ASK_PERSON
            await alex.expect_where("queue", lambda f: waiting(f, c1, c2))
            position = await second.expect_where("queue", lambda f: f["agents_online"] == 2)
            assert position["position"] in (1, 2)

            # Both agents click "claim" at once: exactly one gets the conversation.
            results = await asyncio.gather(sam.act("claim", "k1", c1), alex.act("claim", "k1", c1))
            assert sorted(r["type"] for r in results) == ["ack", "error"]
            loser = results[0] if results[0]["type"] == "error" else results[1]
            assert loser["code"] == "conflict" and "already taken" in loser["message"]
            winner = sam if results[0]["type"] == "ack" else alex
            other = alex if winner is sam else sam
            joined = await first.expect("agent_joined")
            assert joined["name"] in ("Sam", "Alex")

            await winner.send({"type": "open", "conversation_id": c1})
            transcript = await winner.expect_where("transcript", lambda f: f["conversation_id"] == c1)
            assert [e["kind"] for e in transcript["events"]][:2] == ["bot_reply", "customer_message"]

            # The bot stays silent; the agent gets the customer's message and three suggestions.
            await first.send({"type": "message", "id": "m2", "text": "Where is my order? It is late."})
            await first.expect("ack")
            suggestions = await winner.expect_where("event", lambda f: f["event"]["kind"] == "suggestions")
            assert suggestions["event"]["reply_to"] == "m2"
            assert 1 <= len(suggestions["event"]["items"]) <= 3
            assert suggestions["event"]["intent"] == "order_status"
            assert (await winner.act("reply", "r1", c1, text=suggestions["event"]["items"][0]["text"]))["type"] == "ack"
            message = await first.expect("agent_message")
            assert message["text"] == suggestions["event"]["items"][0]["text"]
            assert message["id"].startswith("e") and "sam" not in message["id"]  # no agent login on the wire

            # Typing shows on the other side.
            await winner.send({"type": "typing", "conversation_id": c1, "on": True})
            assert (await first.expect("typing"))["on"] is True

            # The other agent takes the second customer and closes it.
            assert (await other.act("claim", "k2", c2))["type"] == "ack"
            assert (await other.act("close", "x2", c2))["type"] == "ack"
            await second.expect("closed")
            reopened = await _welcome(base, hello2["session"])  # a closed conversation is over
            assert reopened["conversation_id"] != c2 and reopened["session"] != hello2["session"]
            missing = await other.act("claim", "k3", "c_" + "0" * 32)
            assert missing["type"] == "error" and "no conversation" in missing["message"]

            # The customer's connection is cut mid-exchange: a message sent, not yet acknowledged,
            # while the agent answers. After reconnecting, everything is there exactly once.
            token = hello1["session"]
            await first.send({"type": "message", "id": "m3", "text": "Also, can I change the address?"})
            first.ws.transport.abort()  # no closing handshake: like a laptop lid closing
            assert (await winner.act("reply", "r2", c1, text="Yes, tell me the new address."))["type"] == "ack"
            assert (await winner.act("reply", "r2", c1, text="Yes, tell me the new address."))["type"] == "ack"
            async with connect(f"ws://{base}/ws/customer") as ws:
                again = Client(ws)
                await again.send({"type": "hello", "session": token})
                welcome = await again.expect("welcome")
                ids = [h["id"] for h in welcome["history"]]
                assert len(ids) == len(set(ids)), "a message appears twice"
                texts = [h["text"] for h in welcome["history"]]
                assert texts.count("Yes, tell me the new address.") == 1  # the resent reply is stored once
                await again.send({"type": "message", "id": "m3", "text": "Also, can I change the address?"})
                await again.expect("ack")  # stored once, whether or not the cut lost it
                history = (await _welcome(base, token))["history"]
                assert [h["id"] for h in history].count("m3") == 1
                assert [h["role"] for h in history].count("agent") == 2

                # Hand back: the bot answers again.
                assert (await winner.act("hand_back", "b1", c1))["type"] == "ack"
                await again.expect("handed_back")
                reply = await again.say("m4", "How much is delivery?")
                assert reply["type"] == "reply" and reply["text"] in demo_brain.kb.responses["shipping_cost"]

        # the third customer was never handed off and the bot kept answering
        assert (await third.say("m1", "Where is my order?"))["type"] == "reply"


async def _welcome(base: str, token: str) -> dict[str, Any]:
    async with connect(f"ws://{base}/ws/customer") as ws:
        client = Client(ws)
        await client.send({"type": "hello", "session": token})
        return await client.expect("welcome")


async def test_wrong_password_is_refused_and_no_account_store_disables_the_console(
    desk: tuple[str, ChatService], demo_brain: Brain, tmp_path: Path
) -> None:
    base, _ = desk
    async with connect(f"ws://{base}/ws/agent") as ws:
        client = Client(ws)
        await client.send({"type": "login", "username": "sam", "password": "not the password"})
        refusal = await client.expect("error")
    assert refusal["code"] == "unauthorized" and "wrong username or password" in refusal["message"]

    async with (
        running_service(demo_brain, tmp_path / "x.sqlite3") as (plain, _),
        connect(f"ws://{plain}/ws/agent") as ws,
    ):
        client = Client(ws)
        await client.send({"type": "login", "username": "sam", "password": PASSWORD})
        off = await client.expect("error")
    assert off["code"] == "console_disabled" and "deskmate users add" in off["message"]
