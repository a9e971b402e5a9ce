"""The intent benchmark's cheap parts: metrics, latency, table, JSON and the TF-IDF baseline.

No transformer is trained here; the MiniLM trainer is replaced by the baseline.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.errors import TrainingError
from training.bench.intents import (
    BASELINE,
    MULTILINGUAL,
    OURS,
    ModelResult,
    TfidfLogRegBaseline,
    evaluate,
    format_table,
    latency_sample,
    ratios,
    run_intent_benchmark,
    score,
)
from training.data import IntentData, load_csv
from training.prediction import IntentPrediction, rank

# Invented sentences, three intents; the test set reuses the intents' vocabulary.
TRAIN = {
    "reset_password": [
        "I forgot my password",
        "how do I reset my password",
        "password reset link please",
        "cannot remember my login password",
        "change my password now",
        "my password does not work anymore",
    ],
    "track_parcel": [
        "where is my parcel",
        "track my delivery",
        "my parcel has not arrived",
        "when will the delivery come",
        "tracking number for my parcel",
        "parcel status please",
    ],
    "cancel_plan": [
        "cancel my subscription plan",
        "I want to stop my plan",
        "end my monthly subscription",
        "how to cancel the plan",
        "please cancel my membership plan",
        "stop billing me for the subscription",
    ],
}
TEST = {
    "reset_password": ["reset the password for my login", "I lost my password"],
    "track_parcel": ["where is the delivery of my parcel", "track parcel please"],
    "cancel_plan": ["cancel the subscription", "stop my plan please"],
}


def write_csv(path: Path, rows: dict[str, list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        for intent, texts in rows.items():
            writer.writerows([text, intent] for text in texts)
    return path


class FixedModel:
    """Returns preset probability rows, one per known text."""

    def __init__(self, labels: list[str], rows: dict[str, list[float]]) -> None:
        self._labels = labels
        self.rows = rows
        self.calls = 0
        self.batch_sizes: list[int] = []

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.rows[t] for t in texts], dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        self.calls += 1
        self.batch_sizes.append(len(texts))
        return [rank(self._labels, row.tolist()) for row in self.probabilities(texts)]


def test_score_exact_metrics() -> None:
    model = FixedModel(["a", "b"], {"x": [0.9, 0.1], "y": [0.8, 0.2], "z": [0.3, 0.7], "w": [0.6, 0.4]})
    test = IntentData(["x", "y", "z", "w"], ["a", "b", "b", "c"])  # "c" was never learnt: always wrong
    metrics = score(model, test)
    assert metrics["accuracy"] == pytest.approx(0.5)
    # predicted a, a, b, a. Per label F1: a = 1/2 (p 1/3, r 1), b = 2/3 (p 1, r 1/2), c = 0
    assert metrics["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    # 15 bins: 0.9 right, 0.8 wrong, 0.7 right, 0.6 wrong, each alone in its bin
    assert metrics["ece"] == pytest.approx((0.1 + 0.8 + 0.3 + 0.6) / 4)


def test_evaluate_times_single_messages() -> None:
    texts = [f"t{i}" for i in range(10)]
    model = FixedModel(["a", "b"], {t: [0.7, 0.3] for t in texts})
    result = evaluate("fixed", model, IntentData(texts, ["a"] * 10), train_seconds=1.5, latency_samples=4)
    assert result.accuracy == 1.0
    assert result.latency_samples == 4
    assert result.latency_median_ms is not None and result.latency_p90_ms is not None
    assert 0 <= result.latency_median_ms <= result.latency_p90_ms
    single = [n for n in model.batch_sizes if n == 1]
    assert len(single) >= 4 + 4  # warm-up then the timed calls, one text each
    assert result.throughput_per_s is not None and result.throughput_per_s > 0
    assert max(model.batch_sizes) == 10  # throughput runs whole batches (all 10 texts fit in one)
    none = evaluate("fixed", model, IntentData(texts, ["a"] * 10), train_seconds=1.5, latency_samples=0)
    assert none.latency_median_ms is None and none.latency_samples == 0


def test_latency_sample_is_fixed_and_bounded() -> None:
    texts = [str(i) for i in range(50)]
    assert latency_sample(texts, 10) == latency_sample(texts, 10)
    assert len(set(latency_sample(texts, 10))) == 10
    assert latency_sample(texts[:3], 10) == texts[:3]


def test_table_is_aligned_and_ratios_divide() -> None:
    ours = ModelResult(OURS, 0.93, 0.92, 0.031, 600.0, 12.5, 20.0, 200)
    base = ModelResult(BASELINE, 0.875, 0.87, 0.05, 12.0, 1.25, 2.0, 200)
    table = format_table([ours, base]).splitlines()
    assert len(table) == 4
    assert len({len(line) for line in table}) == 1
    assert table[0].split()[:3] == ["model", "accuracy", "%"]
    assert "93.00" in table[2] and "87.50" in table[3] and "1.25" in table[3]
    values = ratios(ours, base)
    assert values["accuracy"] == pytest.approx(0.93 / 0.875)
    assert values["latency_median"] == pytest.approx(10.0)
    no_latency = ModelResult(BASELINE, 0.0, 0.0, 0.0, 0.0, None, None, 0)
    assert ratios(ours, no_latency)["latency_median"] is None
    assert ratios(ours, no_latency)["accuracy"] is None
    assert format_table([no_latency]).splitlines()[2].rstrip().endswith("-")


def test_baseline_learns_the_tiny_set(tmp_path: Path) -> None:
    train = load_csv(write_csv(tmp_path / "train.csv", TRAIN))
    test = load_csv(write_csv(tmp_path / "test.csv", TEST))
    model = TfidfLogRegBaseline().fit(train)
    assert sorted(model.labels) == sorted(TRAIN)
    probs = model.probabilities(test.texts)
    assert probs.shape == (len(test), 3)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert score(model, test)["accuracy"] >= 5 / 6
    assert model.predict(["I forgot my password"])[0].top.intent == "reset_password"


def test_run_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train_csv = write_csv(tmp_path / "train.csv", TRAIN)
    test_csv = write_csv(tmp_path / "test.csv", TEST)
    out = tmp_path / "nested" / "bench.json"
    seen: list[int | None] = []

    def trainer(data: IntentData, epochs: int | None) -> TfidfLogRegBaseline:
        seen.append(epochs)
        return TfidfLogRegBaseline(c=1.0).fit(data)

    report = run_intent_benchmark(
        train_csv, test_csv, epochs=2, out=out, latency_samples=3, trainer=trainer, frozen_baseline=False
    )
    assert seen == [2]
    printed = capsys.readouterr().out
    assert OURS in printed and BASELINE in printed
    assert "ours/baseline: accuracy" in printed and "torch threads" in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(report))
    assert saved["dataset"]["train_examples"] == 18 and saved["dataset"]["intents"] == 3
    assert saved["models"]["ours"]["latency_samples"] == 3
    assert set(saved["ratios"]) >= {"accuracy", "latency_median"}
    assert saved["machine"]["cpu_count"] >= 1
    for row in TEST["reset_password"] + TRAIN["track_parcel"]:
        assert row not in out.read_text(encoding="utf-8")  # counts and metrics only, never rows


def test_run_refuses_bad_arguments(tmp_path: Path) -> None:
    train_csv = write_csv(tmp_path / "train.csv", TRAIN)
    with pytest.raises(TrainingError):
        run_intent_benchmark(train_csv, train_csv, epochs=0, out=None, latency_samples=3)
    with pytest.raises(TrainingError):
        run_intent_benchmark(train_csv, train_csv, epochs=None, out=None, latency_samples=-1)


def test_the_multilingual_pipeline_is_a_column_with_its_english_cost(tmp_path: Path) -> None:
    train_csv = write_csv(tmp_path / "train.csv", TRAIN)
    test_csv = write_csv(tmp_path / "test.csv", TEST)

    report = run_intent_benchmark(
        train_csv,
        test_csv,
        epochs=1,
        out=None,
        latency_samples=2,
        trainer=lambda data, _: TfidfLogRegBaseline(c=1.0).fit(data),
        frozen_baseline=False,
        multilingual=True,
    )

    row = report["models"][MULTILINGUAL]
    assert 0.0 <= row["accuracy"] <= 1.0
    cost = report["multilingual"]["accuracy_cost_points"]
    assert cost == round(100 * (report["models"]["ours"]["accuracy"] - row["accuracy"]), 2)
    assert report["multilingual"]["within_one_point"] is (cost <= 1.0)
