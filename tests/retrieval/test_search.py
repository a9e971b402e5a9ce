"""retrieval.search: cosine top-k against a brute-force numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.search import Hit, normalize, semantic_search


def reference(queries: np.ndarray, corpus: np.ndarray, top_k: int) -> list[list[tuple[int, float]]]:
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    c = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
    scores = q.astype(np.float64) @ c.astype(np.float64).T
    result = []
    for row in scores:
        order = np.argsort(-row)[:top_k]
        result.append([(int(i), float(row[i])) for i in order])
    return result


@pytest.mark.parametrize("top_k", [1, 5, 17])
def test_matches_brute_force(top_k: int) -> None:
    rng = np.random.default_rng(7)
    queries = rng.normal(size=(6, 24))
    corpus = rng.normal(size=(40, 24))

    hits = semantic_search(queries, corpus, top_k=top_k)
    expected = reference(queries, corpus, top_k)

    assert len(hits) == len(queries)
    for row, want in zip(hits, expected, strict=True):
        assert [h.corpus_id for h in row] == [i for i, _ in want]
        np.testing.assert_allclose([h.score for h in row], [s for _, s in want], atol=1e-5)
        scores = [h.score for h in row]
        assert scores == sorted(scores, reverse=True)
        assert all(isinstance(h, Hit) and isinstance(h.corpus_id, int) for h in row)


def test_scale_does_not_change_scores() -> None:
    rng = np.random.default_rng(1)
    queries, corpus = rng.normal(size=(3, 8)), rng.normal(size=(10, 8))

    a = semantic_search(queries, corpus, top_k=4)
    b = semantic_search(queries * 50.0, corpus * 0.01, top_k=4)

    assert [[h.corpus_id for h in row] for row in a] == [[h.corpus_id for h in row] for row in b]
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_allclose([h.score for h in ra], [h.score for h in rb], atol=1e-5)


def test_exact_match_scores_one() -> None:
    rng = np.random.default_rng(2)
    corpus = rng.normal(size=(20, 16))

    hits = semantic_search(corpus[[3, 11]], corpus, top_k=1)

    assert [row[0].corpus_id for row in hits] == [3, 11]
    assert hits[0][0].score == pytest.approx(1.0, abs=1e-5)


def test_top_k_larger_than_corpus_returns_everything() -> None:
    rng = np.random.default_rng(3)

    hits = semantic_search(rng.normal(size=(2, 4)), rng.normal(size=(3, 4)), top_k=10)

    assert [sorted(h.corpus_id for h in row) for row in hits] == [[0, 1, 2], [0, 1, 2]]


def test_single_query_vector_is_one_row() -> None:
    corpus = np.eye(4)

    hits = semantic_search([0.0, 2.0, 0.0, 0.0], corpus, top_k=2)

    assert len(hits) == 1
    assert hits[0][0] == Hit(1, pytest.approx(1.0))
    assert hits[0][1].score == pytest.approx(0.0)


def test_empty_corpus_gives_empty_rows() -> None:
    hits = semantic_search(np.ones((3, 5)), np.zeros((0, 5)), top_k=4)

    assert hits == [[], [], []]


def test_normalize_unit_rows_and_zero_rows() -> None:
    vectors = np.array([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]])

    result = normalize(vectors)

    assert result.dtype == np.float32
    np.testing.assert_allclose(result, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], atol=1e-7)
    assert not np.isnan(result).any()
    np.testing.assert_allclose(vectors, [[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]])  # input untouched


def test_normalize_random_rows_have_unit_length() -> None:
    rng = np.random.default_rng(4)

    result = normalize(rng.normal(size=(50, 33)) * rng.uniform(0.001, 1000, size=(50, 1)))

    np.testing.assert_allclose(np.linalg.norm(result, axis=1), 1.0, atol=1e-5)


def test_normalize_one_vector_and_lists() -> None:
    assert normalize([0.0, 5.0]).shape == (1, 2)
    np.testing.assert_allclose(normalize([[1, 1]]), [[2**-0.5, 2**-0.5]], atol=1e-7)


def test_zero_query_scores_zero_everywhere() -> None:
    hits = semantic_search(np.zeros((1, 3)), np.eye(3), top_k=3)

    assert [h.score for h in hits[0]] == [0.0, 0.0, 0.0]
