"""The floor of ``deskmate bench load``: its arithmetic on a counting twin, and one real MiniLM pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from bot.bench.load_floor import evenly_spaced, measure_floor
from bot.errors import ConfigError


class CountingEncoder:
    """Stands in for ``SentenceTransformer``: records each call's batch and options."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def encode(self, texts: list[str], /, **options: Any) -> np.ndarray:
        self.calls.append((list(texts), options))
        return np.zeros((len(texts), 4), dtype=np.float32)


def test_every_batch_size_is_warmed_up_then_timed_repeats_times_over_the_messages() -> None:
    model = CountingEncoder()
    texts = [f"message {i}" for i in range(10)]

    floor = measure_floor(texts, batch_sizes=(1, 4), messages=6, repeats=2, model=model)

    assert (floor.messages, floor.repeats, floor.torch_threads) == (6, 2, torch.get_num_threads())
    assert set(floor.by_batch) == {1, 4} and all(rate > 0 for rate in floor.by_batch.values())
    assert floor.messages_per_s == floor.by_batch[floor.best_batch] == max(floor.by_batch.values())
    assert floor.single_ms == pytest.approx(1000 / floor.by_batch[1])
    assert floor.cpu_ms_per_message >= 0
    sizes = [len(batch) for batch, _ in model.calls]
    # batch 1: warm-up + 2 x 6 calls; batch 4: warm-up (the last, short batch) + 2 x (4 + 2)
    assert sizes == [1] * 13 + [2] + [4, 2] * 2
    assert all(
        options["normalize_embeddings"] and options["batch_size"] == len(batch) for batch, options in model.calls
    )
    assert model.calls[1][0] == ["message 0"] and model.calls[2][0] == ["message 1"]  # the messages, in order


def test_without_batch_1_there_is_no_time_for_one_message() -> None:
    floor = measure_floor(["hi", "hello"], batch_sizes=(2,), messages=2, repeats=1, model=CountingEncoder())
    assert floor.single_ms is None and floor.best_batch == 2


def test_messages_are_taken_evenly_spaced_and_in_order() -> None:
    assert evenly_spaced([0, 1, 2, 3, 4, 5, 6, 7], 4) == [0, 2, 4, 6]
    assert evenly_spaced(["a", "b"], 5) == ["a", "a", "a", "b", "b"]  # fewer items: repeated


@pytest.mark.parametrize(
    "texts, options",
    [([], {}), (["hi"], {"messages": 0}), (["hi"], {"repeats": 0}), (["hi"], {"batch_sizes": (0, 8)})],
)
def test_nothing_to_time_is_refused(texts: list[str], options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="the floor needs"):
        measure_floor(texts, model=CountingEncoder(), **options)


@pytest.mark.slow
def test_one_real_minilm_pass() -> None:
    floor = measure_floor(["where is my order", "hello", "I want a refund"], batch_sizes=(1, 2), messages=4, repeats=1)
    assert floor.messages == 4 and floor.messages_per_s > 0 and floor.single_ms is not None
