"""Custom actions through the chat service over real websockets: in-process, and on a real Rasa
action server process reached over its webhook. Both fill slots and reply; a dead action server
gives the customer the template and the agent a note, never a hang."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.actions import ActionRunner, InProcessActionRunner, RemoteActionRunner
from bot.core.events import BOT_REPLY, SLOT_SET
from bot.service.brain import Brain
from bot.service.chat import ChatService
from tests.bot.test_actions import action_server, free_port  # noqa: F401  (the real action server fixture)
from tests.e2e.server import customer, running_service

pytestmark = pytest.mark.slow

ASK = "Where is my order PC-483920?"  # out for delivery with Royal Mail in kb/demo/orders.csv


async def _order_turn(brain: Brain, db: Path, runner: ActionRunner) -> tuple[dict[str, object], ChatService]:
    async with running_service(brain, db, actions=runner) as (base, service), customer(base) as (client, hello):
        reply = await client.say("m1", ASK)
        events = await service.store.events(hello["conversation_id"])
    slots = {e.data["slot"]: e.data["value"] for e in events if e.kind == SLOT_SET}
    (answer,) = [e for e in events if e.kind == BOT_REPLY and e.data.get("reply_to") == "m1" and "action" in e.data]
    return {"frame": reply, "slots": slots, "data": answer.data}, service


@pytest.fixture
async def in_process() -> AsyncIterator[InProcessActionRunner]:
    runner = InProcessActionRunner("kb.demo.actions")
    yield runner
    await runner.close()


async def test_the_order_status_action_answers_in_process(
    demo_brain: Brain, tmp_path: Path, in_process: InProcessActionRunner
) -> None:
    turn, _ = await _order_turn(demo_brain, tmp_path / "a.sqlite3", in_process)

    assert turn["slots"]["order_id"] == "PC-483920"  # from the entity, then confirmed by the action
    assert turn["slots"]["order_status"] == "out_for_delivery"  # SlotSet from the action
    frame = turn["frame"]
    assert isinstance(frame, dict) and frame["source"] == "action" and "Royal Mail" in frame["text"]
    assert turn["data"]["action"] == "action_order_status"


async def test_the_same_action_on_a_real_rasa_action_server(
    demo_brain: Brain,
    tmp_path: Path,
    action_server: tuple[str, Path],  # noqa: F811  (the fixture imported above)
    in_process: InProcessActionRunner,
) -> None:
    url, _ = action_server
    remote = RemoteActionRunner(url)
    try:
        over_http, _ = await _order_turn(demo_brain, tmp_path / "r.sqlite3", remote)
    finally:
        await remote.close()
    local, _ = await _order_turn(demo_brain, tmp_path / "l.sqlite3", in_process)

    assert over_http["slots"] == local["slots"]
    assert isinstance(over_http["frame"], dict) and isinstance(local["frame"], dict)
    assert over_http["frame"]["text"] == local["frame"]["text"]


async def test_a_dead_action_server_hands_off_with_a_note_for_the_agent(demo_brain: Brain, tmp_path: Path) -> None:
    """The order lookup cannot be checked: the bot never guesses, a person takes over with the number."""
    dead = RemoteActionRunner(f"http://127.0.0.1:{free_port()}", timeout=3.0)
    try:
        async with (
            running_service(demo_brain, tmp_path / "d.sqlite3", actions=dead) as (base, service),
            customer(base) as (client, hello),
        ):
            frame = await client.say("m1", ASK)
            events = await service.store.events(hello["conversation_id"])
    finally:
        await dead.close()

    assert frame["type"] == "handoff" and frame["reason"] == "action"
    (handoff,) = [e for e in events if e.kind == "handoff"]
    assert handoff.data["collected"] == {"order_id": "PC-483920"}
    assert "python -m rasa_sdk" in str(handoff.data["action_error"])
