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
from retrieval.embedder import Embedder
from training.calibration import FloatArray, expected_calibration_error
from training.data import IntentData, load_csv
from training.embedding_head import EmbeddingHead
from training.prediction import IntentPrediction, rank

logger = logging.getLogger(__name__)

OURS = "ours (3-head mix, as served)"
OURS_TRANSFORMER = "ours: fine-tuned MiniLM alone"
OURS_INT8 = "ours, int8 dynamic quantisation"
FROZEN = "baseline (frozen MiniLM + LogReg)"
MULTILINGUAL = "multilingual pipeline (USE v3 head + char n-grams, as a non-English KB)"
BASELINE = "baseline (TF-IDF + LogReg)"
WARMUP_CALLS = 5
LATENCY_SEED = 7
THROUGHPUT_BATCH = 32


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
    throughput_per_s: float | None = None  # messages per second in batches of 32


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


class FrozenEmbeddingBaseline:
    """Logistic regression (C=20) on frozen all-MiniLM-L6-v2 sentence embeddings."""

    def __init__(self, embedder: Embedder, *, c: float = 20.0) -> None:
        self.embedder = embedder
        self.c = c
        self.head: EmbeddingHead | None = None

    def fit(self, data: IntentData) -> FrozenEmbeddingBaseline:
        self.head = EmbeddingHead.fit(
            self.embedder.encode(data.texts), data.labels, label_order=data.label_names, c=self.c
        )
        return self

    @property
    def labels(self) -> list[str]:
        return self.head.labels if self.head else []

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        assert self.head is not None, "fit the baseline first"
        return self.head.probabilities(self.embedder.encode(texts))

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        return [rank(self.labels, row.tolist()) for row in self.probabilities(texts)]


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
    throughput = measure_throughput(model, latency_sample(test.texts, 16 * THROUGHPUT_BATCH)) if sample else None
    return ModelResult(
        name=name,
        accuracy=metrics["accuracy"],
        macro_f1=metrics["macro_f1"],
        ece=metrics["ece"],
        train_seconds=train_seconds,
        latency_median_ms=latency[0] if latency else None,
        latency_p90_ms=latency[1] if latency else None,
        latency_samples=len(sample),
        throughput_per_s=throughput,
    )


def measure_throughput(model: ScoredClassifier, texts: Sequence[str], *, batch: int = 32) -> float | None:
    """Messages per second when predicting in batches of ``batch`` (after one warm-up batch)."""
    if not texts:
        return None
    model.predict(list(texts[:batch]))
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        model.predict(list(texts[start : start + batch]))
    return len(texts) / (time.perf_counter() - started)


def quantized(model: Any) -> Any:
    """A copy of the intent model whose transformer runs in int8 (dynamic quantisation)."""
    from training.intent_model import IntentModel
    from training.transformer import quantize_int8

    return IntentModel(
        quantize_int8(model.transformer),
        model.head,
        model.embedder,
        lexical=model.lexical,
        weights=model.weights,
        temperature=model.temperature,
        threshold=model.threshold,
        metrics=model.metrics,
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
    headers = ["model", "accuracy %", "macro-F1 %", "ECE %", "train s", "median ms", "p90 ms", "batch32 msg/s"]

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
            "-" if r.throughput_per_s is None else f"{r.throughput_per_s:.0f}",
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


def train_ours(data: IntentData, epochs: int | None, embedder: Embedder, *, runtime: str) -> ScoredClassifier:
    """Train the shipped intent model as a KB build does: the sentence encoder exported first for
    ``runtime`` (its int8 scales from the training texts), the heads fitted on its vectors."""
    from training.config import TrainingConfig
    from training.intent_model import train_intent_model

    config = TrainingConfig(runtime=runtime, **({"epochs": epochs} if epochs is not None else {}))
    served = served_embedder(embedder, data.texts, runtime)
    model = train_intent_model(data, served, config=config, progress=True)
    _on_cpu(model)
    return model


def converted(model: Any, data: IntentData, embedder: Embedder, *, runtime: str) -> ScoredClassifier:
    """A saved PyTorch intent model as ``runtime`` serves it: its fine-tuned transformer exported, the
    heads refitted and the mix recalibrated on the same splits of ``data`` as when it was trained."""
    from training.config import TrainingConfig
    from training.intent_model import assemble

    if not hasattr(model.transformer, "model") or runtime == "torch":
        unchanged: ScoredClassifier = model  # already exported, or asked for as it is
        return unchanged
    _on_cpu(model)
    served = served_embedder(embedder, data.texts, runtime)
    rebuilt = assemble(model.transformer, data, served, config=TrainingConfig(runtime=runtime))
    rebuilt.metrics["train_seconds"] = model.metrics.get("train_seconds")
    return rebuilt


def served_embedder(embedder: Embedder, texts: Sequence[str], runtime: str) -> Embedder:
    """The sentence encoder a KB build would serve with ``runtime`` (kb/build.py), in a temporary
    folder removed with it."""
    if runtime == "torch":
        return embedder
    import shutil
    import tempfile
    import weakref

    from kb.build import export_encoder

    folder = Path(tempfile.mkdtemp(prefix="deskmate-bench-encoder-"))
    served = export_encoder(folder, calibration=list(texts), runtime=runtime)
    weakref.finalize(served, shutil.rmtree, folder, True)
    return served


def _on_cpu(model: Any) -> None:
    torch_model = getattr(model.transformer, "model", None)
    if torch_model is not None:
        import torch

        torch_model.to(torch.device("cpu"))


def run_intent_benchmark(
    train_path: str | Path,
    test_path: str | Path,
    *,
    epochs: int | None,
    out: Path | None,
    latency_samples: int,
    trainer: Trainer | None = None,
    frozen_baseline: bool = True,
    save: Path | None = None,
    load: Path | None = None,
    runtime: str = "onnx-int8",
    multilingual: bool | None = None,
) -> dict[str, Any]:
    """Train both models on ``train_path``, score them on ``test_path``, print and return the report.

    ``trainer`` replaces the MiniLM training (tests pass a cheap one); ``frozen_baseline`` adds
    the frozen-MiniLM + logistic-regression baseline (it loads the encoder); ``multilingual``
    (default: as ``frozen_baseline``) adds the intent model a KB in any language other than English
    alone gets (kb/build.py): its English accuracy cost against ours is reported.
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

    embedder: Embedder | None = None
    frozen: ModelResult | None = None
    if frozen_baseline or trainer is None:
        from retrieval.embedder import MiniLMEmbedder

        embedder = MiniLMEmbedder()
    if frozen_baseline and embedder is not None:
        logger.info("fitting the frozen-embedding baseline on %d examples", len(train))
        started = time.perf_counter()
        frozen_model = FrozenEmbeddingBaseline(embedder).fit(train)
        frozen = evaluate(
            FROZEN, frozen_model, test, train_seconds=time.perf_counter() - started, latency_samples=latency_samples
        )

    multilingual_row: ModelResult | None = None
    if frozen_baseline if multilingual is None else multilingual:
        from retrieval.languages.multilingual import MultilingualEmbedder
        from training.intent_model import train_heads_model

        logger.info("fitting the multilingual pipeline's intent model on %d examples", len(train))
        started = time.perf_counter()
        heads = train_heads_model(train, MultilingualEmbedder())
        multilingual_row = evaluate(
            MULTILINGUAL, heads, test, train_seconds=time.perf_counter() - started, latency_samples=latency_samples
        )

    logger.info("training our intent model on %d examples", len(train))
    started = time.perf_counter()
    if trainer is not None:
        ours_model = trainer(train, epochs)
    elif load is not None:
        from training.intent_model import IntentModel

        assert embedder is not None
        ours_model = converted(IntentModel.load(load, embedder), train, embedder, runtime=runtime)
    else:
        assert embedder is not None
        ours_model = train_ours(train, epochs, embedder, runtime=runtime)
    ours_seconds = time.perf_counter() - started
    if load is not None:  # report the training time recorded with the model, not the load time
        ours_seconds = float(getattr(ours_model, "metrics", {}).get("train_seconds", ours_seconds))
    if save is not None and hasattr(ours_model, "save"):
        ours_model.save(save)
    ours = evaluate(OURS, ours_model, test, train_seconds=ours_seconds, latency_samples=latency_samples)
    rows = [ours]
    transformer = getattr(ours_model, "transformer", None)
    if transformer is not None:
        seconds = float(transformer.metadata.get("train_seconds", 0.0))
        rows.append(
            evaluate(OURS_TRANSFORMER, transformer, test, train_seconds=seconds, latency_samples=latency_samples)
        )
    int8: ModelResult | None = None
    if transformer is not None and hasattr(transformer, "model") and hasattr(ours_model, "head"):
        int8 = evaluate(
            OURS_INT8, quantized(ours_model), test, train_seconds=ours_seconds, latency_samples=latency_samples
        )
        rows.append(int8)
    rows += [r for r in (multilingual_row, frozen, baseline) if r is not None]

    facts = {**facts_before, "load_average_end": machine_facts()["load_average"]}
    ratio = ratios(ours, baseline)
    ratio_frozen = ratios(ours, frozen) if frozen is not None else None
    table = format_table(rows)
    metadata = getattr(transformer, "metadata", None) or getattr(ours_model, "metadata", {})
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
            "train_examples": metadata.get("train_examples"),  # the rest is the validation split
            "best_epoch": metadata.get("best_epoch"),
            "history": metadata.get("history"),
            "temperature": getattr(ours_model, "temperature", None),
            "calibration": getattr(ours_model, "metrics", None),
        },
        "models": {"ours": asdict(ours), "baseline": asdict(baseline), **{r.name: asdict(r) for r in rows}},
        "ratios": ratio,
        "ratios_vs_frozen": ratio_frozen,
        "int8": None
        if int8 is None
        else {
            "accuracy_drop_points": round(100 * (ours.accuracy - int8.accuracy), 2),
            "kept": 100 * (ours.accuracy - int8.accuracy) < 0.3,
        },
        "multilingual": None
        if multilingual_row is None
        else {
            # English KBs keep their own pipeline unless this is within 1 point (kb/build.py)
            "accuracy_cost_points": round(100 * (ours.accuracy - multilingual_row.accuracy), 2),
            "within_one_point": 100 * (ours.accuracy - multilingual_row.accuracy) <= 1.0,
        },
        "machine": facts,
        "table": table,
    }
    print(table)
    if multilingual_row is not None:
        cost = report["multilingual"]["accuracy_cost_points"]
        print(f"multilingual pipeline: {cost:+.2f} points of accuracy below ours in English")
    print(format_ratios(ratio))
    if ratio_frozen is not None:
        print(format_ratios(ratio_frozen).replace("ours/baseline", "ours/frozen"))
    print(format_machine(facts))
    if out is not None:
        write_json(report, out)
        print(f"wrote {out}")
    return report
