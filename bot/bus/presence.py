"""Which agents are online, across replicas.

Each replica counts the agent consoles connected to it, and announces its signed-in usernames on
the bus (topic :data:`PRESENCE_TOPIC`) when they change and every few seconds. Every replica keeps
the latest announcement of each other replica and counts the union, so a customer on one replica
is told an agent is online when that agent's console is on another. A replica that stops
announcing (stopped, crashed, cut off) drops out after :data:`STALE_AFTER` seconds. With the
in-process bus there are no other replicas and this is a plain local count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable

from bot.bus.base import Bus, Signal

logger = logging.getLogger(__name__)

PRESENCE_TOPIC = "presence"
ANNOUNCE_EVERY = 5.0  # seconds between announcements of an unchanged presence
STALE_AFTER = 15.0  # seconds without an announcement before a replica's agents count as gone


class Presence:
    def __init__(self, bus: Bus, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.replica = secrets.token_hex(6)
        self._clock = clock
        self._local: Counter[str] = Counter()  # username -> open consoles on this replica
        self._remote: dict[str, tuple[frozenset[str], float]] = {}  # replica -> (usernames, heard at)

    @property
    def online(self) -> frozenset[str]:
        """Usernames with a console open on any replica heard from lately."""
        now = self._clock()
        names = {name for name, count in self._local.items() if count > 0}
        for replica, (usernames, heard) in list(self._remote.items()):
            if now - heard > STALE_AFTER:
                del self._remote[replica]
            else:
                names |= usernames
        return frozenset(names)

    async def connected(self, username: str) -> None:
        self._local[username] += 1
        if self._local[username] == 1:
            await self.announce()

    async def disconnected(self, username: str) -> None:
        self._local[username] -= 1
        if self._local[username] <= 0:
            del self._local[username]
            await self.announce()

    async def announce(self) -> None:
        agents = sorted(name for name, count in self._local.items() if count > 0)
        await self.bus.signal(PRESENCE_TOPIC, Signal("presence", {"replica": self.replica, "agents": agents}))

    def heard(self, signal: Signal) -> None:
        """Take another replica's announcement (our own, delivered locally, is ignored)."""
        replica, agents = signal.data.get("replica"), signal.data.get("agents")
        if signal.kind != "presence" or not isinstance(replica, str) or replica == self.replica:
            return
        if isinstance(agents, list) and all(isinstance(a, str) for a in agents):
            self._remote[replica] = (frozenset(agents), self._clock())

    async def run(self) -> None:
        """Listen to the other replicas and announce ours now and then, until cancelled."""
        subscription = self.bus.subscribe(PRESENCE_TOPIC)
        announcer = asyncio.create_task(self._announce_periodically())
        try:
            while True:
                item = await subscription.get()
                if isinstance(item, Signal):
                    self.heard(item)
        finally:
            announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await announcer
            subscription.close()

    async def _announce_periodically(self) -> None:
        while True:
            try:
                await self.announce()
            except Exception:  # the bus reports its own outages; try again next time
                logger.debug("presence announcement failed", exc_info=True)
            await asyncio.sleep(ANNOUNCE_EVERY)
