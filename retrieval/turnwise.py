"""An embedder for turns with context that embeds each turn alone instead of the joined text.

A retrieval query is a customer turn with the turns before it, joined by
:func:`retrieval.pairs.join_context` (oldest first). Embedding the joined text with one mean-pooled
vector blurs the turns together; :class:`TurnwiseEmbedder` splits it back into turns, embeds each
turn with the base embedder, and concatenates the unit vectors slot by slot, newest turn first,
each scaled by its slot's weight (missing turns at the start of a dialogue leave zeros). After
normalisation the inner product of two such vectors is a weighted sum of per-slot cosine
similarities: the customer turn is compared with the customer turn, the agent turn before it with
the agent turn before it, and so on.

A turn that itself contains the separator is split too; STAR has none.
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
        slots = len(self.weights)
        turns = [list(reversed(text.split(self.separator)))[:slots] for text in texts]  # newest first
        unique = sorted({turn for row in turns for turn in row})
        vectors = self.base.encode(unique) if unique else np.zeros((0, self.base.dim), dtype=np.float32)
        position = {turn: i for i, turn in enumerate(unique)}
        width = self.base.dim
        matrix = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, row_turns in enumerate(turns):
            for slot, turn in enumerate(row_turns):
                matrix[row, slot * width : (slot + 1) * width] = self.weights[slot] * vectors[position[turn]]
        return normalize(matrix)
