"""retrieval.retriever with the hashing embedder: the right reply, save/load, mismatches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.errors import ModelNotFoundError
from retrieval.ann import ApproximateIndex
from retrieval.embedder import HashingEmbedder
from retrieval.index import FaissIndex, NumpyIndex
from retrieval.pairs import Pair
from retrieval.retriever import RetrievedReply, Retriever

PAIRS = [
    Pair("how do I reset my password", "how do I reset my password", "Use the Forgot password link.", "faq:0"),
    Pair("my parcel has not arrived", "my parcel has not arrived", "Let me check the courier.", "dialogue:d1#0"),
    Pair("can I pay with paypal", "can I pay with paypal", "Yes, PayPal is accepted.", "faq:1"),
    Pair("I want to return my boots", "I want to return my boots", "Returns are free within 30 days.", "dialogue:d2#0"),
    Pair("do you ship to ireland", "do you ship to ireland", "We ship to every EU country.", "faq:2"),
]


@pytest.fixture
def retriever() -> Retriever:
    return Retriever.build(HashingEmbedder(dim=512), PAIRS)


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    embedder = HashingEmbedder(dim=64)

    a = embedder.encode(["Reset my password!", "", "reset MY password"])

    assert a.shape == (3, 64)
    assert a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a[[0, 2]], axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a[0], a[2])  # case and punctuation are ignored
    assert not a[1].any()
    np.testing.assert_array_equal(a, HashingEmbedder(dim=64).encode(["Reset my password!", "", "reset MY password"]))


@pytest.mark.parametrize(
    ("query", "reply"),
    [
        ("I forgot my password, how to reset it", "Use the Forgot password link."),
        ("my parcel still has not arrived", "Let me check the courier."),
        ("can I pay by paypal please", "Yes, PayPal is accepted."),
        ("return boots", "Returns are free within 30 days."),
        ("ship to ireland?", "We ship to every EU country."),
    ],
)
def test_returns_the_right_reply(retriever: Retriever, query: str, reply: str) -> None:
    hits = retriever.search(query, top_k=3)

    assert len(hits) == 3
    assert hits[0].reply == reply
    assert hits[0].score > hits[1].score
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_exact_query_scores_one(retriever: Retriever) -> None:
    best = retriever.search("can I pay with paypal", top_k=1)

    assert best == [
        RetrievedReply("Yes, PayPal is accepted.", "can I pay with paypal", pytest.approx(1.0, abs=1e-5), "faq:1")
    ]


def test_search_many(retriever: Retriever) -> None:
    rows = retriever.search_many(["reset password", "paypal"], top_k=2)

    assert [row[0].source for row in rows] == ["faq:0", "faq:1"]
    assert retriever.search_many([]) == []


def test_save_load_round_trip(tmp_path: Path, retriever: Retriever) -> None:
    retriever.save(tmp_path / "r")

    loaded = Retriever.load(tmp_path / "r", HashingEmbedder(dim=512))

    assert {p.name for p in (tmp_path / "r").iterdir()} >= {"pairs.jsonl", "retriever.json", "vectors.faiss"}
    assert loaded.pairs == PAIRS
    assert loaded.index.size == len(PAIRS)
    for query in ("forgot password", "boots return", "ireland shipping"):
        before, after = retriever.search(query, top_k=3), loaded.search(query, top_k=3)
        assert [(h.reply, h.customer, h.source) for h in after] == [(h.reply, h.customer, h.source) for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-6)


def test_empty_retriever(tmp_path: Path) -> None:
    empty = Retriever.build(HashingEmbedder(dim=32), [])

    assert empty.search("anything") == []
    empty.save(tmp_path / "e")
    assert Retriever.load(tmp_path / "e", HashingEmbedder(dim=32)).pairs == []


def test_size_mismatch_between_index_and_pairs() -> None:
    index = NumpyIndex(16)
    index.add(np.ones((2, 16)))

    with pytest.raises(ValueError, match="2 vectors but 3 pairs"):
        Retriever(HashingEmbedder(dim=16), index, PAIRS[:3])


def test_load_with_embedder_of_another_dimension(tmp_path: Path, retriever: Retriever) -> None:
    retriever.save(tmp_path / "r")

    with pytest.raises(ModelNotFoundError, match="dimension 1536 but the embedder gives 128 for each of 3 turns"):
        Retriever.load(tmp_path / "r", HashingEmbedder(dim=128))


def test_load_from_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no retriever"):
        Retriever.load(tmp_path / "missing", HashingEmbedder())


def test_only_faiss_retrievers_can_be_saved(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dim=16)
    index = NumpyIndex(16)
    index.add(embedder.encode([p.query for p in PAIRS]))
    retriever = Retriever(embedder, index, PAIRS)

    assert retriever.search("paypal", top_k=1)[0].source == "faq:1"
    with pytest.raises(TypeError):
        retriever.save(tmp_path / "n")


NEW = [
    Pair("is there a student discount", "is there a student discount", "Yes, 10% with a student card.", "approved:1"),
    Pair("can I change my delivery address", "can I change my delivery address", "Yes, until it ships.", "approved:2"),
]


def test_build_picks_the_index_by_size() -> None:
    assert isinstance(Retriever.build(HashingEmbedder(dim=64), PAIRS).index, FaissIndex)
    assert not isinstance(Retriever.build(HashingEmbedder(dim=64), PAIRS).index, ApproximateIndex)
    assert isinstance(Retriever.build(HashingEmbedder(dim=64), PAIRS, flat_below=len(PAIRS)).index, ApproximateIndex)


@pytest.mark.parametrize("flat_below", [50_000, 1])
def test_add_appends_pairs_without_a_rebuild(flat_below: int) -> None:
    retriever = Retriever.build(HashingEmbedder(dim=512), PAIRS, flat_below=flat_below)
    before = retriever.search("return boots", top_k=2)

    retriever.add(NEW)
    retriever.add([])

    assert retriever.index.size == len(retriever.pairs) == len(PAIRS) + len(NEW)
    assert retriever.pairs == PAIRS + NEW
    assert retriever.search("student discount", top_k=1)[0].source == "approved:1"
    assert retriever.search("change delivery address", top_k=1)[0].reply == "Yes, until it ships."
    assert retriever.search("return boots", top_k=1) == before[:1]


def test_add_to_an_empty_retriever() -> None:
    retriever = Retriever.build(HashingEmbedder(dim=64), [])

    retriever.add(NEW[:1])

    assert retriever.search("student discount", top_k=3)[0].source == "approved:1"


def test_add_with_a_failing_index_keeps_pairs_and_index_in_step() -> None:
    retriever = Retriever(HashingEmbedder(dim=16), FaissIndex(8), [])

    with pytest.raises(ValueError, match="dimension 16"):
        retriever.add(NEW)
    assert retriever.pairs == []
    assert retriever.index.size == 0


@pytest.mark.parametrize(("flat_below", "kind"), [(50_000, "flat"), (1, "ivf")])
def test_save_load_keeps_the_index_kind_and_added_pairs(tmp_path: Path, flat_below: int, kind: str) -> None:
    retriever = Retriever.build(HashingEmbedder(dim=512), PAIRS, flat_below=flat_below)
    retriever.add(NEW)
    retriever.save(tmp_path / "r")

    loaded = Retriever.load(tmp_path / "r", HashingEmbedder(dim=512))

    meta = {"dim": 3 * 512, "index": kind, "turn_weights": [1.0, 1.0, 0.5]}
    assert json.loads((tmp_path / "r" / "retriever.json").read_text()) == meta
    assert type(loaded.index) is type(retriever.index)
    assert loaded.pairs == PAIRS + NEW
    assert loaded.search("student discount", top_k=1)[0].source == "approved:1"
    loaded.add([Pair("q", "q", "r", "approved:3")])
    assert loaded.index.size == len(PAIRS) + len(NEW) + 1


def test_load_refuses_an_index_of_another_kind_than_recorded(tmp_path: Path, retriever: Retriever) -> None:
    retriever.save(tmp_path / "r")
    (tmp_path / "r" / "retriever.json").write_text(json.dumps({"dim": 512, "index": "ivf"}))

    with pytest.raises(ModelNotFoundError, match=r"records a ivf index but .* holds a flat one"):
        Retriever.load(tmp_path / "r", HashingEmbedder(dim=512))


def test_load_a_retriever_saved_before_the_kind_was_recorded(tmp_path: Path) -> None:
    retriever = Retriever.build(HashingEmbedder(dim=512), PAIRS, turn_weights=None)
    retriever.save(tmp_path / "r")
    (tmp_path / "r" / "retriever.json").write_text(json.dumps({"dim": 512}))

    assert Retriever.load(tmp_path / "r", HashingEmbedder(dim=512)).pairs == PAIRS


def test_turn_weights_survive_save_and_load(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dim=64)
    built = Retriever.build(embedder, [*PAIRS, Pair("hi | Hello! | boots", "boots", "Sizes 36-47.", "dialogue:d3#2")])
    built.save(tmp_path)

    loaded = Retriever.load(tmp_path, embedder)

    assert loaded.turn_weights == built.turn_weights == [1.0, 1.0, 0.5]
    query = ["hi | Hello! | boots"]
    assert [(r.reply, round(r.score, 5)) for r in loaded.search_many(query)[0]] == [
        (r.reply, round(r.score, 5)) for r in built.search_many(query)[0]
    ]

