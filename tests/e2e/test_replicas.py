"""Two replicas (separate `deskmate serve` processes) on one PostgreSQL database and one Redis.

A customer on one replica and agents on the other: the handoff, exclusive claims, replies both
ways, and a KB reload made on one replica that the other serves too.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from bot.ops.config import DEMO_KB
from kb.build import BuildInfo
from tests.e2e.processes import ADMIN_TOKEN, ServerProcess, shared_builds
from tests.e2e.server import AgentClient, Client, agent, customer
from tests.e2e.test_reload import set_delivery_reply
from tests.services import PostgresServer, RedisServer

pytestmark = pytest.mark.slow

PASSWORD = "replica-agent-password"
ASK_PERSON = "I want to talk to a real person"


def add_agent(env: dict[str, str], username: str, name: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli.main",
            "users",
            "add",
            username,
            "--role",
            "agent",
            "--name",
            name,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def replicas(
    postgres: PostgresServer,
    redis_server: RedisServer,
    demo_build: BuildInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("replicas")
    kb = root / "kb"
    shutil.copytree(DEMO_KB, kb)
    builds = shared_builds(demo_build, kb, root / "builds")
    shared = {
        "database_url": postgres.new_database(),
        "redis_url": redis_server.url,
        "kb_path": str(kb),
        "builds_dir": str(builds),
    }
    first = ServerProcess("replica-a", root / "a", **shared)
    second = ServerProcess("replica-b", root / "b", **shared)
    add_agent(first.env, "sam", "Sam")  # the accounts live in PostgreSQL: both replicas know them
    add_agent(first.env, "alex", "Alex")
    try:
        first.start()
        second.start()
        yield first, second, kb
    finally:
        first.stop()
        second.stop()


async def test_an_agent_on_one_replica_serves_a_customer_on_the_other(
    replicas: tuple[ServerProcess, ServerProcess, Path],
) -> None:
    a, b, _ = replicas
    async with customer(b.base) as (client, welcome), agent(a.base, "sam", PASSWORD) as (sam, _):
        conversation = welcome["conversation_id"]
        await sam.expect("queue")  # sent once A has counted (and announced) Sam's console
        assert (await client.say("m1", ASK_PERSON))["type"] == "handoff"
        # Sam's console is on A only, yet the customer on B is told an agent is online (no contact form)
        queued = await client.expect("queue")
        assert (queued["position"], queued["agents_online"]) == (1, 1)
        async with agent(b.base, "alex", PASSWORD) as (alex, _):
            await _claim_and_talk(client, sam, alex, conversation)

    # the whole conversation is in the shared database: a resume on the other replica sees it all
    async with customer(a.base, welcome["session"]) as (_, resumed):
        texts = [item.get("text") for item in resumed["history"]]
        assert ASK_PERSON in texts and "Hello from replica A" in texts and "Thanks, it is order 4417" in texts


async def _claim_and_talk(client: Client, sam: AgentClient, alex: AgentClient, conversation: str) -> None:
    """Simultaneous claims on two replicas, then replies across them both ways."""

    # the handoff made on B reaches the queue of the agent on A
    def waiting(frame: dict[str, Any]) -> bool:
        return any(item["conversation_id"] == conversation for item in frame["items"])

    await sam.expect_where("queue", waiting)

    # Sam (on A) and Alex (on B) claim at once: exactly one gets it
    results = await asyncio.gather(sam.act("claim", "k1", conversation), alex.act("claim", "k1", conversation))
    assert sorted(r["type"] for r in results) == ["ack", "error"]
    winner = sam if results[0]["type"] == "ack" else alex
    loser = alex if winner is sam else sam
    assert "already taken" in next(r for r in results if r["type"] == "error")["message"]
    again = await loser.act("claim", "k2", conversation)
    assert again["type"] == "error"

    # Sam takes it over for the rest of the test, wherever the claim landed
    if winner is alex:
        assert (await alex.act("hand_back", "h1", conversation))["type"] == "ack"
        assert (await sam.act("claim", "k3", conversation))["type"] == "ack"
    joined = await client.expect_where("agent_joined", lambda f: f["name"] == "Sam")
    assert joined["name"] == "Sam"

    # replies cross the replicas both ways
    await sam.send({"type": "open", "id": "o1", "conversation_id": conversation})
    await sam.expect("transcript")
    assert (await sam.act("reply", "r1", conversation, text="Hello from replica A"))["type"] == "ack"
    said = await client.expect("agent_message")
    assert (said["text"], said["name"]) == ("Hello from replica A", "Sam")
    await client.send({"type": "message", "id": "m2", "text": "Thanks, it is order 4417"})
    await client.expect("ack")
    event = await sam.expect_where(
        "event", lambda f: f["conversation_id"] == conversation and f["event"].get("text") == "Thanks, it is order 4417"
    )
    assert event["event"]["kind"] == "customer_message"


async def test_a_kb_reload_on_one_replica_reaches_the_other(
    replicas: tuple[ServerProcess, ServerProcess, Path],
) -> None:
    a, b, kb = replicas
    before = a.health()
    assert before is not None and before["build"] == (b.health() or {}).get("build")
    new_reply = "Replica check: UK delivery is £4.95, free over £50."
    set_delivery_reply(kb, new_reply)

    async with connect(f"ws://{a.base}/ws/admin") as ws:
        admin = Client(ws)
        await admin.send({"type": "auth", "token": ADMIN_TOKEN})
        await admin.expect("authed")
        await admin.send({"type": "reload", "id": "r1"})
        done = await admin.expect("reload_done", timeout=300)
    assert done["record"]["outcome"] == "serving", done
    new_build = done["record"]["build_id"]
    assert new_build != before["build"]

    deadline = time.monotonic() + 120
    while (b.health() or {}).get("build") != new_build:
        assert time.monotonic() < deadline, f"replica B still serves {b.health()}:\n{b.log()}"
        await asyncio.sleep(0.5)
    async with customer(b.base) as (client, _):
        reply = await client.say("m1", "How much is delivery?")
        assert reply["text"] == new_reply
