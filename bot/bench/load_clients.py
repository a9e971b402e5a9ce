"""The customers of ``deskmate bench load``: websocket clients, the closed loop, and what they measured.

Each customer connects and says hello (a new conversation), then says one message at a time, each
after the bot's answer to the one before (see docs/protocol.md). In the closed loop here, all wait
for the common start, then each sends its script straight through (pausing ``think`` seconds
between messages); the open loop (:mod:`bot.bench.load_open`) paces the same customers with
random arrivals instead. Every message sent ends one way: *answered* (a ``reply``, ``clarify`` or
``handoff`` frame whose ``reply_to`` is its id), *refused* (an error frame about it), or *lost*
(no answer within the timeout, or the connection dropped while waiting). A customer whose
connection fails stops there; in the closed loop its remaining messages are *unsent*. After a
handoff the bot stops answering that conversation, so the customer says hello again on a new
connection and goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

logger = logging.getLogger(__name__)

ANSWERS = ("reply", "clarify", "handoff")
CUSTOMER_PATH = "/ws/customer"


@dataclass(frozen=True)
class LoadResult:
    """The load phase, all customers together; times in seconds."""

    clients: int
    sent: int
    answered: int
    refused: int  # answered by an error frame
    lost: int
    unsent: int
    errors: int  # error frames + connection failures
    connection_failures: int
    reconnects: int  # new conversations after a handoff
    answers: dict[str, int]  # "reply:template", "reply:fallback", "clarify", "handoff"...
    error_codes: dict[str, int]
    connect_seconds: float
    wall_seconds: float
    throughput: float  # answered messages per second of the load phase
    latency: dict[str, float]  # send -> answer: p50, p95, p99, max, mean
    ack_latency: dict[str, float]  # send -> ack
    # The open loop only (see bot.bench.load_open):
    rate: float | None = None  # the offered rate asked for, messages per second
    duration: float | None = None  # seconds of arrivals
    offered_rate: float | None = None  # achieved: messages sent per second of arrivals
    missed: int = 0  # arrivals that found every customer waiting for an answer (not sent)


@dataclass
class Tally:
    """What every customer of a run counted, together."""

    sent: int = 0
    answered: int = 0
    refused: int = 0
    lost: int = 0
    unsent: int = 0
    connection_failures: int = 0
    reconnects: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    ack_latencies: list[float] = field(default_factory=list)

    def result(
        self,
        *,
        clients: int,
        connect_seconds: float,
        wall_seconds: float,
        rate: float | None = None,
        duration: float | None = None,
        missed: int = 0,
    ) -> LoadResult:
        """The run's :class:`LoadResult`; ``rate``, ``duration`` and ``missed`` for the open loop."""
        return LoadResult(
            clients=clients,
            sent=self.sent,
            answered=self.answered,
            refused=self.refused,
            lost=self.lost,
            unsent=self.unsent,
            errors=sum(self.error_codes.values()) + self.connection_failures,
            connection_failures=self.connection_failures,
            reconnects=self.reconnects,
            answers=dict(self.answers),
            error_codes=dict(self.error_codes),
            connect_seconds=connect_seconds,
            wall_seconds=wall_seconds,
            throughput=self.answered / wall_seconds if wall_seconds > 0 else 0.0,
            latency=summary(self.latencies),
            ack_latency=summary(self.ack_latencies),
            rate=rate,
            duration=duration,
            offered_rate=self.sent / duration if duration else None,
            missed=missed,
        )


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 (linear interpolation), max and mean; empty for no values."""
    if not values:
        return {}
    array = np.asarray(values, dtype=np.float64)
    p50, p95, p99 = (float(v) for v in np.percentile(array, [50, 95, 99]))
    return {"p50": p50, "p95": p95, "p99": p99, "max": float(array.max()), "mean": float(array.mean())}


def customer_url(url: str) -> str:
    """``ws://HOST:PORT`` (or with the customer path already) -> the customer websocket's URL."""
    if "://" not in url:
        url = f"ws://{url}"
    scheme, rest = url.split("://", 1)
    address, _, path = rest.partition("/")
    return f"{scheme}://{address}{'/' + path if path else CUSTOMER_PATH}"


class Customer:
    """One customer's connection; :meth:`turn` says a message and waits for its answer."""

    def __init__(
        self, url: str, tally: Tally, *, timeout: float, script: Sequence[str] = (), think: float = 0.0
    ) -> None:
        self.url = url
        self.script = script
        self.tally = tally
        self.timeout = timeout
        self.think = think
        self.ws: ClientConnection | None = None
        self._sent = 0  # message ids are unique per customer, across its conversations

    async def connect(self) -> bool:
        """Open a connection and a new conversation; False (counted) when that fails."""
        ws = None
        try:
            async with asyncio.timeout(self.timeout):
                ws = await connect(self.url, ping_interval=None, open_timeout=None)
                await ws.send(json.dumps({"type": "hello", "session": None}))
                while True:
                    frame: dict[str, Any] = json.loads(await ws.recv())
                    if frame.get("type") == "welcome":
                        self.ws = ws
                        return True
                    if frame.get("type") == "error":  # an error frame, counted as such (not as a failed connection)
                        self.tally.error_codes[str(frame.get("code"))] += 1
                        logger.warning("hello refused: %s", frame.get("code"))
                        await ws.close()
                        return False
        except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
            self.tally.connection_failures += 1
            logger.warning("customer connection failed: %s", exc or type(exc).__name__)
            if ws is not None:
                await ws.close()
            return False

    async def run(self, start: asyncio.Event) -> None:
        """The closed loop: the script straight through, from ``start`` on."""
        await start.wait()
        for index, text in enumerate(self.script):
            if index and self.think:
                await asyncio.sleep(self.think)
            if not await self.turn(text):
                self.tally.unsent += len(self.script) - index - 1
                return

    async def turn(self, text: str) -> bool:
        """Say ``text`` and wait for its answer (after a handoff, in a new conversation); False when the
        connection is gone (``text`` then counted lost or unsent)."""
        if self.ws is None:  # handed off: a new conversation for the rest
            if not await self.connect():
                self.tally.unsent += 1
                return False
            self.tally.reconnects += 1
        return await self._say(text)

    async def _say(self, text: str) -> bool:
        """Send one message and wait for its answer; False when the connection is gone."""
        assert self.ws is not None
        tally = self.tally
        self._sent += 1
        message_id = f"m{self._sent}"
        sent_at = time.perf_counter()
        try:
            await self.ws.send(json.dumps({"type": "message", "id": message_id, "text": text}))
        except (OSError, WebSocketException) as exc:
            return self._failed(exc, sent=False)
        tally.sent += 1
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    frame: dict[str, Any] = json.loads(await self.ws.recv())
                    kind = frame.get("type")
                    if kind == "ack" and frame.get("id") == message_id:
                        tally.ack_latencies.append(time.perf_counter() - sent_at)
                    elif kind in ANSWERS and frame.get("reply_to") == message_id:
                        tally.latencies.append(time.perf_counter() - sent_at)
                        tally.answered += 1
                        tally.answers[f"reply:{frame.get('source')}" if kind == "reply" else str(kind)] += 1
                        if kind == "handoff":
                            await self.close()
                        return True
                    elif kind == "error":
                        tally.error_codes[str(frame.get("code"))] += 1
                        if frame.get("ref") in (message_id, None):
                            tally.refused += 1
                            return True
        except TimeoutError:
            tally.lost += 1
            logger.warning("message %s unanswered after %.0f s", message_id, self.timeout)
            return True
        except (OSError, WebSocketException, ValueError) as exc:
            return self._failed(exc, sent=True)

    def _failed(self, exc: Exception, *, sent: bool) -> bool:
        self.tally.connection_failures += 1
        if sent:
            self.tally.lost += 1
        else:
            self.tally.unsent += 1
        logger.warning("customer connection lost: %s", exc or type(exc).__name__)
        self.ws = None
        return False

    async def close(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None:
            await ws.close()


async def connect_all(customers: Sequence[Customer], *, concurrency: int = 50) -> tuple[list[bool], float]:
    """Connect every customer, ``concurrency`` at a time: whether each one is connected, and the seconds taken."""
    gate = asyncio.Semaphore(concurrency)

    async def connect_one(customer: Customer) -> bool:
        async with gate:
            return await customer.connect()

    began = time.perf_counter()
    connected = await asyncio.gather(*(connect_one(c) for c in customers))
    return connected, time.perf_counter() - began


async def run_load(
    url: str,
    scripts: Sequence[Sequence[str]],
    *,
    timeout: float = 30.0,
    think: float = 0.0,
    connect_concurrency: int = 50,
) -> LoadResult:
    """One customer per script against the server at ``url`` (ws://HOST:PORT): connect all, then start together."""
    tally = Tally()
    customers = [Customer(customer_url(url), tally, timeout=timeout, script=s, think=think) for s in scripts]
    connected, connect_seconds = await connect_all(customers, concurrency=connect_concurrency)
    tally.unsent += sum(len(c.script) for c, ok in zip(customers, connected, strict=True) if not ok)
    start = asyncio.Event()
    runs = [asyncio.create_task(c.run(start)) for c, ok in zip(customers, connected, strict=True) if ok]
    began = time.perf_counter()
    start.set()
    try:
        await asyncio.gather(*runs)
    finally:
        wall = time.perf_counter() - began
        for run in runs:
            run.cancel()
        await asyncio.gather(*(c.close() for c in customers), return_exceptions=True)
    return tally.result(clients=len(customers), connect_seconds=connect_seconds, wall_seconds=wall)
