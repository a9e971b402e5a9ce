from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.errors import ModelNotFoundError, TrainingError
from training.embedding_head import EmbeddingHead


def _blobs(seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = {"refund": np.eye(8)[0], "delivery": np.eye(8)[1], "login": np.eye(8)[2]}
    vectors, labels = [], []
    for label, centre in centres.items():
        for _ in range(20):
            vectors.append(centre + 0.1 * rng.normal(size=8))
            labels.append(label)
    return np.array(vectors), labels


def test_rows_follow_the_requested_label_order_and_predict_right() -> None:
    vectors, labels = _blobs()
    head = EmbeddingHead.fit(vectors, labels, label_order=["login", "refund", "delivery"])
    assert head.labels == ["login", "refund", "delivery"]
    predictions = head.predict(np.eye(8)[:3])
    assert [p.top.intent for p in predictions] == ["refund", "delivery", "login"]
    assert np.allclose(head.probabilities(vectors).sum(axis=1), 1.0)


def test_save_and_load_give_the_same_probabilities(tmp_path: Path) -> None:
    vectors, labels = _blobs()
    head = EmbeddingHead.fit(vectors, labels, label_order=["refund", "delivery", "login"])
    head.temperature = 1.7
    head.save(tmp_path / "head")
    again = EmbeddingHead.load(tmp_path / "head")
    assert again.labels == head.labels
    assert np.allclose(again.probabilities(vectors), head.probabilities(vectors))


def test_missing_folder_and_unlearnable_data_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="deskmate kb build"):
        EmbeddingHead.load(tmp_path)
    vectors, labels = _blobs()
    with pytest.raises(TrainingError, match="no training example"):
        EmbeddingHead.fit(vectors, labels, label_order=["refund", "delivery", "login", "warranty"])
    with pytest.raises(TrainingError, match="two intents"):
        EmbeddingHead.fit(vectors[:5], ["refund"] * 5, label_order=["refund"])
