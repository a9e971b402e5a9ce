"""Micro-batching: concurrent requests share one call of a batch function.

The intent model and the encoder cost nearly the same for 1 message as for 16 on a CPU, so
messages that arrive together (many customers typing at once) are run in one forward pass.
A lone message waits at most ``max_wait`` seconds for company.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    def __init__(self, fn: Callable[[list[T]], Sequence[R]], *, max_batch: int = 64, max_wait: float = 0.002) -> None:
        self._fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # how many calls of ``fn`` were made (for tests and metrics)

    async def submit(self, item: T) -> R:
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            # a fresh context: the worker serves every conversation, not the first caller's (log tagging)
            self._worker = asyncio.create_task(self._run(self._queue), context=contextvars.Context())
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[T, asyncio.Future[R]]]) -> None:
        while True:
            batch = [await queue.get()]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), timeout))
                except TimeoutError:
                    break
            live = [(item, future) for item, future in batch if not future.cancelled()]
            if not live:
                continue
            self.batches += 1
            try:
                results = await asyncio.to_thread(self._fn, [item for item, _ in live])
                if len(results) != len(live):
                    raise RuntimeError(f"batch function returned {len(results)} results for {len(live)} items")
            except Exception as exc:  # every waiter learns about the failure
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
