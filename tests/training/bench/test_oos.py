"""Out-of-scope scores and the held-out-intents protocol on tiny invented data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedder import HashingEmbedder
from training.bench.oos import (
    SCORES,
    ScopeInputs,
    frozen_fitter,
    judge,
    run_oos_benchmark,
    scope_scores,
    threshold_keeping,
)


def test_threshold_keeps_the_requested_share_of_in_scope_scores() -> None:
    scores = np.linspace(0.0, 1.0, 201)
    threshold = threshold_keeping(scores, keep=0.985)
    assert (scores >= threshold).mean() >= 0.985
    assert threshold_keeping([], keep=0.9) == float("-inf")


def test_judge_counts_rejected_in_scope_messages_as_wrong() -> None:
    scores = np.array([0.9, 0.8, 0.2, 0.1, 0.7])
    is_oos = np.array([False, False, True, True, False])
    correct = np.array([True, False, False, False, True])
    result = judge(scores, is_oos, correct, threshold=0.75)
    assert result["oos_recall"] == 1.0
    assert result["oos_precision"] == pytest.approx(2 / 3)  # 0.7 in-scope was rejected too
    assert result["in_scope_accuracy"] == pytest.approx(1 / 3)
    assert result["closed_set_accuracy"] == pytest.approx(2 / 3)
    assert result["auroc"] == 1.0


def test_scores_are_higher_for_messages_near_the_training_data() -> None:
    train = np.eye(4)[:2]
    inputs = ScopeInputs(
        logits=np.array([[5.0, 0.0], [0.1, 0.0]]), embeddings=np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    )
    scores = scope_scores(inputs, train, train)
    assert set(scores) == set(SCORES)
    for name in SCORES:
        assert scores[name][0] > scores[name][1], name


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


def test_protocol_runs_end_to_end_with_the_frozen_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    topics = {
        "refund": "refund money back",
        "delivery": "parcel courier delivery",
        "login": "password login account",
        "gift": "gift card voucher",
        "size": "size fit chart",
        "tent": "tent pole peg",
        "boots": "boots sole lace",
        "colour": "colour shade dye",
    }
    rows = [(f"{words} question {n}", intent) for intent, words in topics.items() for n in range(12)]
    train = _write(tmp_path / "train.csv", rows)
    test = _write(
        tmp_path / "test.csv", [(f"{words} please {n}", intent) for intent, words in topics.items() for n in range(3)]
    )
    out = tmp_path / "oos.json"
    embedder = HashingEmbedder(dim=128)
    report = run_oos_benchmark(train, test, embedder=embedder, fitter=frozen_fitter(embedder), seeds=[0, 1], out=out)
    assert len(report["per_seed"]) == 2
    assert len(report["per_seed"][0]["unknown_intents"]) == 2  # 25% of 8
    assert report["median"]["knn"]["auroc"] > 0.9  # unknown topics share no words with known ones
    assert json.loads(out.read_text())["seeds"] == [0, 1]
    assert "AUROC" in capsys.readouterr().out
