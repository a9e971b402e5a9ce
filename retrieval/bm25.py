"""Okapi BM25 over a fixed corpus: texts in, ranked :class:`~retrieval.search.Hit` lists out.

The score of document ``d`` for query ``q`` is::

    sum over distinct terms t of q:  qtf(t) * idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

with the non-negative idf of Lucene, ``tf``/``qtf`` the raw term counts in the document and the
query (a repeated query word counts again, as in Lucene and ``rank_bm25``), ``|d|`` the document
length in tokens and ``avgdl`` the mean length. Tokens are the lowercased ``\\w+`` runs.

The per-document term weights are precomputed into a sparse (documents x vocabulary) matrix, so a
batch of queries is scored with one sparse product per chunk of queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from kb.languages.segmentation import words
from retrieval.search import Hit

QUERY_CHUNK = 512  # queries scored per sparse product: bounds the dense (chunk x documents) score block


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens: runs of letters, digits and underscores; Chinese segmented by jieba."""
    return words(text)


class BM25Index:
    """Okapi BM25 with parameters ``k1`` (term-frequency saturation) and ``b`` (length normalisation)."""

    def __init__(self, vocabulary: dict[str, int], weights: sparse.csr_matrix) -> None:
        self.vocabulary = vocabulary
        self._weights_t = weights.T.tocsr()  # vocabulary x documents, for query @ weights_t
        self._size = int(weights.shape[0])

    @property
    def size(self) -> int:
        return self._size

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> BM25Index:
        if k1 < 0 or not 0.0 <= b <= 1.0:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, not k1={k1}, b={b}")
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(texts):
            for token in tokenize(text):
                rows.append(row)
                cols.append(vocabulary.setdefault(token, len(vocabulary)))
        shape = (len(texts), len(vocabulary))
        ones = np.ones(len(rows), dtype=np.float64)
        tf = sparse.csr_matrix((ones, (rows, cols)), shape=shape)  # duplicates are summed: raw counts
        tf.sum_duplicates()
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(lengths.mean()) if len(texts) and lengths.mean() > 0 else 1.0
        df = np.bincount(tf.indices, minlength=len(vocabulary)).astype(np.float64)
        idf = np.log1p((len(texts) - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * lengths / avgdl)  # per document
        counts = tf.data
        doc_of_entry = np.repeat(np.arange(len(texts)), np.diff(tf.indptr))
        tf.data = idf[tf.indices] * counts * (k1 + 1.0) / (counts + norm[doc_of_entry])
        return cls(vocabulary, tf.astype(np.float32))

    def _query_matrix(self, queries: Sequence[str]) -> sparse.csr_matrix:
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(queries):
            for token in tokenize(text):
                column = self.vocabulary.get(token)
                if column is not None:
                    rows.append(row)
                    cols.append(column)
        ones = np.ones(len(rows), dtype=np.float32)
        return sparse.csr_matrix((ones, (rows, cols)), shape=(len(queries), len(self.vocabulary)))

    def scores(self, queries: Sequence[str]) -> npt.NDArray[np.float32]:
        """The dense (queries x documents) BM25 score matrix; use :meth:`search` for large batches."""
        return np.asarray((self._query_matrix(queries) @ self._weights_t).toarray(), dtype=np.float32)

    def search(self, queries: Sequence[str], top_k: int = 10) -> list[list[Hit]]:
        """The ``top_k`` best-scoring documents per query, best first (ties: lower id first).

        Documents sharing no word with the query score 0 and are left out, so a list may be shorter
        than ``top_k``, or empty.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        results: list[list[Hit]] = []
        for start in range(0, len(queries), QUERY_CHUNK):
            block = self.scores(queries[start : start + QUERY_CHUNK])
            results.extend(_top_hits(row, top_k) for row in block)
        return results


def _top_hits(row: npt.NDArray[np.float32], top_k: int) -> list[Hit]:
    candidates = np.flatnonzero(row > 0)
    if len(candidates) > top_k:
        # keep every document tied with the k-th score so that ties resolve by id, not by partition order
        kth = np.partition(row[candidates], len(candidates) - top_k)[len(candidates) - top_k]
        candidates = candidates[row[candidates] >= kth]
    order = np.lexsort((candidates, -row[candidates]))[:top_k]
    return [Hit(int(candidates[i]), float(row[candidates[i]])) for i in order]
