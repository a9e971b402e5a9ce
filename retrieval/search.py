"""Semantic search as a pure function: arrays in, ranked lists out. No model, no index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hit:
    corpus_id: int
    score: float


def normalize(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    array = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = (array / norms).astype(np.float32)
    return result


def semantic_search(query_emb: npt.ArrayLike, corpus_emb: npt.ArrayLike, *, top_k: int = 10) -> list[list[Hit]]:
    """Cosine-similarity top-k of every query against the corpus, best first."""
    queries, corpus = normalize(query_emb), normalize(corpus_emb)
    if corpus.shape[0] == 0:
        return [[] for _ in range(queries.shape[0])]
    scores = queries @ corpus.T
    k = min(top_k, corpus.shape[0])
    results: list[list[Hit]] = []
    for row in scores:
        top = np.argpartition(-row, k - 1)[:k]
        top = top[np.argsort(-row[top], kind="stable")]
        results.append([Hit(int(i), float(row[i])) for i in top])
    return results
