"""bot.bus.presence: agents online across replicas, two replicas simulated on one bus."""

from __future__ import annotations

import asyncio
import contextlib

from bot.bus.inprocess import InProcessBus
from bot.bus.presence import STALE_AFTER, Presence


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_agents_on_another_replica_count_and_leave() -> None:
    bus, clock = InProcessBus(), Clock()
    a, b = Presence(bus, clock=clock), Presence(bus, clock=clock)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    try:
        await settle()
        await a.connected("sam")
        await a.connected("sam")  # a second console of the same agent
        await b.connected("alex")
        await settle()
        assert a.online == b.online == {"sam", "alex"}

        await a.disconnected("sam")
        await settle()
        assert b.online == {"sam", "alex"}  # one console of sam's is still open
        await a.disconnected("sam")
        await settle()
        assert b.online == {"alex"} and a.online == {"alex"}
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_replica_that_stops_announcing_drops_out() -> None:
    bus, clock = InProcessBus(), Clock()
    a, b = Presence(bus, clock=clock), Presence(bus, clock=clock)
    listening = asyncio.create_task(b.run())
    try:
        await settle()
        await a.connected("sam")  # a announces, then "crashes": no run(), no more announcements
        await settle()
        assert b.online == {"sam"}
        clock.now += STALE_AFTER + 1
        assert b.online == frozenset()
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


def test_garbled_announcements_are_ignored() -> None:
    from bot.bus.base import Signal

    presence = Presence(InProcessBus())
    for data in ({"replica": 3, "agents": ["x"]}, {"replica": "r", "agents": "x"}, {"replica": "r", "agents": [1]}, {}):
        presence.heard(Signal("presence", data))
    assert presence.online == frozenset()
