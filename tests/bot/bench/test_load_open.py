"""The open loop of ``deskmate bench load --rate``: the arrivals, their dispatch to idle customers, no server."""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
from collections import Counter

import pytest

from bot.bench.load_open import arrival_offsets, dispatch, run_open_load
from bot.errors import ConfigError


def test_arrivals_are_a_poisson_process_at_the_rate_asked() -> None:
    offsets = list(arrival_offsets(50.0, 200.0, random.Random(0)))

    assert 9_600 <= len(offsets) <= 10_400  # 10,000 expected, standard deviation 100
    assert offsets == sorted(offsets) and offsets[0] > 0 and offsets[-1] < 200.0
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert statistics.mean(gaps) == pytest.approx(1 / 50, rel=0.05)
    assert statistics.stdev(gaps) == pytest.approx(1 / 50, rel=0.05)  # exponential: as wide as its mean
    assert offsets == list(arrival_offsets(50.0, 200.0, random.Random(0)))  # seeded


async def test_no_customer_ever_has_two_messages_outstanding() -> None:
    outstanding: Counter[int] = Counter()
    most = 0
    said: Counter[int] = Counter()
    jitter = random.Random(1)

    async def send(customer: int) -> bool:
        nonlocal most
        outstanding[customer] += 1
        most = max(most, outstanding[customer])
        said[customer] += 1
        await asyncio.sleep(jitter.uniform(0, 0.02))  # answers slower than the arrivals, now and then
        outstanding[customer] -= 1
        return True

    offsets = list(arrival_offsets(400.0, 0.3, random.Random(2)))
    idle = [0, 1, 2, 3]
    missed = await dispatch(offsets, idle, send, random.Random(3))

    assert most == 1
    assert sum(said.values()) + missed == len(offsets)
    assert sorted(idle) == [0, 1, 2, 3]  # every customer back, waiting for its next message


async def test_arrivals_finding_every_customer_busy_are_missed_and_a_gone_customer_is_never_drawn_again() -> None:
    said: list[int] = []

    async def send(customer: int) -> bool:
        said.append(customer)
        await asyncio.sleep(0)
        return customer != 0  # customer 0's connection fails

    idle = [0, 1, 2]
    missed = await dispatch([0.0] * 10, idle, send, random.Random(0))  # all at once: three busy, seven missed
    assert (sorted(said), missed) == ([0, 1, 2], 7)

    said.clear()
    missed = await dispatch([0.001 * i for i in range(40)], idle, send, random.Random(0))
    assert 0 not in said and sorted(idle) == [1, 2]
    assert len(said) + missed == 40


async def test_a_server_that_is_not_there_misses_every_arrival() -> None:
    load = await run_open_load("ws://127.0.0.1:9", [["hello"], ["hi"]], ["hello", "hi"], rate=50.0, duration=0.2)

    assert (load.clients, load.sent, load.answered, load.connection_failures, load.errors) == (2, 0, 0, 2, 2)
    assert load.missed > 0 and load.offered_rate == 0.0
    assert (load.rate, load.duration) == (50.0, 0.2)


@pytest.mark.parametrize("rate, duration, pool", [(0.0, 1.0, ["hi"]), (5.0, 0.0, ["hi"]), (5.0, 1.0, [])])
async def test_nothing_to_offer_is_refused(rate: float, duration: float, pool: list[str]) -> None:
    with pytest.raises(ConfigError, match="open loop needs"):
        await run_open_load("ws://127.0.0.1:9", [["hi"]], pool, rate=rate, duration=duration)
