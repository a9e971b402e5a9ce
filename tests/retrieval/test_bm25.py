"""retrieval.bm25: Okapi BM25 scores checked by hand on a tiny corpus, and against a plain reference."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

import retrieval.bm25 as bm25
from retrieval.bm25 import BM25Index, tokenize
from retrieval.search import Hit

# lengths 3, 4, 2: avgdl = 3; document frequencies: the 2, cat 2, sat 2, dog 1, down 1
CORPUS = ["The cat sat.", "the dog SAT down", "cat, cat"]
IDF_2 = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # ln 1.6
IDF_1 = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))  # ln 8/3


def test_tokenize_lowercases_and_splits_on_non_word_characters() -> None:
    assert tokenize("Hi, I'm Ann-Lee: card #4411!") == ["hi", "i", "m", "ann", "lee", "card", "4411"]
    assert tokenize("  ") == []


def test_scores_by_hand() -> None:
    index = BM25Index.build(CORPUS, k1=1.5, b=0.75)

    scores = index.scores(["cat", "dog sat"])

    # "cat": d0 tf 1, |d| = avgdl: 1 * 2.5 / (1 + 1.5) = 1; d2 tf 2, |d| = 2: 2 * 2.5 / (2 + 1.5 * (0.25 + 0.5)) = 1.6
    np.testing.assert_allclose(scores[0], [IDF_2, 0.0, 1.6 * IDF_2], rtol=1e-6)
    # "dog sat": d1 |d| = 4, so each tf-1 term gives 2.5 / (1 + 1.5 * (0.25 + 1.0)) = 2.5 / 2.875
    np.testing.assert_allclose(scores[1], [IDF_2, (IDF_1 + IDF_2) * 2.5 / 2.875, 0.0], rtol=1e-6)


def test_b_zero_ignores_length_and_k1_zero_ignores_repeats() -> None:
    no_length = BM25Index.build(CORPUS, k1=1.5, b=0.0).scores(["cat"])[0]
    binary = BM25Index.build(CORPUS, k1=0.0, b=0.75).scores(["cat"])[0]

    np.testing.assert_allclose(no_length, [IDF_2, 0.0, 2 * 2.5 / 3.5 * IDF_2], rtol=1e-6)
    np.testing.assert_allclose(binary, [IDF_2, 0.0, IDF_2], rtol=1e-6)


def test_a_repeated_query_word_counts_again() -> None:
    index = BM25Index.build(CORPUS)

    np.testing.assert_allclose(index.scores(["cat cat"])[0], 2 * index.scores(["cat"])[0], rtol=1e-6)


def test_search_ranks_best_first_and_leaves_out_zero_scores() -> None:
    index = BM25Index.build(CORPUS)

    hits = index.search(["cat", "dog", "zebra", ""], top_k=5)

    assert [h.corpus_id for h in hits[0]] == [2, 0]
    assert hits[0][0].score == pytest.approx(1.6 * IDF_2, rel=1e-6)
    assert hits[1] == [Hit(1, pytest.approx(IDF_1 * 2.5 / 2.875, rel=1e-6))]  # type: ignore[arg-type]
    assert hits[2] == [] and hits[3] == []


def test_search_breaks_ties_by_lower_id_and_truncates() -> None:
    index = BM25Index.build(["red", "blue", "red", "red", "green"])

    assert [h.corpus_id for h in index.search(["red"], top_k=2)[0]] == [0, 2]
    assert [h.corpus_id for h in index.search(["red"], top_k=3)[0]] == [0, 2, 3]


def test_search_rejects_top_k_below_one() -> None:
    with pytest.raises(ValueError, match="top_k"):
        BM25Index.build(CORPUS).search(["cat"], top_k=0)


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="0 <= b <= 1"):
        BM25Index.build(CORPUS, b=1.5)


def test_empty_corpus_finds_nothing() -> None:
    index = BM25Index.build([])

    assert index.size == 0
    assert index.search(["cat"], top_k=3) == [[]]


def _reference(corpus: list[str], query: str, k1: float, b: float) -> list[float]:
    docs = [Counter(tokenize(text)) for text in corpus]
    avgdl = sum(sum(d.values()) for d in docs) / len(docs)
    scores = []
    for doc in docs:
        length = sum(doc.values())
        total = 0.0
        for term in tokenize(query):
            df = sum(term in d for d in docs)
            if not df:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            tf = doc[term]
            total += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl))
        scores.append(total)
    return scores


def test_batched_search_matches_a_plain_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    words = [f"w{i}" for i in range(30)]
    corpus = [" ".join(rng.choices(words, k=rng.randint(1, 12))) for _ in range(60)]
    queries = [" ".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(25)]
    monkeypatch.setattr(bm25, "QUERY_CHUNK", 7)  # several chunks, the last one short

    index = BM25Index.build(corpus, k1=1.2, b=0.6)
    hits = index.search(queries, top_k=5)

    assert len(hits) == len(queries)
    for query, row in zip(queries, hits, strict=True):
        expected = _reference(corpus, query, 1.2, 0.6)
        best = sorted((i for i, s in enumerate(expected) if s > 0), key=lambda i: (-expected[i], i))[:5]
        assert [h.score for h in row] == pytest.approx([expected[i] for i in best], rel=1e-5)
        # the documents found score what the reference gives them (ids may swap only on float32 near-ties)
        assert [expected[h.corpus_id] for h in row] == pytest.approx([expected[i] for i in best], rel=1e-5)
