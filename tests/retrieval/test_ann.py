"""retrieval.ann: the approximate index agrees with the numpy twin, scores exactly, grows, saves and loads."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from bot.errors import ModelNotFoundError
from retrieval.ann import DEFAULT_FLAT_BELOW, ApproximateIndex, choose_index, lists_for, load_index
from retrieval.bench.index import clustered_vectors, recall_at_k
from retrieval.index import FaissIndex, NumpyIndex

DIM = 32


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    vectors = clustered_vectors(3_100, DIM, seed=5)
    return vectors[100:], vectors[:100]  # corpus, queries


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> object:
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # no oversubscription beside other tests
    yield None
    faiss.omp_set_num_threads(previous)


def ids(rows: list) -> list[list[int]]:
    return [[h.corpus_id for h in row] for row in rows]


def small_index() -> ApproximateIndex:
    return ApproximateIndex(DIM, nprobe=8, k_factor=4)


def test_agrees_with_numpy_twin(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = clustered
    approximate, reference = small_index(), NumpyIndex(DIM)
    approximate.add(corpus)
    reference.add(corpus)

    recall = recall_at_k(ids(approximate.search(queries, 10)), ids(reference.search(queries, 10)))

    assert approximate.size == reference.size == len(corpus)
    assert recall >= 0.95


def test_returned_scores_are_exact(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = clustered
    index = small_index()
    index.add(corpus * 7.0)  # unnormalised input is normalised
    unit = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)

    rows = index.search(queries * 0.1, 10)

    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    for query, row in zip(q, rows, strict=True):
        assert len(row) == 10
        found = np.array([h.corpus_id for h in row])
        np.testing.assert_allclose([h.score for h in row], unit[found] @ query, atol=1e-5)
        assert [h.score for h in row] == sorted((h.score for h in row), reverse=True)


def test_incremental_add_finds_new_vectors(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, _ = clustered
    index = small_index()
    index.add(corpus[:2_000])
    index.add(corpus[2_000:])

    rows = index.search(corpus[[10, 2_500, 2_999]], 1)

    assert index.size == len(corpus)
    assert [row[0].corpus_id for row in rows] == [10, 2_500, 2_999]
    assert all(row[0].score == pytest.approx(1.0, abs=1e-5) for row in rows)


def test_search_parameters_are_settable_and_checked() -> None:
    index = ApproximateIndex(DIM, nprobe=20, k_factor=2)
    assert (index.nprobe, index.k_factor) == (20, 2)

    index.nprobe, index.k_factor = 128, 8

    assert (index.nprobe, index.k_factor) == (128, 8)
    with pytest.raises(ValueError, match="nprobe"):
        index.nprobe = 0
    with pytest.raises(ValueError, match="k_factor"):
        index.k_factor = 0
    with pytest.raises(ValueError, match="nlist"):
        ApproximateIndex(DIM, nlist=0)


def test_fewer_probes_miss_more(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = clustered
    index = ApproximateIndex(DIM, nlist=64, k_factor=1)
    index.add(corpus)
    exact = NumpyIndex(DIM)
    exact.add(corpus)
    truth = ids(exact.search(queries, 10))

    recalls = []
    for nprobe in (1, 64):
        index.nprobe = nprobe
        recalls.append(recall_at_k(ids(index.search(queries, 10)), truth))

    assert recalls[0] < 0.95
    assert recalls[1] == pytest.approx(1.0, abs=0.02)  # every list scanned: only 8-bit ties are left


@pytest.mark.parametrize(("count", "lists"), [(1, 1), (79, 1), (80, 2), (3_000, 75), (50_000, 894), (1_000_000, 4_000)])
def test_lists_grow_with_the_square_root_of_the_first_batch(count: int, lists: int) -> None:
    assert lists_for(count) == lists


def test_the_first_batch_sets_the_lists(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, _ = clustered
    default, fixed, tiny = ApproximateIndex(DIM), ApproximateIndex(DIM, nlist=10), ApproximateIndex(DIM, nlist=50)
    assert default.nlist == 1 and fixed.nlist == 10  # before any add

    default.add(corpus)
    fixed.add(corpus)
    tiny.add(corpus[:100])
    tiny.add(corpus[100:])

    assert (default.nlist, fixed.nlist, tiny.nlist) == (lists_for(len(corpus)), 10, 2)
    assert default.nprobe == 32 and tiny.size == len(corpus)


def test_small_and_empty_and_wrong_dimension() -> None:
    index = small_index()
    assert index.search(np.ones((2, DIM)), 3) == [[], []]
    index.add(np.zeros((0, DIM)))
    assert index.size == 0
    index.add(np.eye(DIM)[:3])

    rows = index.search(np.eye(DIM)[:2], 10)

    assert [sorted(h.corpus_id for h in row) for row in rows] == [[0, 1, 2]] * 2
    assert rows[0][0].corpus_id == 0
    with pytest.raises(ValueError, match="dimension 5"):
        index.add(np.ones((2, 5)))


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_save_load_round_trip_recognises_the_kind(
    tmp_path: Path, clustered: tuple[np.ndarray, np.ndarray], kind: str
) -> None:
    corpus, queries = clustered
    index = FaissIndex(DIM) if kind == "flat" else ApproximateIndex(DIM, nprobe=6, k_factor=3)
    index.add(corpus)
    index.save(tmp_path / "idx")

    loaded = load_index(tmp_path / "idx")

    assert type(loaded) is type(index)
    assert loaded.kind == kind
    assert (loaded.dim, loaded.size, loaded.nbytes) == (DIM, len(corpus), index.nbytes)
    assert ids(loaded.search(queries, 5)) == ids(index.search(queries, 5))
    if isinstance(loaded, ApproximateIndex) and isinstance(index, ApproximateIndex):
        assert (loaded.nlist, loaded.nprobe, loaded.k_factor) == (index.nlist, 6, 3)
    loaded.add(queries)  # a loaded index keeps growing
    assert loaded.size == len(corpus) + len(queries)
    assert loaded.search(queries[:1], 1)[0][0].corpus_id == len(corpus)


def test_each_class_refuses_the_other_kind(tmp_path: Path, clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, _ = clustered
    approximate, flat = small_index(), FaissIndex(DIM)
    approximate.add(corpus[:500])
    flat.add(corpus[:500])
    approximate.save(tmp_path / "a")
    flat.save(tmp_path / "f")

    with pytest.raises(ModelNotFoundError, match="load_index"):
        FaissIndex.load(tmp_path / "a")
    with pytest.raises(ModelNotFoundError, match="load_index"):
        ApproximateIndex.load(tmp_path / "f")
    assert isinstance(ApproximateIndex.load(tmp_path / "a"), ApproximateIndex)


def test_load_from_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="deskmate kb build"):
        load_index(tmp_path)
    (tmp_path / FaissIndex.FILE).write_bytes(b"not an index")
    with pytest.raises(ModelNotFoundError, match="not a readable FAISS index"):
        load_index(tmp_path)


def test_memory_of_the_approximate_index_counts_vectors_codes_and_lists(
    clustered: tuple[np.ndarray, np.ndarray],
) -> None:
    corpus, _ = clustered
    flat, approximate = FaissIndex(DIM), small_index()
    flat.add(corpus)
    approximate.add(corpus)

    assert flat.nbytes == 4 * DIM * len(corpus)
    # float copy + one byte per dimension and an 8-byte id per vector + float centroids
    assert approximate.nbytes == flat.nbytes + (DIM + 8) * len(corpus) + 4 * DIM * approximate.nlist


@pytest.mark.parametrize(
    ("size", "flat_below", "kind"),
    [(0, 50_000, "flat"), (49_999, 50_000, "flat"), (50_000, 50_000, "ivf"), (10, 10, "ivf"), (9, 10, "flat")],
)
def test_factory_picks_by_size(size: int, flat_below: int, kind: str) -> None:
    index = choose_index(DIM, size, flat_below=flat_below)

    assert index.kind == kind
    assert isinstance(index, ApproximateIndex) == (kind == "ivf")
    assert index.dim == DIM


def test_factory_default_threshold_and_parameters() -> None:
    assert choose_index(DIM, DEFAULT_FLAT_BELOW - 1).kind == "flat"
    index = choose_index(DIM, DEFAULT_FLAT_BELOW, nlist=7, nprobe=3, k_factor=5)
    assert isinstance(index, ApproximateIndex)
    assert (index.nlist, index.nprobe, index.k_factor) == (7, 3, 5)


def test_a_small_first_batch_does_not_narrow_the_quantiser() -> None:
    index = small_index()
    first = np.zeros((5, DIM), dtype=np.float32)
    first[np.arange(5), np.arange(5)] = 1.0  # only dimensions 0-4 ever vary in the first batch
    index.add(first)
    later = np.zeros((3, DIM), dtype=np.float32)
    later[np.arange(3), [20, 21, 22]] = -1.0

    index.add(later)
    rows = index.search(later, 1)

    assert [row[0].corpus_id for row in rows] == [5, 6, 7]
    assert all(row[0].score == pytest.approx(1.0, abs=1e-5) for row in rows)


def test_quantiser_range_is_learnt_from_a_large_first_batch(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    corpus, queries = clustered
    index = small_index()
    index.add(corpus)
    index.add(queries * -1.0)  # far outside the learnt ranges in places: clipped codes, exact re-ranking

    rows = index.search(queries[:20] * -1.0, 1)

    assert [row[0].corpus_id for row in rows] == list(range(len(corpus), len(corpus) + 20))
