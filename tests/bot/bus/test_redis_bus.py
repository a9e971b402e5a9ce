"""bot.bus.redis_bus against a real redis-server: two RedisBus instances on one server are two replicas.

Each test uses its own channel prefix on the session's server; the outage tests run their own
server so they can stop and restart it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as redis

from bot.bus import redis_bus
from bot.bus.base import QUEUE_TOPIC, RESYNC, Signal, Subscription
from bot.bus.inprocess import InProcessBus
from bot.bus.redis_bus import RedisBus, decode, encode_events, encode_signal
from bot.core.events import AGENT_MESSAGE, CUSTOMER_MESSAGE, StoredEvent
from bot.errors import ConfigError
from tests.services import RedisServer

WAIT = 3.0  # seconds to wait for something that should arrive


def event(seq: int, conversation_id: str = "c1", text: str = "hé ✓") -> StoredEvent:
    return StoredEvent(conversation_id, seq, AGENT_MESSAGE, {"text": text}, 1_700_000_000.5 + seq, f"f{seq}")


async def next_item(subscription: Subscription) -> StoredEvent | Signal:
    return await asyncio.wait_for(subscription.get(), WAIT)


async def nothing_more(subscription: Subscription, replica: RedisBus, via: RedisBus) -> None:
    """``subscription`` (on ``replica``) has nothing waiting and nothing more on its way.

    A marker goes from the other replica ``via`` on a topic of its own: Redis delivers in order on
    ``replica``'s one reader connection, so anything Redis had already sent ``replica`` (echoes of
    its own messages included) is handled before the marker arrives.
    """
    assert via is not replica
    marker_topic = f"marker-{uuid.uuid4().hex}"
    markers = replica.subscribe(marker_topic)
    await via.signal(marker_topic, Signal("marker"))
    assert await next_item(markers) == Signal("marker")
    markers.close()
    assert subscription.queue.empty()


async def eventually(condition: Callable[[], bool], *, interval: float = 0.005) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(interval)


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.bus.redis_bus" and r.levelno == logging.WARNING]


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    async with (
        RedisBus(redis_server.url, channel_prefix=prefix) as a,
        RedisBus(redis_server.url, channel_prefix=prefix) as b,
    ):
        yield a, b


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    yield server
    server.close()


def test_messages_round_trip_as_json() -> None:
    events = [event(1), StoredEvent("c1", 2, CUSTOMER_MESSAGE, {"text": "x", "n": [1, None]}, 3.0)]
    assert decode(encode_events("me", events)) == ("me", events)
    assert decode(encode_signal("me", Signal("typing", {"on": True}))) == ("me", [Signal("typing", {"on": True})])


def test_a_bad_url_says_how_to_write_one() -> None:
    with pytest.raises(ConfigError, match="redis://host:6379/0"):
        RedisBus("redis://localhost:notaport/0")


@pytest.mark.parametrize("kind", ["in-process", "redis"])
async def test_local_subscribers_get_their_topic_in_order_until_they_unsubscribe(
    kind: str, redis_server: RedisServer
) -> None:
    bus = (
        InProcessBus()
        if kind == "in-process"
        else await RedisBus(redis_server.url, channel_prefix=f"{uuid.uuid4()}:").start()
    )
    try:
        first, second, other = bus.subscribe("c1"), bus.subscribe("c1"), bus.subscribe("c2")
        await bus.publish("c1", [event(1), event(2)])
        await bus.signal("c1", Signal("typing", {"on": True}))
        await bus.publish("c1", [event(3)])
        expected = [event(1), event(2), Signal("typing", {"on": True}), event(3)]
        assert [first.queue.get_nowait() for _ in expected] == expected  # delivered before publish returns
        assert [second.queue.get_nowait() for _ in expected] == expected
        second.close()
        second.close()  # closing twice is harmless
        await bus.publish("c1", [event(4)])
        assert first.queue.get_nowait() == event(4)
        assert second.queue.empty() and other.queue.empty()
    finally:
        if isinstance(bus, RedisBus):
            await bus.close()


async def test_two_replicas_see_each_others_events_and_signals_in_order_once(
    replicas: tuple[RedisBus, RedisBus],
) -> None:
    a, b = replicas
    on_a, on_b = a.subscribe("c1"), b.subscribe("c1")
    await a.publish("c1", [event(1), event(2)])
    await a.signal("c1", Signal("typing", {"who": "Ann", "role": "agent", "on": True}))
    await a.publish("c1", [event(3)])
    expected = [event(1), event(2), Signal("typing", {"who": "Ann", "role": "agent", "on": True}), event(3)]
    assert [await next_item(on_b) for _ in expected] == expected
    assert [on_a.queue.get_nowait() for _ in expected] == expected
    await nothing_more(on_a, a, via=b)  # a's own messages, echoed by Redis, were skipped
    await nothing_more(on_b, b, via=a)

    await b.publish("c1", [event(4)])
    assert await next_item(on_a) == event(4)
    assert on_b.queue.get_nowait() == event(4)
    await nothing_more(on_b, b, via=a)
    assert a.healthy and b.healthy


async def test_topics_are_isolated_and_unsubscribing_stops_delivery(replicas: tuple[RedisBus, RedisBus]) -> None:
    a, b = replicas
    c1, c2, queue, system = b.subscribe("c1"), b.subscribe("c2"), b.subscribe(QUEUE_TOPIC), b.subscribe("system")
    gone = b.subscribe("c1")
    gone.close()
    await a.publish("c2", [event(1, "c2")])
    await a.signal(QUEUE_TOPIC, Signal("queue_changed"))
    await a.signal("system", Signal("build_activated", {"build": "b7"}))
    await a.publish("c1", [event(5)])
    assert await next_item(c2) == event(1, "c2")
    assert await next_item(queue) == Signal("queue_changed")
    assert await next_item(system) == Signal("build_activated", {"build": "b7"})
    assert await next_item(c1) == event(5)
    for subscription in (c1, c2, queue, system):
        await nothing_more(subscription, b, via=a)
    assert gone.queue.empty()


async def test_a_garbled_message_on_the_channel_is_skipped_with_a_warning(
    replicas: tuple[RedisBus, RedisBus], redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = replicas
    on_a, on_b = a.subscribe("c1"), b.subscribe("c1")
    garbage = [
        b"\xff\xfe not even UTF-8",
        b"not json",
        b"[1, 2]",
        b'{"origin": "elsewhere"}',
        b'{"origin": "elsewhere", "events": [{"seq": "1"}]}',
        b'{"origin": "elsewhere", "signal": {"kind": 3}}',
    ]
    client = redis.Redis.from_url(redis_server.url)
    try:
        for raw in garbage:
            await client.publish(b.prefix + "c1", raw)
    finally:
        await client.aclose()
    await a.publish("c1", [event(1)])
    assert await next_item(on_b) == event(1)
    assert on_a.queue.get_nowait() == event(1)
    await nothing_more(on_b, b, via=a)
    await nothing_more(on_a, a, via=b)
    skipped = [m for m in warnings_logged(caplog) if "skipped a message on c1" in m]
    assert len(skipped) == 2 * len(garbage)  # by both replicas; the readers go on
    assert a.healthy and b.healthy


async def test_close_sends_what_is_waiting_and_leaves_no_task_behind(redis_server: RedisServer) -> None:
    prefix = f"{uuid.uuid4()}:"
    async with RedisBus(redis_server.url, channel_prefix=prefix) as b:
        on_b = b.subscribe("c1")
        a = await RedisBus(redis_server.url, channel_prefix=prefix).start()
        await a.publish("c1", [event(1)])
        await a.close()  # at once: the writer still had the message
        assert await next_item(on_b) == event(1)
        await a.close()  # twice is harmless
    assert not b.healthy


async def test_redis_going_away_degrades_to_local_delivery_then_replicas_resync(
    own_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with RedisBus(own_server.url) as a, RedisBus(own_server.url) as b:
        on_a, on_b, other_on_b = a.subscribe("c1"), b.subscribe("c1"), b.subscribe("c2")
        own_server.stop()
        for seq in range(1, 21):
            await a.publish("c1", [event(seq)])  # never raises
            await a.signal("c1", Signal("typing", {"on": seq % 2 == 0}))
        await eventually(lambda: not a.healthy and not b.healthy)
        await a.publish("c1", [event(21)])
        assert [on_a.queue.get_nowait() for _ in range(41)][-2:] == [Signal("typing", {"on": True}), event(21)]
        assert on_b.queue.empty()
        down = warnings_logged(caplog)
        assert len(down) == 2, down  # one per replica for the whole outage, however much was published
        assert all("until Redis is back" in m and "redis://" not in m for m in down)

        own_server.start()  # same port
        await eventually(lambda: a.healthy and b.healthy, interval=0.05)
        assert await next_item(on_a) == Signal(RESYNC)
        assert await next_item(on_b) == Signal(RESYNC)
        assert await next_item(other_on_b) == Signal(RESYNC)

        await a.publish("c1", [event(22)])
        item = await next_item(on_b)
        if item == Signal(RESYNC):  # a also asks for one on c1, where its messages were dropped
            item = await next_item(on_b)
        assert item == event(22)
        assert on_a.queue.get_nowait() == event(22)
        await nothing_more(on_a, a, via=b)
        assert len(warnings_logged(caplog)) == 2


async def test_a_replica_cut_off_alone_asks_the_others_to_resync_what_it_dropped(own_server: RedisServer) -> None:
    admin = redis.Redis.from_url(own_server.url)
    try:
        async with RedisBus(own_server.url) as a:
            [a_reader] = await admin.client_list(_type="pubsub")
            async with RedisBus(own_server.url) as b:
                on_b, other_on_b = b.subscribe("c1"), b.subscribe("c2")
                await admin.client_kill_filter(_id=a_reader["id"])
                await eventually(lambda: not a.healthy, interval=0.002)
                await a.publish("c1", [event(1)])  # dropped while a reconnects
                await eventually(lambda: a.healthy)
                assert await next_item(on_b) == Signal(RESYNC)
                await a.publish("c1", [event(2)])
                assert await next_item(on_b) == event(2)
                await nothing_more(other_on_b, b, via=a)
                assert b.healthy
    finally:
        await admin.aclose()


async def test_a_replica_started_while_redis_is_down_works_alone_then_joins(
    own_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    own_server.stop()
    async with RedisBus(own_server.url) as a:
        assert not a.healthy
        on_a = a.subscribe("c1")
        await a.publish("c1", [event(1)])
        assert on_a.queue.get_nowait() == event(1)
        assert len(warnings_logged(caplog)) == 1
        own_server.start()
        await eventually(lambda: a.healthy, interval=0.05)
        assert await next_item(on_a) == Signal(RESYNC)


async def test_a_hung_redis_is_noticed_by_ping_and_publishing_does_not_wait_for_it(
    own_server: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, seconds in [("POLL_S", 0.05), ("PING_AFTER", 0.1), ("PING_TIMEOUT", 0.2), ("SOCKET_TIMEOUT", 0.3)]:
        monkeypatch.setattr(redis_bus, name, seconds)
    assert own_server.process is not None
    pid = own_server.process.pid
    async with RedisBus(own_server.url) as a, RedisBus(own_server.url) as b:
        on_a, on_b = a.subscribe("c1"), b.subscribe("c1")
        os.kill(pid, signal.SIGSTOP)  # connections stay open; nothing answers
        try:
            started = time.monotonic()
            await a.publish("c1", [event(1)])
            assert time.monotonic() - started < 0.05
            assert on_a.queue.get_nowait() == event(1)
            await eventually(lambda: not a.healthy and not b.healthy)
            assert len(warnings_logged(caplog)) == 2
        finally:
            os.kill(pid, signal.SIGCONT)
        await eventually(lambda: a.healthy and b.healthy, interval=0.05)
        assert await next_item(on_a) == Signal(RESYNC)
        await a.publish("c1", [event(2)])
        received = [await next_item(on_b)]
        while received[-1] != event(2):
            received.append(await next_item(on_b))
        # event 1 may still arrive late: the stopped server had it in a socket buffer
        assert received[0] == Signal(RESYNC) and all(item in (Signal(RESYNC), event(1)) for item in received[1:-1])
