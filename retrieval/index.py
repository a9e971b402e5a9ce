"""Vector indexes behind one small seam: FAISS for production, numpy as its in-memory twin.

Both hold unit-normalised vectors and score by inner product (cosine similarity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

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
    """Exact inner-product search with FAISS (``IndexFlatIP``) on normalised vectors.

    The approximate index for large corpora (``retrieval.ann.ApproximateIndex``) derives from it;
    ``retrieval.ann.load_index`` reads back whichever of the two was saved.
    """

    FILE = "vectors.faiss"
    kind: ClassVar[str] = "flat"

    def __init__(self, dim: int, index: Any = None) -> None:
        self.dim = dim
        self._index: Any = index if index is not None else faiss.IndexFlatIP(dim)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def nbytes(self) -> int:
        """Memory the index holds for its vectors (and graph), in bytes."""
        return 4 * self.size * self.dim

    def add(self, vectors: npt.ArrayLike) -> None:
        array = self._checked(vectors)
        if array.shape[0]:
            self._index.add(array)

    def _checked(self, vectors: npt.ArrayLike) -> Vectors:
        array = normalize(vectors)
        if array.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {array.shape[1]}, the index expects {self.dim}")
        return array

    def search(self, queries: npt.ArrayLike, top_k: int) -> list[list[Hit]]:
        array = self._checked(queries)
        if self.size == 0 or top_k < 1:
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
    def load(cls, folder: str | Path) -> Self:
        return cls.wrap(read_faiss_file(folder), Path(folder) / cls.FILE)

    @classmethod
    def wrap(cls, index: Any, source: Path) -> Self:
        """This class around a FAISS index read from ``source``, refused if it is of another kind."""
        if not isinstance(index, faiss.IndexFlatIP):
            raise ModelNotFoundError(
                f"{source} holds a {type(index).__name__}, not an exact IndexFlatIP; "
                "load it with retrieval.ann.load_index, which recognises every kind Deskmate saves"
            )
        return cls(int(index.d), index)


def read_faiss_file(folder: str | Path) -> Any:
    """The FAISS index saved in ``folder``, cast to its concrete class."""
    path = Path(folder) / FaissIndex.FILE
    if not path.is_file():
        raise ModelNotFoundError(f"no FAISS index at {path}; rebuild the KB with `deskmate kb build`")
    try:
        index: Any = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise ModelNotFoundError(
            f"{path} is not a readable FAISS index ({exc}); rebuild the KB with `deskmate kb build`"
        ) from exc
    concrete: Any = faiss.downcast_index(index)
    concrete.thisown, index.thisown = True, False  # the concrete proxy frees it; the generic one must not
    return concrete
