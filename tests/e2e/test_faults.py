"""Faults on real processes: kill -9 mid-conversation, the database going away, Redis going away.

In each, customers get a clear error or carry on, the service recovers by itself when the missing
piece returns, and nothing that was acknowledged is lost or stored twice.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from bot.ops.config import DEMO_KB
from kb.build import BuildInfo
from tests.e2e.processes import ServerProcess, shared_builds
from tests.e2e.server import Client, agent, customer
from tests.e2e.test_replicas import ASK_PERSON, PASSWORD, add_agent
from tests.services import PostgresServer, RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture
def served_kb(demo_build: BuildInfo, tmp_path: Path) -> tuple[Path, Path]:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb)
    return kb, shared_builds(demo_build, kb, tmp_path / "builds")


def settings_for(kb: Path, builds: Path, **extra: str) -> dict[str, str]:
    return {"kb_path": str(kb), "builds_dir": str(builds), **extra}


def history_of(welcome: dict[str, Any]) -> list[dict[str, Any]]:
    return list(welcome["history"])


def answers_to(history: list[dict[str, Any]], message_id: str) -> list[dict[str, Any]]:
    """The bot's items between the customer message ``message_id`` and the customer's next one."""
    position = next(i for i, item in enumerate(history) if item["id"] == message_id)
    following: list[dict[str, Any]] = []
    for item in history[position + 1 :]:
        if item["role"] == "customer":
            break
        if item["role"] == "bot":
            following.append(item)
    return following


async def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.2)


async def test_kill_9_mid_conversation_then_restart_loses_nothing(
    served_kb: tuple[Path, Path], tmp_path: Path
) -> None:
    kb, builds = served_kb
    server = ServerProcess("crashing", tmp_path / "data", **settings_for(kb, builds)).start()
    try:
        async with customer(server.base) as (client, welcome):
            token = welcome["session"]
            assert (await client.say("m1", "How much is delivery?"))["type"] in ("reply", "clarify")
            await client.send({"type": "message", "id": "m2", "text": "How do I return a tent?"})
            server.kill()  # mid-turn: m2 may or may not have been stored and answered
        server.start()  # same port, same database
        async with customer(server.base, token) as (client, resumed):
            assert resumed["conversation_id"] == welcome["conversation_id"]  # the signed session survived
            before = history_of(resumed)
            assert [i.get("text") for i in before if i.get("id") == "m1"] == ["How much is delivery?"]
            assert len(answers_to(before, "m1")) == 1
            # the widget resends what was not acknowledged; a resend of a stored message is not redone
            answer = await client.say("m2", "How do I return a tent?")
            assert answer["type"] in ("reply", "clarify", "handoff")
        async with customer(server.base, token) as (_, final):
            history = history_of(final)
            assert [i["id"] for i in history].count("m2") == 1
            assert len(answers_to(history, "m2")) == 1
    finally:
        server.stop()


async def test_the_database_going_away_gives_clear_errors_and_recovers(
    served_kb: tuple[Path, Path], tmp_path: Path
) -> None:
    kb, builds = served_kb
    database = PostgresServer()
    server = ServerProcess(
        "on-postgres", tmp_path / "data", **settings_for(kb, builds, database_url=database.new_database())
    ).start()
    try:
        async with customer(server.base) as (client, welcome):
            assert (await client.say("m1", "How much is delivery?"))["type"] in ("reply", "clarify")

            database.stop(mode="immediate")
            await client.send({"type": "message", "id": "m2", "text": "How do I return a tent?"})
            error = await client.expect("error")
            assert error["code"] == "internal" and "resent" in error["message"]
            async with connect(f"ws://{server.base}/ws/customer") as ws:  # a new customer meanwhile
                newcomer = Client(ws)
                await newcomer.send({"type": "hello", "session": None})
                refused = await newcomer.expect("error")
                assert "unavailable" in refused["message"] and "try again" in refused["message"]
            assert server.health() is not None  # the process keeps serving

            database.start()
            answer = await client.say("m2", "How do I return a tent?")  # the widget's resend
            assert answer["type"] in ("reply", "clarify", "handoff")
        async with customer(server.base, welcome["session"]) as (_, resumed):
            history = history_of(resumed)
            assert [i["id"] for i in history].count("m2") == 1 and len(answers_to(history, "m2")) == 1
        async with customer(server.base) as (_, fresh):
            assert fresh["type"] == "welcome"
    finally:
        server.stop()
        database.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    yield server
    server.close()


async def test_redis_going_away_degrades_live_updates_then_resyncs(
    served_kb: tuple[Path, Path], postgres: PostgresServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    kb, builds = served_kb
    shared = settings_for(kb, builds, database_url=postgres.new_database(), redis_url=own_redis.url)
    a = ServerProcess("a", tmp_path / "a", **shared)
    b = ServerProcess("b", tmp_path / "b", **shared)
    add_agent(a.env, "sam", "Sam")
    a.start()
    b.start()
    try:
        async with customer(b.base) as (client, welcome), agent(a.base, "sam", PASSWORD) as (sam, _):
            conversation = welcome["conversation_id"]
            assert (await client.say("m1", ASK_PERSON))["type"] == "handoff"
            assert (await sam.act("claim", "k1", conversation))["type"] == "ack"
            await client.expect("agent_joined")

            own_redis.stop()
            await until(lambda: "degraded" in str((b.health() or {}).get("bus")), "replica B reports the bus down")
            await client.send({"type": "message", "id": "m2", "text": "Are you still there?"})
            await client.expect("ack")  # the customer's own replica still stores and acknowledges
            # stored on A; B cannot hear of it while Redis is away
            assert (await sam.act("reply", "r1", conversation, text="Sent while Redis was away"))["type"] == "ack"

            own_redis.start()
            missed = await client.expect("agent_message", timeout=60)  # the resync reads it from the store
            assert missed["text"] == "Sent while Redis was away"
            await until(lambda: (b.health() or {}).get("bus") == "ok", "replica B reports the bus back")
            assert (await sam.act("reply", "r2", conversation, text="And now live again"))["type"] == "ack"
            live = await client.expect("agent_message")
            assert live["text"] == "And now live again"
    finally:
        a.stop()
        b.stop()
