"""The open loop of ``deskmate bench load --rate R``: Poisson arrivals, each handed to an idle customer.

The model: arrivals are one Poisson process at the offered rate R (exponential gaps of mean 1/R
seconds, from a seeded RNG) during ``duration`` seconds, whatever the server does: a slow answer
never delays the next arrival, so latency is measured under the load offered rather than under
the load the server lets through. Each arrival goes to a customer drawn at random among those not
waiting for an answer, which says its next message; so no customer ever has two messages
outstanding, and with N customers the offered rate holds while fewer than N answers are pending
(R x latency < N). An arrival that finds every customer waiting is *missed*: counted, never sent.
The achieved offered rate (messages sent / duration) is reported beside R.

All customers connect before the first arrival (connecting is not timed). A customer's messages
are its workload script first (the messages the floor and the ceiling timed), then, without end,
draws from the same pool with the seeded RNG. A customer whose connection fails leaves the idle
set for good (its message counted lost or unsent); one handed off says hello again on a new
connection at its next message. The run ends when every message sent is answered or lost.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence

from bot.bench.load_clients import Customer, LoadResult, Tally, connect_all, customer_url
from bot.errors import ConfigError


def arrival_offsets(rate: float, duration: float, rng: random.Random) -> Iterator[float]:
    """The arrival times of a Poisson process of ``rate`` per second, in seconds from 0, before ``duration``."""
    at = rng.expovariate(rate)
    while at < duration:
        yield at
        at += rng.expovariate(rate)


async def dispatch(
    offsets: Iterable[float], idle: list[int], send: Callable[[int], Awaitable[bool]], rng: random.Random
) -> int:
    """At each offset (seconds from now), start ``send(customer)`` for a customer drawn at random from ``idle``.

    The customer leaves ``idle`` until its send returns True (False: gone for good). Waits for every
    send; returns how many arrivals found ``idle`` empty (missed).
    """
    began = time.perf_counter()
    pending: set[asyncio.Task[None]] = set()
    missed = 0

    async def one(customer: int) -> None:
        if await send(customer):
            idle.append(customer)

    try:
        for offset in offsets:
            delay = began + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not idle:
                missed += 1
                continue
            drawn = rng.randrange(len(idle))
            idle[drawn], idle[-1] = idle[-1], idle[drawn]
            task = asyncio.create_task(one(idle.pop()))
            pending.add(task)
            task.add_done_callback(pending.discard)
        while pending:
            await asyncio.gather(*pending)
    finally:
        for task in pending:
            task.cancel()
    return missed


def _script_then_pool(script: Sequence[str], pool: Sequence[str], rng: random.Random) -> Iterator[str]:
    yield from script
    while True:
        yield rng.choice(pool)


async def run_open_load(
    url: str,
    scripts: Sequence[Sequence[str]],
    pool: Sequence[str],
    *,
    rate: float,
    duration: float,
    timeout: float = 30.0,
    seed: int = 0,
    connect_concurrency: int = 50,
) -> LoadResult:
    """One customer per script against the server at ``url`` (ws://HOST:PORT), paced by arrivals at ``rate``."""
    if rate <= 0 or duration <= 0 or not pool:
        raise ConfigError("the open loop needs a positive --rate and --duration, and messages to send")
    tally = Tally()
    customers = [Customer(customer_url(url), tally, timeout=timeout) for _ in scripts]
    connected, connect_seconds = await connect_all(customers, concurrency=connect_concurrency)
    picks = random.Random(seed + 1)  # the customers drawn and their messages beyond the script
    texts = [_script_then_pool(script, pool, picks) for script in scripts]
    idle = [index for index, ok in enumerate(connected) if ok]

    async def send(index: int) -> bool:
        return await customers[index].turn(next(texts[index]))

    began = time.perf_counter()
    try:
        missed = await dispatch(arrival_offsets(rate, duration, random.Random(seed)), idle, send, picks)
    finally:
        wall = time.perf_counter() - began
        await asyncio.gather(*(c.close() for c in customers), return_exceptions=True)
    return tally.result(
        clients=len(customers),
        connect_seconds=connect_seconds,
        wall_seconds=wall,
        rate=rate,
        duration=duration,
        missed=missed,
    )
