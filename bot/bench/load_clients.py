"""The customers of ``deskmate bench load``: closed-loop websocket clients, and what they measured.

Each customer connects and says hello (a new conversation), waits for the common start, then
sends its messages one at a time, each after the bot's answer to the one before (see
docs/protocol.md). Every message sent ends one way: *answered* (a ``reply``, ``clarify`` or
``handoff`` frame whose ``reply_to`` is its id), *refused* (an error frame about it), or *lost*
(no answer within the timeout, or the connection dropped while waiting). A customer whose
connection fails stops there; its remaining messages are *unsent*. After a handoff the bot stops
answering that conversation, so the customer says hello again on a new connection and goes on.
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


@dataclass
class _Tally:
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


class _Customer:
    def __init__(self, url: str, script: Sequence[str], tally: _Tally, *, timeout: float, think: float) -> None:
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
        await start.wait()
        for index, text in enumerate(self.script):
            if index and self.think:
                await asyncio.sleep(self.think)
            if self.ws is None:  # handed off: a new conversation for the rest
                if not await self.connect():
                    self.tally.unsent += len(self.script) - index
                    return
                self.tally.reconnects += 1
            if not await self._say(text):
                self.tally.unsent += len(self.script) - index - 1
                return

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


async def run_load(
    url: str,
    scripts: Sequence[Sequence[str]],
    *,
    timeout: float = 30.0,
    think: float = 0.0,
    connect_concurrency: int = 50,
) -> LoadResult:
    """One customer per script against the server at ``url`` (ws://HOST:PORT): connect all, then start together."""
    tally = _Tally()
    customers = [_Customer(customer_url(url), script, tally, timeout=timeout, think=think) for script in scripts]
    gate = asyncio.Semaphore(connect_concurrency)

    async def connect_one(customer: _Customer) -> bool:
        async with gate:
            return await customer.connect()

    began = time.perf_counter()
    connected = await asyncio.gather(*(connect_one(c) for c in customers))
    connect_seconds = time.perf_counter() - began
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
    return LoadResult(
        clients=len(customers),
        sent=tally.sent,
        answered=tally.answered,
        refused=tally.refused,
        lost=tally.lost,
        unsent=tally.unsent,
        errors=sum(tally.error_codes.values()) + tally.connection_failures,
        connection_failures=tally.connection_failures,
        reconnects=tally.reconnects,
        answers=dict(tally.answers),
        error_codes=dict(tally.error_codes),
        connect_seconds=connect_seconds,
        wall_seconds=wall,
        throughput=tally.answered / wall if wall > 0 else 0.0,
        latency=summary(tally.latencies),
        ack_latency=summary(tally.ack_latencies),
    )
