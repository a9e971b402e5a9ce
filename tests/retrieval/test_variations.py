"""retrieval.variations: each intent's response variations against a message, with random vectors."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.embedder import HashingEmbedder
from retrieval.search import normalize
from retrieval.variations import VariationIndex


def test_scores_line_up_with_each_intents_variations() -> None:
    embedder = HashingEmbedder(dim=64)
    index = VariationIndex.build(
        embedder,
        {"order": ["track it in your account", "tracking says delivered but missing"], "hi": ["hello"]},
    )
    query = embedder.encode(["tracking says delivered but missing"])

    (scores,) = index.scores(query)

    assert set(scores) == {"order"}  # a single variation leaves nothing to choose
    assert len(scores["order"]) == 2
    assert scores["order"][1] == pytest.approx(1.0, abs=1e-3) and scores["order"][0] < scores["order"][1]


def test_no_variations_to_choose_from_gives_empty_scores() -> None:
    index = VariationIndex.build(HashingEmbedder(dim=8), {"hi": ["hello"]})
    vectors = normalize(np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32))

    assert index.scores(vectors) == [{}, {}, {}]
    with pytest.raises(ValueError, match="2-d"):
        index.scores(np.zeros(8))
