"""retrieval.turnwise: each turn embedded alone, in weighted slots, newest first."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.embedder import HashingEmbedder
from retrieval.pairs import join_context
from retrieval.turnwise import TurnwiseEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.calls: list[list[str]] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return super().encode(texts)


def test_slots_hold_weighted_turn_vectors_newest_first() -> None:
    base = HashingEmbedder(dim=32)
    embedder = TurnwiseEmbedder(base, weights=[1.0, 1.0, 0.5])
    a, b, c = base.encode(["older turn", "agent turn", "customer turn"])

    vector = embedder.encode([join_context(["older turn", "agent turn"], "customer turn")])[0]

    expected = np.concatenate([c, b, 0.5 * a])
    assert embedder.dim == 96
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), rtol=1e-5, atol=1e-6)


def test_short_and_long_contexts_fit_the_slots() -> None:
    base = HashingEmbedder(dim=16)
    embedder = TurnwiseEmbedder(base, weights=[1.0, 1.0])
    first, only = base.encode(["b", "only turn"])

    vectors = embedder.encode(["only turn", "dropped | a | b"])

    np.testing.assert_allclose(vectors[0], np.concatenate([only, np.zeros(16)]), atol=1e-6)  # missing slot: zeros
    assert not np.allclose(vectors[1][16:], 0)  # "a" fills the second slot; "dropped" is beyond the slots
    np.testing.assert_allclose(vectors[1][:16] * np.sqrt(2), first, rtol=1e-5, atol=1e-6)


def test_inner_product_is_a_weighted_sum_of_slot_cosines() -> None:
    base = HashingEmbedder(dim=64)
    embedder = TurnwiseEmbedder(base, weights=[1.0, 0.5])
    x, y = embedder.encode(["where is my card | it was stolen", "where is my parcel | it was stolen"])
    p, q = base.encode(["where is my card", "where is my parcel"])

    assert float(x @ y) == pytest.approx((1.0 * 1.0 + 0.25 * float(p @ q)) / 1.25, rel=1e-5)


def test_each_distinct_turn_is_embedded_once() -> None:
    base = CountingEmbedder(dim=16)

    TurnwiseEmbedder(base, weights=[1, 1]).encode(["a | b", "b | c", "c"])

    assert base.calls == [["a", "b", "c"]]


@pytest.mark.parametrize("weights", [[], [0.0, 0.0], [1.0, -1.0]])
def test_bad_weights_are_refused(weights: list[float]) -> None:
    with pytest.raises(ValueError, match="weights"):
        TurnwiseEmbedder(HashingEmbedder(dim=8), weights=weights)
