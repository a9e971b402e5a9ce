"""retrieval.index: FAISS and its numpy twin give the same answers; FAISS saves and loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.errors import ModelNotFoundError
from retrieval.index import FaissIndex, NumpyIndex
from retrieval.search import Hit


def ids_and_scores(rows: list[list[Hit]]) -> tuple[list[list[int]], np.ndarray]:
    return [[h.corpus_id for h in row] for row in rows], np.array([[h.score for h in row] for row in rows])


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.normal(size=(200, 32)).astype(np.float32), rng.normal(size=(9, 32)).astype(np.float32)


def test_faiss_and_numpy_agree(data: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = data
    faiss_index, numpy_index = FaissIndex(32), NumpyIndex(32)
    for index in (faiss_index, numpy_index):
        index.add(corpus[:120])
        index.add(corpus[120:])  # adding twice appends

    assert faiss_index.size == numpy_index.size == 200
    f_ids, f_scores = ids_and_scores(faiss_index.search(queries, 7))
    n_ids, n_scores = ids_and_scores(numpy_index.search(queries, 7))

    assert f_ids == n_ids
    np.testing.assert_allclose(f_scores, n_scores, atol=1e-5)
    assert all(-1.0 - 1e-5 <= s <= 1.0 + 1e-5 for s in f_scores.ravel())


def test_both_find_the_vector_itself(data: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, _ = data
    for index in (FaissIndex(32), NumpyIndex(32)):
        index.add(corpus)
        hits = index.search(corpus[[5, 150]] * 3.0, 1)  # scale does not matter: vectors are normalised
        assert [row[0].corpus_id for row in hits] == [5, 150]
        assert hits[0][0].score == pytest.approx(1.0, abs=1e-5)


def test_top_k_beyond_size(data: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = data
    for index in (FaissIndex(32), NumpyIndex(32)):
        index.add(corpus[:4])
        rows = index.search(queries[:2], 10)
        assert [sorted(h.corpus_id for h in row) for row in rows] == [[0, 1, 2, 3]] * 2


def test_empty_indexes_return_empty_rows() -> None:
    for index in (FaissIndex(8), NumpyIndex(8)):
        assert index.size == 0
        assert index.search(np.ones((2, 8)), 3) == [[], []]


def test_faiss_rejects_wrong_dimension() -> None:
    with pytest.raises(ValueError, match="dimension 5"):
        FaissIndex(8).add(np.ones((2, 5)))


def test_faiss_save_load_round_trip(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = data
    index = FaissIndex(32)
    index.add(corpus)
    index.save(tmp_path / "idx")

    loaded = FaissIndex.load(tmp_path / "idx")

    assert (tmp_path / "idx" / FaissIndex.FILE).is_file()
    assert loaded.dim == 32
    assert loaded.size == 200
    a_ids, a_scores = ids_and_scores(index.search(queries, 5))
    b_ids, b_scores = ids_and_scores(loaded.search(queries, 5))
    assert a_ids == b_ids
    np.testing.assert_allclose(a_scores, b_scores, atol=1e-6)


def test_faiss_load_from_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="deskmate kb build"):
        FaissIndex.load(tmp_path)
