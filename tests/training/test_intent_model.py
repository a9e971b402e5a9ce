"""Mixing, calibration and threshold choice of the shipped intent model, on cheap stand-ins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.embedder import HashingEmbedder
from training.calibration import softmax
from training.data import IntentData
from training.embedding_head import EmbeddingHead
from training.intent_model import DEFAULT_THRESHOLD, IntentModel, calibrate, mix, simplex
from training.lexical_head import LexicalHead

LABELS = ["refund", "delivery", "login"]
WORDS = {
    "refund": ["refund", "money back", "reimburse", "repay"],
    "delivery": ["parcel", "delivery", "courier", "shipping"],
    "login": ["password", "log in", "sign in", "account locked"],
}


class ScriptedTransformer:
    """Stands in for the fine-tuned model: right on most texts, confidently wrong on some."""

    def __init__(self, wrong_every: int) -> None:
        self.wrong_every = wrong_every
        self.metadata: dict[str, object] = {}

    @property
    def labels(self) -> list[str]:
        return list(LABELS)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for number, text in enumerate(texts):
            gold = next(i for i, label in enumerate(LABELS) if any(w in text for w in WORDS[label]))
            guess = (gold + 1) % 3 if number % self.wrong_every == 0 else gold
            row = np.zeros(3)
            row[guess] = 6.0
            rows.append(row)
        return np.array(rows)


def _data(count: int, seed: int) -> IntentData:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        label = LABELS[int(rng.integers(3))]
        word = WORDS[label][int(rng.integers(4))]
        texts.append(f"hello {word} question number {int(rng.integers(1000))}")
        labels.append(label)
    return IntentData(texts, labels)


def _model(wrong_every: int = 5) -> IntentModel:
    embedder = HashingEmbedder(dim=128)
    train = _data(200, seed=1)
    head = EmbeddingHead.fit(embedder.encode(train.texts), train.labels, label_order=LABELS)
    lexical = LexicalHead.fit(train.texts, train.labels, label_order=LABELS)
    return IntentModel(ScriptedTransformer(wrong_every), head, embedder, lexical=lexical)  # type: ignore[arg-type]


def test_mix_is_a_weighted_sum_of_log_probabilities() -> None:
    a = np.array([[2.0, 0.0, 0.0]])
    b = np.array([[0.0, 3.0, 0.0]])
    assert np.allclose(softmax(mix([a, b], (1.0, 0.0))), softmax(a))
    assert np.allclose(softmax(mix([a, b], (0.0, 1.0))), softmax(b))
    assert np.allclose(softmax(mix([a, b], (0.5, 0.5))), softmax((a + b) / 2))


def test_simplex_covers_every_mix_that_sums_to_one() -> None:
    grid = simplex(0.5)
    assert sorted(grid) == sorted(
        [(0.0, 0.0, 1.0), (0.0, 0.5, 0.5), (0.0, 1.0, 0.0), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0), (1.0, 0.0, 0.0)]
    )
    assert all(abs(sum(w) - 1.0) < 1e-9 for w in simplex())


def test_calibration_picks_weight_temperature_and_a_threshold_that_meets_the_target() -> None:
    model = _model(wrong_every=5)  # the scripted transformer is confidently wrong on 20%
    validation = _data(300, seed=2)
    calibrate(model, validation, target=0.97)
    assert model.weights in simplex() and model.weights[0] < 1.0  # it leans on the heads that are right
    assert model.temperature > 0
    metrics = model.metrics
    assert metrics["threshold_source"] == "validation"
    assert metrics["ece_after"] <= metrics["ece_before"] + 1e-9
    probs = model.probabilities(validation.texts)
    answered = probs.max(axis=1) >= model.threshold
    gold = np.array([LABELS.index(label) for label in validation.labels])
    assert answered.any()
    assert (probs.argmax(axis=1)[answered] == gold[answered]).mean() >= 0.97
    assert abs(answered.mean() - metrics["answered_coverage"]) < 1e-9


def test_a_small_validation_split_keeps_the_default_threshold() -> None:
    model = _model()
    calibrate(model, _data(60, seed=3), target=0.97)
    assert model.threshold == DEFAULT_THRESHOLD
    assert model.metrics["threshold_source"] == "default"


def test_precomputed_embeddings_give_the_same_prediction() -> None:
    model = _model()
    texts = ["my parcel is late", "I want my money back"]
    vectors = model.embedder.encode(texts)
    assert [p.top.intent for p in model.predict(texts)] == [
        p.top.intent for p in model.predict(texts, embeddings=vectors)
    ]
