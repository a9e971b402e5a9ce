"""retrieval.turn_cache: each turn encoded once, newest first in slots, bounded."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from retrieval.embedder import HashingEmbedder
from retrieval.search import Vectors
from retrieval.turn_cache import TurnVectors


class Counting(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=32)
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return super().encode(texts)


def test_slots_hold_the_message_then_the_turns_before_it_newest_first() -> None:
    base = Counting()
    turns = TurnVectors(base)

    message, before, older = turns.encode(["yes", "hi"], [("my kettle leaks", "New lid?"), ()], slots=3)

    expected = HashingEmbedder(dim=32).encode(["yes", "hi", "New lid?", "my kettle leaks"])
    np.testing.assert_allclose(message, expected[:2])
    np.testing.assert_allclose(before[0], expected[2])
    np.testing.assert_allclose(older[0], expected[3])
    assert not before[1].any() and not older[1].any()  # no earlier turns: zero rows


def test_a_turn_seen_before_is_not_encoded_again() -> None:
    base = Counting()
    turns = TurnVectors(base)
    turns.encode(["my kettle leaks"], [()], slots=3)

    turns.encode(["yes", "yes"], [("my kettle leaks", "New lid?"), ("my kettle leaks", "New lid?")], slots=3)

    assert base.calls == [["my kettle leaks"], ["New lid?", "yes"]]
    assert (turns.encoded, turns.reused) == (3, 1)


def test_the_least_recently_used_vector_leaves_first() -> None:
    base = Counting()
    turns = TurnVectors(base, capacity=2)
    turns.encode(["a"], [()], slots=1)
    turns.encode(["b"], [()], slots=1)
    turns.encode(["a"], [()], slots=1)  # a is used again: b is now the oldest
    turns.encode(["c"], [()], slots=1)
    base.calls.clear()

    turns.encode(["a", "b"], [(), ()], slots=1)

    assert base.calls == [["b"]]


def test_one_context_per_message() -> None:
    with pytest.raises(ValueError, match="one per message"):
        TurnVectors(Counting()).encode(["a", "b"], [()], slots=2)
