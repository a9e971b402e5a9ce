from __future__ import annotations

import asyncio
import threading

import pytest

from bot.service.batcher import MicroBatcher


async def test_concurrent_requests_share_one_call_and_get_their_own_results() -> None:
    calls: list[list[int]] = []
    release = threading.Event()

    def double(items: list[int]) -> list[int]:
        calls.append(items)
        release.wait(5)  # the first call blocks so that the others queue up behind it
        return [2 * i for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(double, max_batch=8, max_wait=0.05)
    first = asyncio.create_task(batcher.submit(0))
    await asyncio.sleep(0.1)  # the first batch is running
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0.05)
    release.set()
    assert await first == 0
    assert [await task for task in rest] == [2, 4, 6, 8, 10]
    assert calls == [[0], [1, 2, 3, 4, 5]]
    assert batcher.batches == 2
    await batcher.close()


async def test_batches_are_capped_at_max_batch() -> None:
    sizes: list[int] = []

    def identity(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(identity, max_batch=3, max_wait=0.05)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(7)))
    assert results == list(range(7))
    assert max(sizes) <= 3 and sum(sizes) == 7
    await batcher.close()


async def test_a_failing_batch_fails_its_waiters_and_the_next_batch_still_runs() -> None:
    def flaky(items: list[str]) -> list[str]:
        if "boom" in items:
            raise ValueError("model exploded")
        return [s.upper() for s in items]

    batcher: MicroBatcher[str, str] = MicroBatcher(flaky, max_wait=0.0)
    with pytest.raises(ValueError, match="model exploded"):
        await batcher.submit("boom")
    assert await batcher.submit("fine") == "FINE"
    await batcher.close()
