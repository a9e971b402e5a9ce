"""Approximate search for large corpora, re-ranked exactly, and the factory that picks an index by size.

``ApproximateIndex`` is a FAISS inverted-file index (IVF, inner product) over 8-bit scalar-quantised
vectors (``IndexIVFScalarQuantizer``), wrapped in ``IndexRefineFlat``: the ``nprobe`` lists whose
centroids are nearest the query propose ``k_factor * top_k`` candidates scored on the compressed
codes, and a flat copy of the float vectors re-scores them exactly. Every returned score is the
true cosine similarity; only a true neighbour outside the probed lists can be missing. The 8-bit
codes make the scan read 384 instead of 1,536 bytes per 384-d vector; the float copy is the price
of exact scores (about 1.9 KB per vector against 1.5 KB for the flat index).

Why IVF and not HNSW: measured on two cores (``deskmate bench index`` data, 384-d), HNSW over the
same 8-bit codes (M=32, efConstruction=100) took 4 to 6.5 minutes to build a million vectors
and reached recall@10 0.91 / 0.96 / 0.99 at efSearch 64 / 128 / 256, while IVF with 4,000 lists
built in 80 to 112 s with recall 1.0 from nprobe 8 (bench-results/index-speed.json). On a harder mixture (uneven cluster sizes
and spreads, 200,000 vectors) IVF still built in 9 s against 26 s and reached 0.997 at nprobe 32
(0.29 ms a query) where HNSW needed efSearch 256 for 0.984 (0.46 ms). Customer messages cluster by
intent, which suits the inverted lists. New vectors go to the list of their nearest centroid, so
approved answers are appended without a rebuild; the centroids stay those learnt at build time.

Lists: ``4 * sqrt(n)`` for a first batch of ``n`` vectors (k-means on up to ``40`` vectors per
list), never more than ``n // 40``, so a tiny first batch gets a single list, an exact scan.

``load_index`` reads either kind back from a folder and recognises which one was saved.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Self

import faiss
import numpy as np
import numpy.typing as npt

from bot.errors import ModelNotFoundError
from retrieval.index import FaissIndex, read_faiss_file
from retrieval.search import Vectors

#: Corpora smaller than this get the exact flat index; see :func:`choose_index`.
DEFAULT_FLAT_BELOW = 50_000
#: k-means learns the lists' centroids from this many sampled vectors per list (FAISS asks for 39).
POINTS_PER_LIST = 40
#: Below this many vectors in the first batch the 8-bit range is [-1, 1]: see ``_set_ranges``.
MIN_TRAIN = 1_000
#: The 8-bit range learnt per dimension is widened by this share of its width on either side.
RANGE_MARGIN = 0.1


def lists_for(count: int) -> int:
    """Inverted lists for a first batch of ``count`` vectors: ``4 * sqrt(count)``, at most ``count // 40``."""
    return max(1, min(round(4 * math.sqrt(count)), count // POINTS_PER_LIST))


class ApproximateIndex(FaissIndex):
    """IVF over 8-bit codes, candidates re-ranked exactly with the float vectors (``IndexRefineFlat``).

    The centroids and the 8-bit ranges are learnt from the first batch added, so add a
    representative batch first (``Retriever.build`` adds the whole corpus at once); later adds go
    straight into the lists. ``nlist`` fixes the number of lists (default: ``lists_for`` the
    first batch).
    """

    kind = "ivf"

    def __init__(self, dim: int, *, nlist: int | None = None, nprobe: int = 32, k_factor: int = 4) -> None:
        if nlist is not None and nlist < 1:
            raise ValueError(f"nlist must be at least 1, not {nlist}")
        super().__init__(dim, _ivf_refine(dim, nlist or 1))
        self._nlist = nlist
        self.nprobe = nprobe
        self.k_factor = k_factor

    @classmethod
    def wrap(cls, index: Any, source: Path) -> Self:
        """This class around a ``faiss.IndexRefineFlat`` read from ``source`` (its search parameters kept)."""
        if not isinstance(index, faiss.IndexRefineFlat):
            raise ModelNotFoundError(
                f"{source} holds a {type(index).__name__}, not an approximate IndexRefineFlat; "
                "load it with retrieval.ann.load_index, which recognises every kind Deskmate saves"
            )
        approximate = cls.__new__(cls)
        FaissIndex.__init__(approximate, int(index.d), index)
        approximate._nlist = None if not index.is_trained else int(approximate._ivf.nlist)
        return approximate

    @property
    def _ivf(self) -> Any:
        return faiss.downcast_index(self._index.base_index)

    @property
    def nlist(self) -> int:
        """Inverted lists (1 until the first batch has been added, unless given)."""
        return int(self._ivf.nlist)

    @property
    def nprobe(self) -> int:
        """Lists scanned per query; more is slower and surer."""
        return int(self._ivf.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"nprobe must be at least 1, not {value}")
        self._ivf.nprobe = int(value)

    @property
    def k_factor(self) -> int:
        """How many candidates per wanted hit go to the exact re-ranking."""
        return int(self._index.k_factor)

    @k_factor.setter
    def k_factor(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"k_factor must be at least 1, not {value}")
        self._index.k_factor = float(value)

    @property
    def nbytes(self) -> int:
        ivf = self._ivf
        lists = self.size * (int(ivf.code_size) + 8)  # code and id of each vector
        return lists + 4 * self.nlist * self.dim + 4 * self.size * self.dim

    def add(self, vectors: npt.ArrayLike) -> None:
        array = self._checked(vectors)
        if array.shape[0] == 0:
            return
        if not self._index.is_trained:
            self._train(array)
        self._index.add(array)

    def _train(self, first: Vectors) -> None:
        nlist = min(self._nlist or lists_for(len(first)), max(1, len(first) // POINTS_PER_LIST))
        if nlist != self.nlist:  # nothing added yet: start again with the right number of lists
            nprobe, k_factor = self.nprobe, self.k_factor
            self._index = _ivf_refine(self.dim, nlist)
            self.nprobe, self.k_factor = nprobe, k_factor
        sample = first
        if len(first) > POINTS_PER_LIST * nlist:
            rows = np.random.default_rng(0).choice(len(first), POINTS_PER_LIST * nlist, replace=False)
            sample = first[np.sort(rows)]
        self._index.train(sample)
        _set_ranges(self._ivf.sq, self.dim, full=len(first) < MIN_TRAIN)


def _ivf_refine(dim: int, nlist: int) -> Any:
    eight_bit: Any = faiss.ScalarQuantizer.QT_8bit  # (faiss's stubs mistype the quantiser argument)
    by_residual = False  # codes of the vectors themselves: same recall here, faster to build
    ivf: Any = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, nlist, eight_bit, faiss.METRIC_INNER_PRODUCT, by_residual
    )
    return faiss.IndexRefineFlat(ivf)


def _set_ranges(quantiser: Any, dim: int, *, full: bool) -> None:
    """Widen the 8-bit ranges learnt per dimension, so later vectors a little outside are not clipped.

    From a first batch under ``MIN_TRAIN`` vectors the learnt ranges say too little (a dimension
    that never varied would code every later value as its one value), so the full range of unit
    vectors, [-1, 1], is used: coarser codes, but nothing is ever clipped.
    """
    trained = faiss.vector_to_array(quantiser.trained).astype(np.float32)  # vmin per dimension, then width
    low, width = trained[:dim], trained[dim:]
    if full:
        low, width = np.full(dim, -1.0, dtype=np.float32), np.full(dim, 2.0, dtype=np.float32)
    else:
        low, width = low - RANGE_MARGIN * width, width * (1 + 2 * RANGE_MARGIN)
    faiss.copy_array_to_vector(np.concatenate([low, width]).astype(np.float32), quantiser.trained)


def choose_index(
    dim: int,
    expected_size: int,
    *,
    flat_below: int = DEFAULT_FLAT_BELOW,
    nlist: int | None = None,
    nprobe: int = 32,
    k_factor: int = 4,
) -> FaissIndex:
    """The exact flat index for fewer than ``flat_below`` vectors, the approximate one from there on.

    Below about 50,000 vectors of dimension 384 a flat scan answers one query in a few
    milliseconds, gives exact results, needs no training and takes the least memory, so an
    approximate index would only add build time (3.5 s at 50,000), 26% more memory and a small
    chance of a miss. The flat scan grows linearly (one query on one thread: 0.3 ms at 10,000,
    10 ms at 100,000, 60 ms at a million vectors) while the approximate index stays under a
    millisecond (0.2 to 0.5 ms at nprobe 32), which is where it pays. ``deskmate bench index``
    measures both (bench-results/index-speed.json).
    """
    if expected_size >= flat_below:
        return ApproximateIndex(dim, nlist=nlist, nprobe=nprobe, k_factor=k_factor)
    return FaissIndex(dim)


def load_index(folder: str | Path) -> FaissIndex:
    """The index saved in ``folder``: a ``FaissIndex`` or an ``ApproximateIndex``, whichever was saved."""
    index, source = read_faiss_file(folder), Path(folder) / FaissIndex.FILE
    if isinstance(index, faiss.IndexRefineFlat):
        return ApproximateIndex.wrap(index, source)
    return FaissIndex.wrap(index, source)
