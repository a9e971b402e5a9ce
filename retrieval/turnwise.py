"""An embedder for turns with context that embeds each turn alone instead of the joined text.

A retrieval query is a customer turn with the turns before it, joined by
:func:`retrieval.pairs.join_context` (oldest first). Embedding the joined text with one mean-pooled
vector blurs the turns together; :class:`TurnwiseEmbedder` splits it back into turns, embeds each
turn with the base embedder, and concatenates the unit vectors slot by slot, newest turn first,
each scaled by its slot's weight (missing turns at the start of a dialogue leave zeros). After
normalisation the inner product of two such vectors is a weighted sum of per-slot cosine
similarities: the customer turn is compared with the customer turn, the agent turn before it with
the agent turn before it, and so on.

A turn that itself contains the separator is split too; STAR has none. The server never joins
and splits: it keeps each turn's vector and composes the query with :func:`compose`
(bot/service/turn_vectors.py), so a message is encoded once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.embedder import Embedder
from retrieval.search import Vectors, normalize

SEPARATOR = " | "  # as retrieval.pairs.join_context joins turns


class TurnwiseEmbedder:
    """Per-turn embeddings of ``base`` in ``len(weights)`` slots: ``weights[0]`` for the newest turn."""

    def __init__(self, base: Embedder, *, weights: Sequence[float], separator: str = SEPARATOR) -> None:
        if not weights or any(w < 0 for w in weights) or not any(weights):
            raise ValueError(f"weights must be non-negative and not all zero, one per turn slot, not {list(weights)}")
        self.base = base
        self.weights = [float(w) for w in weights]
        self.separator = separator

    @property
    def dim(self) -> int:
        return self.base.dim * len(self.weights)

    def encode(self, texts: Sequence[str]) -> Vectors:
        return compose(self.turn_vectors(texts), self.weights)

    def turn_vectors(self, texts: Sequence[str]) -> list[Vectors]:
        """Joined texts -> one matrix per slot, newest turn first (zero rows for missing turns)."""
        slots = len(self.weights)
        turns = [list(reversed(text.split(self.separator)))[:slots] for text in texts]  # newest first
        unique = sorted({turn for row in turns for turn in row})
        vectors = self.base.encode(unique) if unique else np.zeros((0, self.base.dim), dtype=np.float32)
        position = {turn: i for i, turn in enumerate(unique)}
        matrices = [np.zeros((len(texts), self.base.dim), dtype=np.float32) for _ in range(slots)]
        for row, row_turns in enumerate(turns):
            for slot, turn in enumerate(row_turns):
                matrices[slot][row] = vectors[position[turn]]
        return matrices


def compose(turns: Sequence[Vectors], weights: Sequence[float]) -> Vectors:
    """Turn vectors already embedded -> the query vectors :class:`TurnwiseEmbedder` would give.

    ``turns[0]`` holds the messages' unit vectors, ``turns[i]`` the vectors of the turn ``i`` before
    each (a zero row where a message has no such turn); turns beyond ``len(weights)`` are ignored.
    """
    if not turns:
        raise ValueError("compose needs the messages' own vectors")
    rows, width = turns[0].shape
    matrix = np.zeros((rows, width * len(weights)), dtype=np.float32)
    for slot, (vectors, weight) in enumerate(zip(turns, weights, strict=False)):
        matrix[:, slot * width : (slot + 1) * width] = weight * vectors
    return normalize(matrix)
