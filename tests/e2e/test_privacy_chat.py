"""Truth for this customer, over real websockets: a customer's own order number never brings back
another customer's, and an agent's suggestions show ``{order_id}`` or this customer's number only.

The demo KB's past dialogues hold other customers' order numbers and addresses (d0009, d0011,
d0021): the customers here say the same things with their own values.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.ops.config import DEMO_KB
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.e2e.server import agent, agent_accounts, customer, running_service

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
ORDER = re.compile(r"PC-\d{6}")
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


def past_values() -> set[str]:
    """Every order number and postcode in the demo's past dialogues: other customers' data."""
    values: set[str] = set()
    for line in (DEMO_KB / "dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        for turn in json.loads(line)["turns"]:
            values.update(ORDER.findall(turn["text"]), POSTCODE.findall(turn["text"]))
    return values - {"PC-123456"}  # the shop's own example of the format


@pytest.fixture(scope="module")
async def desk(demo_brain: Brain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, ChatService]]:
    accounts = await agent_accounts(PASSWORD, sam="Sam")
    db = tmp_path_factory.mktemp("db") / "privacy.sqlite3"
    async with running_service(demo_brain, db, accounts=accounts) as running:
        yield running


def others_in(text: str, own: set[str]) -> set[str]:
    return {v for v in past_values() if v in text and v not in own}


async def test_a_customers_own_order_number_never_brings_back_anothers(desk: tuple[str, ChatService]) -> None:
    base, _ = desk
    conversations: list[list[str]] = [
        ["how do i return something I bought as a guest?", "I deleted that email", "it's PC-998834"],
        ["Can you deliver to my office instead? I'm never home", "PC-990481, Fellwalker Design Ltd, 2 Mill Yard, Bristol ZZ9 9ZZ"],
        ["Hi, I've just realised I put my old address on my order", "PC-771932, it should go to 9 Birch Close, York, YO1 7HH"],
    ]
    for turns in conversations:
        own = set(ORDER.findall(" ".join(turns))) | set(POSTCODE.findall(" ".join(turns)))
        async with customer(base) as (client, _):
            for number, text in enumerate(turns):
                reply = await client.say(f"m{number}", text)
                if reply["type"] == "handoff":
                    break
                assert not others_in(reply["text"], own), reply["text"]
                assert "{" not in reply["text"], reply["text"]  # no unfilled placeholder reaches a customer
                for claim in ("I've sent", "I've updated", "All done", "will now go to"):
                    assert claim not in reply["text"], reply["text"]


async def test_suggestions_show_a_placeholder_or_this_customers_number_never_anothers(
    desk: tuple[str, ChatService],
) -> None:
    base, _ = desk
    async with customer(base) as (client, hello), agent(base, "sam", PASSWORD) as (sam, _):
        conversation = hello["conversation_id"]
        assert (await client.say("m1", "I want to talk to a real person"))["type"] == "handoff"
        assert (await sam.act("claim", "k1", conversation))["type"] == "ack"
        await sam.send({"type": "open", "conversation_id": conversation})
        await sam.expect_where("transcript", lambda f: f["conversation_id"] == conversation)

        seen: list[dict[str, Any]] = []
        for number, text in enumerate(
            ["I put my old address on my order", "PC-556120, it should go to 3 Elm Row, Hull, HU1 2AA", "thanks"]
        ):
            await client.send({"type": "message", "id": f"m{number + 2}", "text": text})
            await client.expect("ack")
            frame = await sam.expect_where(
                "event", lambda f, n=number: f["event"]["kind"] == "suggestions" and f["event"]["reply_to"] == f"m{n + 2}"
            )
            seen.extend(frame["event"]["items"])

        assert seen, "the agent got no suggestions"
        own = {"PC-556120", "HU1 2AA"}
        for item in seen:
            assert not others_in(item["text"], own), item
        mentions = [item for item in seen if "order_id" in item.get("placeholders", []) or "PC-556120" in item["text"]]
        for item in mentions:
            assert "{order_id}" in item["text"] or "PC-556120" in item["text"]
