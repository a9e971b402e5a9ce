"""Vector indexes behind one small seam: FAISS for production, numpy as its in-memory twin.

Both hold unit-normalised vectors and score by inner product (cosine similarity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
import numpy.typing as npt

from bot.errors import ModelNotFoundError
from retrieval.search import Hit, Vectors, normalize, semantic_search


class VectorIndex(Protocol):
    @property
    def size(self) -> int: ...

    def add(self, vectors: npt.ArrayLike) -> None: ...

    def search(self, queries: npt.ArrayLike, top_k: int) -> list[list[Hit]]: ...


class NumpyIndex:
    """Exact search over an in-memory matrix."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vectors: Vectors = np.zeros((0, dim), dtype=np.float32)

    @property
    def size(self) -> int:
        return int(self._vectors.shape[0])

    def add(self, vectors: npt.ArrayLike) -> None:
        self._vectors = np.concatenate([self._vectors, normalize(vectors)], axis=0)

    def search(self, queries: npt.ArrayLike, top_k: int) -> list[list[Hit]]:
        return semantic_search(queries, self._vectors, top_k=top_k)


class FaissIndex:
    """Exact inner-product search with FAISS (``IndexFlatIP``) on normalised vectors."""

    FILE = "vectors.faiss"

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexFlatIP(dim)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: npt.ArrayLike) -> None:
        array = normalize(vectors)
        if array.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {array.shape[1]}, the index expects {self.dim}")
        self._index.add(array)

    def search(self, queries: npt.ArrayLike, top_k: int) -> list[list[Hit]]:
        array = normalize(queries)
        if self.size == 0:
            return [[] for _ in range(array.shape[0])]
        scores, ids = self._index.search(array, min(top_k, self.size))
        return [
            [Hit(int(i), float(s)) for s, i in zip(row_s, row_i, strict=True) if i >= 0]
            for row_s, row_i in zip(scores, ids, strict=True)
        ]

    def save(self, folder: str | Path) -> None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(path / self.FILE))

    @classmethod
    def load(cls, folder: str | Path) -> FaissIndex:
        path = Path(folder) / cls.FILE
        if not path.is_file():
            raise ModelNotFoundError(f"no FAISS index at {path}; rebuild the KB with `deskmate kb build`")
        index = faiss.read_index(str(path))
        return cls(int(index.d), index)
