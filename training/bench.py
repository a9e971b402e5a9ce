"""Intent benchmark: our fine-tuned MiniLM against a TF-IDF + logistic-regression baseline.

Both models learn from the same training CSV and are scored on the same test CSV (columns
``text,intent``). For each model it measures:

* accuracy and macro-F1 of the top-1 intent on the test set;
* ECE, the expected calibration error of the top-1 probability (15 equal-width bins), which says
  whether the probabilities that drive handoff can be trusted;
* training wall time (``time.perf_counter``; ours includes loading MiniLM and fitting the
  temperature on its held-out slice);
* single-message latency: ``predict([text])`` one message at a time over a fixed sample of test
  messages, after a short warm-up, reported as median and 90th percentile in milliseconds. Torch
  runs on the CPU with its default thread count (it is never changed here), as the chat server does.

The results are printed as a table with the ours/baseline ratios and the machine facts, and can be
written as JSON. No dataset row is copied anywhere: only counts and metrics are reported.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.errors import TrainingError
from training.calibration import FloatArray, expected_calibration_error
from training.data import IntentData, load_csv
from training.prediction import IntentPrediction, rank

logger = logging.getLogger(__name__)

OURS = "ours (MiniLM fine-tuned)"
BASELINE = "baseline (TF-IDF + LogReg)"
WARMUP_CALLS = 5
LATENCY_SEED = 7


class ScoredClassifier(Protocol):
    """Anything the benchmark can score: probabilities over ``labels`` and ranked predictions."""

    @property
    def labels(self) -> list[str]: ...

    def probabilities(self, texts: Sequence[str]) -> FloatArray: ...

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]: ...


#: Trains "ours" on the data for the given epochs (None: the TrainingConfig default).
Trainer = Callable[[IntentData, int | None], ScoredClassifier]


@dataclass(frozen=True)
class ModelResult:
    name: str
    accuracy: float
    macro_f1: float
    ece: float
    train_seconds: float
    latency_median_ms: float | None
    latency_p90_ms: float | None
    latency_samples: int


class TfidfLogRegBaseline:
    """Word 1-2-gram + char_wb 2-5-gram TF-IDF (sublinear tf) under a multinomial logistic regression."""

    def __init__(self, *, c: float = 10.0, max_iter: int = 2000) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        features = FeatureUnion(
            [
                ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ]
        )
        self.pipeline = Pipeline([("tfidf", features), ("logreg", LogisticRegression(C=c, max_iter=max_iter))])
        self._labels: list[str] = []

    def fit(self, data: IntentData) -> TfidfLogRegBaseline:
        self.pipeline.fit(data.texts, data.labels)
        self._labels = [str(label) for label in self.pipeline.classes_]
        return self

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        probs: FloatArray = np.asarray(self.pipeline.predict_proba(list(texts)), dtype=np.float64)
        return probs

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        return [rank(self._labels, row.tolist()) for row in self.probabilities(texts)]


def score(model: ScoredClassifier, test: IntentData) -> dict[str, float]:
    """Accuracy, macro-F1 and top-1 ECE of ``model`` on ``test`` (fractions in [0, 1])."""
    from sklearn.metrics import accuracy_score, f1_score

    labels = model.labels
    probs = model.probabilities(test.texts)
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    index = {label: i for i, label in enumerate(labels)}
    gold = np.array([index.get(label, -1) for label in test.labels], dtype=np.int64)  # -1: never learnt
    return {
        "accuracy": float(accuracy_score(test.labels, predicted)),
        "macro_f1": float(f1_score(test.labels, predicted, average="macro", zero_division=0)),
        "ece": expected_calibration_error(probs, gold),
    }


def latency_sample(texts: Sequence[str], count: int, *, seed: int = LATENCY_SEED) -> list[str]:
    """A fixed random sample of ``count`` texts (all of them when there are fewer)."""
    if count >= len(texts):
        return list(texts)
    return random.Random(seed).sample(list(texts), count)


def measure_latency(model: ScoredClassifier, texts: Sequence[str]) -> tuple[float, float] | None:
    """Median and 90th-percentile milliseconds of ``predict([text])``, one message at a time."""
    if not texts:
        return None
    for text in texts[:WARMUP_CALLS]:
        model.predict([text])
    timings: list[float] = []
    for text in texts:
        started = time.perf_counter()
        model.predict([text])
        timings.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(timings), float(np.percentile(timings, 90))


def evaluate(
    name: str, model: ScoredClassifier, test: IntentData, *, train_seconds: float, latency_samples: int
) -> ModelResult:
    """Score ``model`` on ``test`` and time it on ``latency_samples`` single messages."""
    metrics = score(model, test)
    sample = latency_sample(test.texts, latency_samples)
    latency = measure_latency(model, sample)
    return ModelResult(
        name=name,
        accuracy=metrics["accuracy"],
        macro_f1=metrics["macro_f1"],
        ece=metrics["ece"],
        train_seconds=train_seconds,
        latency_median_ms=latency[0] if latency else None,
        latency_p90_ms=latency[1] if latency else None,
        latency_samples=len(sample),
    )


def ratios(ours: ModelResult, baseline: ModelResult) -> dict[str, float | None]:
    """ours / baseline for accuracy, macro-F1, training time and latency (None where undefined)."""

    def divide(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    return {
        "accuracy": divide(ours.accuracy, baseline.accuracy),
        "macro_f1": divide(ours.macro_f1, baseline.macro_f1),
        "train_seconds": divide(ours.train_seconds, baseline.train_seconds),
        "latency_median": divide(ours.latency_median_ms, baseline.latency_median_ms),
        "latency_p90": divide(ours.latency_p90_ms, baseline.latency_p90_ms),
    }


def machine_facts() -> dict[str, Any]:
    import torch

    return {
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "training_device": "cuda" if torch.cuda.is_available() else "cpu",  # as fine_tune picks it
        "inference_device": "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def format_table(results: Sequence[ModelResult]) -> str:
    """An aligned text table: one row per model."""
    headers = ["model", "accuracy %", "macro-F1 %", "ECE %", "train s", "median ms", "p90 ms"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    rows = [
        [
            r.name,
            f"{100 * r.accuracy:.2f}",
            f"{100 * r.macro_f1:.2f}",
            f"{100 * r.ece:.2f}",
            f"{r.train_seconds:.1f}",
            ms(r.latency_median_ms),
            ms(r.latency_p90_ms),
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])


def format_ratios(values: dict[str, float | None]) -> str:
    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}x"

    return (
        f"ours/baseline: accuracy {show(values['accuracy'])}, macro-F1 {show(values['macro_f1'])}, "
        f"median latency {show(values['latency_median'])}, p90 latency {show(values['latency_p90'])}, "
        f"train time {show(values['train_seconds'])}"
    )


def format_machine(facts: dict[str, Any]) -> str:
    return (
        f"machine: torch threads {facts['torch_threads']}, CPU count {facts['cpu_count']}, "
        f"training on {facts['training_device']}, latency on {facts['inference_device']}, "
        f"torch {facts['torch']}, load average {facts['load_average']}"
    )


def write_json(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def fine_tune_ours(data: IntentData, epochs: int | None) -> ScoredClassifier:
    """Fine-tune MiniLM as ``deskmate train`` does, then move it to the CPU for scoring."""
    import torch

    from training.config import TrainingConfig
    from training.finetune import fine_tune

    config = TrainingConfig(epochs=epochs) if epochs is not None else TrainingConfig()
    classifier = fine_tune(data, config=config, progress=True)
    classifier.model.to(torch.device("cpu"))
    return classifier


def run_intent_benchmark(
    train_path: str | Path,
    test_path: str | Path,
    *,
    epochs: int | None,
    out: Path | None,
    latency_samples: int,
    trainer: Trainer | None = None,
) -> dict[str, Any]:
    """Train both models on ``train_path``, score them on ``test_path``, print and return the report.

    ``trainer`` replaces the MiniLM fine-tuning (tests pass a cheap one).
    """
    if epochs is not None and epochs < 1:
        raise TrainingError(f"--epochs must be at least 1, not {epochs}")
    if latency_samples < 0:
        raise TrainingError(f"--latency-samples must be 0 or more, not {latency_samples}")
    train, test = load_csv(train_path), load_csv(test_path)
    unseen = sorted(set(test.labels) - set(train.labels))
    if unseen:
        logger.warning("%d test intents never occur in training (they count as errors): %s", len(unseen), unseen)
    facts_before = machine_facts()

    logger.info("fitting the baseline on %d examples", len(train))
    started = time.perf_counter()
    baseline_model = TfidfLogRegBaseline().fit(train)
    baseline_seconds = time.perf_counter() - started
    baseline = evaluate(BASELINE, baseline_model, test, train_seconds=baseline_seconds, latency_samples=latency_samples)

    logger.info("fine-tuning MiniLM on %d examples", len(train))
    started = time.perf_counter()
    ours_model = (trainer or fine_tune_ours)(train, epochs)
    ours_seconds = time.perf_counter() - started
    ours = evaluate(OURS, ours_model, test, train_seconds=ours_seconds, latency_samples=latency_samples)

    facts = {**facts_before, "load_average_end": machine_facts()["load_average"]}
    ratio = ratios(ours, baseline)
    table = format_table([ours, baseline])
    metadata = getattr(ours_model, "metadata", {})
    report: dict[str, Any] = {
        "dataset": {
            "train": str(train_path),
            "test": str(test_path),
            "train_examples": len(train),
            "test_examples": len(test),
            "intents": len(train.label_names),
            "unseen_test_intents": unseen,
        },
        "ours_training": {
            "epochs": epochs,
            "config": metadata.get("training"),
            "train_examples": metadata.get("train_examples"),  # the rest fits the temperature
            "temperature": getattr(ours_model, "temperature", None),
        },
        "models": {"ours": asdict(ours), "baseline": asdict(baseline)},
        "ratios": ratio,
        "machine": facts,
        "table": table,
    }
    print(table)
    print(format_ratios(ratio))
    print(format_machine(facts))
    if out is not None:
        write_json(report, out)
        print(f"wrote {out}")
    return report
