"""Generated replies through the chat service: streamed to the customer over the real websocket
from a fake OpenAI-compatible server on loopback, each sentence checked before it is sent;
errors, timeouts and failed checks leave the answer to the policy's next rules. The policy
thresholds are set so that the message goes to generation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.events import BOT_REPLY, CLARIFY, HANDOFF
from bot.core.policy import PolicyConfig
from bot.generation import OpenAICompatibleGenerator
from bot.service.brain import Brain
from tests.bot.fake_openai_server import FakeOpenAIServer
from tests.e2e.server import customer, running_service

pytestmark = pytest.mark.slow

QUESTION = "Do you ship to Germany?"


def generating(brain: Brain) -> Brain:
    """The demo brain with a policy that generates for anything not answered exactly."""
    config = PolicyConfig(answer_threshold=1.01, retrieval_threshold=1.01, generation_min_score=0.0, generate=True)
    return Brain.assemble(
        brain.kb,
        brain.classifier,
        brain.retriever,
        examples=brain.examples,
        policy_config=config,
        build_id=brain.build_id,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAIServer]:
    server = await FakeOpenAIServer().start()
    yield server
    await server.close()


async def _ask(brain: Brain, db: Path, fake: FakeOpenAIServer, *, timeout: float = 5.0) -> dict[str, Any]:
    generator = OpenAICompatibleGenerator(fake.base_url, "smollm2-135m", timeout=timeout)
    async with (
        running_service(generating(brain), db, generator=generator) as (base, service),
        customer(base) as (
            client,
            hello,
        ),
    ):
        reply = await client.say("m1", QUESTION)
        events = await service.store.events(hello["conversation_id"])
    (stored,) = [e for e in events if e.kind in (BOT_REPLY, CLARIFY, HANDOFF) and e.data.get("reply_to") == "m1"]
    deltas = [f for f in client.seen if f["type"] == "reply_delta"]
    return {"reply": reply, "deltas": deltas, "data": stored.data}


SUPPORTED = ["Yes, we ship ", "to Germany and every ", "other EU country. ", "Delivery to the EU costs £9.95, ", "free over £120."]


async def test_a_grounded_answer_streams_to_the_customer_sentence_by_sentence(
    demo_brain: Brain, tmp_path: Path, fake: FakeOpenAIServer
) -> None:
    fake.deltas = SUPPORTED
    turn = await _ask(demo_brain, tmp_path / "g.sqlite3", fake)

    reply = turn["reply"]
    assert reply["source"] == "generated" and reply["text"] == "".join(SUPPORTED)
    assert [d["text"] for d in turn["deltas"]] == [  # each sentence held back until it was checked
        "Yes, we ship to Germany and every other EU country. ",
        "Delivery to the EU costs £9.95, free over £120.",
    ]
    assert {d["stream"] for d in turn["deltas"]} == {reply["stream"]}
    assert all(d["reply_to"] == "m1" for d in turn["deltas"])
    (request,) = fake.requests
    system, user = request.body["messages"]
    assert system["role"] == "system" and "Pinecone Outfitters" in system["content"]
    best = demo_brain.retriever.search(QUESTION, top_k=1)[0].reply
    assert QUESTION in user["content"] and best in user["content"]  # grounded in the retrieved replies
    assert turn["data"]["rule"] == "grounded_generation"


@pytest.mark.parametrize("mode", ["status", "slow_first", "error_event"])
async def test_a_failing_generator_leaves_the_answer_to_the_next_rules(
    demo_brain: Brain, tmp_path: Path, fake: FakeOpenAIServer, mode: str
) -> None:
    fake.mode, fake.pause = mode, 5.0
    turn = await _ask(demo_brain, tmp_path / f"{mode}.sqlite3", fake, timeout=1.0)

    assert turn["data"].get("source") != "generated" and turn["data"]["rule"] != "grounded_generation"
    assert turn["data"]["generation_error"]
    assert turn["data"]["stream"]  # the widget replaces the streamed part with this reply


@pytest.mark.parametrize(
    ("deltas", "failure"),
    [
        (["Parcels ", "reach Berlin ", "in 2", " days."], "unsupported"),  # the KB says 4-8 working days to the EU
        (["Yes. ", "I'm a support agent ", "at Pinecone Outfitters."], "persona"),
        (["Yes, we ship to Germany. ", "Your order PC-771203 ", "left on Monday."], "personal_data"),
        (["Yes, {order_id} ", "ships to Germany."], "placeholder"),
    ],
)
async def test_a_generated_reply_that_fails_its_check_is_never_sent(
    demo_brain: Brain, tmp_path: Path, fake: FakeOpenAIServer, deltas: list[str], failure: str
) -> None:
    fake.deltas = deltas
    turn = await _ask(demo_brain, tmp_path / f"{failure}.sqlite3", fake)

    assert turn["data"].get("source") != "generated" and turn["data"]["rule"] != "grounded_generation"
    assert turn["data"]["generation_withheld"]["failure"] == failure and turn["data"]["generation_withheld"]["reason"]
    assert "generation_error" not in turn["data"]
    streamed = "".join(d["text"] for d in turn["deltas"])
    for bad in ("2 days", "support agent", "PC-771203", "{order_id}"):
        assert bad not in streamed  # the failing sentence never reached the customer
