"""Response variations in embedding space: how close each variation of an intent is to a message.

An intent's response may have several variations that answer different sides of it ("where is my
order": how to track it, what to do when tracking says delivered). The composer sends the one
closest in meaning to the customer's message (bot/core/templates.py), so the variations are embedded
once when a build is made (``variations/`` in the build) and each message's vector, already computed for the classifier and
the retriever, is compared with them: one small matrix product per batch, no extra model pass.

Arrays in, plain values out; intents with a single variation are left out (nothing to choose).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retrieval.embedder import Embedder

VECTORS = "vectors.npy"
SPANS = "spans.json"


@dataclass(frozen=True)
class VariationIndex:
    """The variations' unit vectors, stacked; ``spans`` gives each intent's rows."""

    vectors: npt.NDArray[np.float32]
    spans: Mapping[str, tuple[int, int]]

    @classmethod
    def build(cls, embedder: Embedder, variations: Mapping[str, Sequence[str]]) -> VariationIndex:
        """Embed the texts of every intent that has two variations or more."""
        texts: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        for intent, options in variations.items():
            if len(options) < 2:
                continue
            spans[intent] = (len(texts), len(texts) + len(options))
            texts.extend(options)
        if not texts:
            return cls(np.zeros((0, embedder.dim), dtype=np.float32), {})
        return cls(np.asarray(embedder.encode(texts), dtype=np.float32), spans)

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / VECTORS, self.vectors)
        (path / SPANS).write_text(json.dumps({k: list(v) for k, v in self.spans.items()}), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> VariationIndex | None:
        """The saved index, or None when ``folder`` holds none (a build made before it was saved)."""
        path = Path(folder)
        if not (path / VECTORS).is_file() or not (path / SPANS).is_file():
            return None
        spans = json.loads((path / SPANS).read_text(encoding="utf-8"))
        return cls(np.load(path / VECTORS), {k: (int(v[0]), int(v[1])) for k, v in spans.items()})

    def scores(self, queries: npt.ArrayLike) -> list[dict[str, tuple[float, ...]]]:
        """For each query vector (unit length), each intent's variations' cosine similarities."""
        matrix = np.asarray(queries, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"queries must be a 2-d array of vectors, not shape {matrix.shape}")
        if not self.spans:
            return [{} for _ in range(len(matrix))]
        similarities = matrix @ self.vectors.T
        return [
            {intent: tuple(round(float(v), 4) for v in row[start:end]) for intent, (start, end) in self.spans.items()}
            for row in similarities
        ]
