"""The floor of ``deskmate bench load``: one bare all-MiniLM-L6-v2 pass over the workload's messages.

Whatever else a server does, each message it answers costs at least one pass of the encoder its
models are built on. Here that pass is timed alone: sentence-transformers on plain PyTorch
(``SentenceTransformer.encode(..., normalize_embeddings=True)``), in this process, with torch at
its default thread count (the one ``deskmate serve`` runs with on this machine), over the message
texts alone (no context), at a few batch sizes. The best batch's median rate is the floor; batch
size 1 gives the time of one message alone.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bot.errors import ConfigError

FLOOR_BATCHES = (1, 8, 32, 64)

T = TypeVar("T")


class SentenceEncoder(Protocol):
    """What the floor times: ``SentenceTransformer.encode``, or a twin in tests."""

    def encode(
        self, texts: list[str], /, *, batch_size: int, normalize_embeddings: bool, show_progress_bar: bool
    ) -> Any: ...


@dataclass(frozen=True)
class FloorResult:
    """Bare MiniLM passes: messages per second, median of ``repeats`` runs per batch size."""

    messages: int
    repeats: int
    torch_threads: int
    by_batch: dict[int, float]
    best_batch: int
    messages_per_s: float
    single_ms: float | None  # one message alone: batch 1, median per message (None when batch 1 is not timed)
    cpu_ms_per_message: float  # this process's CPU time during the best batch's runs, per message


def evenly_spaced(items: Sequence[T], count: int) -> list[T]:
    """``count`` of ``items`` taken evenly spaced and in order (repeating items when there are fewer)."""
    return [items[i * len(items) // count] for i in range(count)]


def measure_floor(
    texts: Sequence[str],
    *,
    batch_sizes: Sequence[int] = FLOOR_BATCHES,
    messages: int = 512,
    repeats: int = 3,
    model: SentenceEncoder | None = None,
) -> FloorResult:
    """Time one bare MiniLM pass over ``messages`` of ``texts`` at each batch size (``model``: MiniLM unless given)."""
    if not texts or messages < 1 or repeats < 1 or not batch_sizes or min(batch_sizes) < 1:
        raise ConfigError("the floor needs messages, and positive --floor-messages, repeats and batch sizes")
    import torch

    if model is None:
        from sentence_transformers import SentenceTransformer

        from training.progress import quiet_library_progress
        from training.transformer import base_model_path

        quiet_library_progress()
        model = SentenceTransformer(str(base_model_path()))  # as the server's embedder loads it
    assert model is not None
    work = evenly_spaced(texts, messages)
    by_batch: dict[int, float] = {}
    cpu_by_batch: dict[int, float] = {}
    for size in batch_sizes:
        batches = [work[start : start + size] for start in range(0, len(work), size)]
        _encode(model, batches[-1])  # warm-up: allocator, thread pool, tokenizer
        seconds = []
        cpu_started = time.process_time()
        for _ in range(repeats):
            started = time.perf_counter()
            for batch in batches:
                _encode(model, batch)
            seconds.append(time.perf_counter() - started)
        cpu_by_batch[size] = (time.process_time() - cpu_started) / (repeats * len(work))
        by_batch[size] = len(work) / statistics.median(seconds)
    best = max(by_batch, key=lambda size: by_batch[size])
    return FloorResult(
        messages=len(work),
        repeats=repeats,
        torch_threads=torch.get_num_threads(),
        by_batch=by_batch,
        best_batch=best,
        messages_per_s=by_batch[best],
        single_ms=1000 / by_batch[1] if 1 in by_batch else None,
        cpu_ms_per_message=1000 * cpu_by_batch[best],
    )


def _encode(model: SentenceEncoder, batch: list[str]) -> None:
    model.encode(batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False)
