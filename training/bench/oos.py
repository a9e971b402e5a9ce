"""Out-of-scope detection: scores, the held-out-intents protocol, and its benchmark.

Protocol (as in the open-intent literature): for each seed, 25% of the intents are held out as
*unknown*; the model trains on the rest; on the test set, messages of unknown intents are
out-of-scope. Each candidate score (higher = more in scope) is judged by AUROC, and at a
threshold chosen on the validation split (the lowest score that still keeps
``1 - in_scope_loss`` of in-scope validation messages) by out-of-scope recall and precision and
by in-scope accuracy (a rejected in-scope message counts as wrong).

Candidate scores:

* ``msp``: the calibrated maximum probability;
* ``energy``: log-sum-exp of the model's (temperature-scaled) mixed logits;
* ``centroid``: cosine similarity to the nearest intent centroid of frozen MiniLM embeddings;
* ``knn``: cosine similarity to the nearest training example (what the server's gate uses);
* ``knn+msp``: the mean of ``knn`` and ``msp``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.embedder import Embedder
from retrieval.search import normalize
from training.calibration import FloatArray, softmax
from training.data import IntentData, load_csv, stratified_split
from training.report import auroc

logger = logging.getLogger(__name__)

SCORES = ("msp", "energy", "centroid", "knn", "knn+msp")


@dataclass(frozen=True)
class ScopeInputs:
    """What the scores are computed from, for one set of messages."""

    logits: FloatArray  # temperature-scaled mixed logits over the known intents
    embeddings: FloatArray  # frozen MiniLM vectors (unit length)


def centroids(embeddings: FloatArray, labels: Sequence[str], order: Sequence[str]) -> FloatArray:
    rows = [embeddings[[i for i, label in enumerate(labels) if label == name]].mean(axis=0) for name in order]
    return normalize(np.array(rows)).astype(np.float64)


def scope_scores(
    inputs: ScopeInputs, train_embeddings: FloatArray, train_centroids: FloatArray
) -> dict[str, FloatArray]:
    probs = softmax(inputs.logits)
    shifted = inputs.logits.max(axis=1)
    energy = shifted + np.log(np.exp(inputs.logits - shifted[:, None]).sum(axis=1))
    knn = np.asarray((inputs.embeddings @ train_embeddings.T).max(axis=1), dtype=np.float64)
    centroid = np.asarray((inputs.embeddings @ train_centroids.T).max(axis=1), dtype=np.float64)
    msp = probs.max(axis=1)
    return {"msp": msp, "energy": energy, "centroid": centroid, "knn": knn, "knn+msp": (knn + msp) / 2.0}


def threshold_keeping(in_scope_scores: npt.ArrayLike, *, keep: float) -> float:
    """The score threshold that keeps ``keep`` of the given in-scope scores (score >= threshold)."""
    scores = np.sort(np.asarray(in_scope_scores, dtype=np.float64))
    if len(scores) == 0:
        return float("-inf")
    index = int(np.floor((1.0 - keep) * len(scores)))
    return float(scores[min(index, len(scores) - 1)])


def judge(
    scores: FloatArray, is_oos: npt.NDArray[np.bool_], correct: npt.NDArray[np.bool_], threshold: float
) -> dict[str, float]:
    rejected = scores < threshold
    in_scope = ~is_oos
    return {
        "auroc": auroc(scores[in_scope], scores[is_oos]),
        "threshold": threshold,
        "oos_recall": float(rejected[is_oos].mean()) if is_oos.any() else float("nan"),
        "oos_precision": float(is_oos[rejected].mean()) if rejected.any() else float("nan"),
        "in_scope_accuracy": float((correct & ~rejected)[in_scope].mean()),
        "closed_set_accuracy": float(correct[in_scope].mean()),
    }


#: (known training data, label order) -> function from texts to ScopeInputs with logits in that order
Fitter = Callable[[IntentData, list[str]], Callable[[Sequence[str]], ScopeInputs]]


def frozen_fitter(embedder: Embedder) -> Fitter:
    """The cheap stand-in model: a logistic-regression head on frozen embeddings (seconds to fit)."""
    from training.embedding_head import EmbeddingHead

    def fit(data: IntentData, order: list[str]) -> Callable[[Sequence[str]], ScopeInputs]:
        head = EmbeddingHead.fit(embedder.encode(data.texts), data.labels, label_order=order)

        def run(texts: Sequence[str]) -> ScopeInputs:
            vectors = np.asarray(embedder.encode(texts), dtype=np.float64)
            return ScopeInputs(head.logits(vectors), vectors)

        return run

    return fit


def full_fitter(embedder: Embedder, *, epochs: int | None) -> Fitter:
    """The shipped intent model (fine-tuned MiniLM + frozen head, calibrated)."""
    from training.config import TrainingConfig
    from training.intent_model import train_intent_model

    def fit(data: IntentData, order: list[str]) -> Callable[[Sequence[str]], ScopeInputs]:
        config = TrainingConfig(epochs=epochs) if epochs else TrainingConfig()
        model = train_intent_model(data, embedder, config=config, progress=True)

        columns = [model.labels.index(label) for label in order]  # the model keeps first-seen order

        def run(texts: Sequence[str]) -> ScopeInputs:
            vectors = np.asarray(embedder.encode(texts), dtype=np.float64)
            return ScopeInputs(model.logits(texts, embeddings=vectors)[:, columns] / model.temperature, vectors)

        return run

    return fit


def run_oos_benchmark(
    train_path: str | Path,
    test_path: str | Path,
    *,
    embedder: Embedder,
    fitter: Fitter,
    seeds: Sequence[int] = (0, 1, 2),
    unknown_fraction: float = 0.25,
    in_scope_loss: float = 0.015,
    out: Path | None = None,
) -> dict[str, Any]:
    train, test = load_csv(train_path), load_csv(test_path)
    intents = sorted(set(train.labels))
    per_seed: list[dict[str, Any]] = []
    for seed in seeds:
        started = time.perf_counter()
        unknown = set(random.Random(seed).sample(intents, round(unknown_fraction * len(intents))))
        known_rows = [i for i, label in enumerate(train.labels) if label not in unknown]
        known = IntentData([train.texts[i] for i in known_rows], [train.labels[i] for i in known_rows])
        fit_part, validation = stratified_split(known, 0.1, seed=seed)
        order = sorted(set(known.labels))
        run = fitter(fit_part, order)
        train_vectors = np.asarray(embedder.encode(fit_part.texts), dtype=np.float64)
        train_centroids = centroids(train_vectors, fit_part.labels, order)
        val_scores = scope_scores(run(validation.texts), train_vectors, train_centroids)
        test_inputs = run(test.texts)
        test_scores = scope_scores(test_inputs, train_vectors, train_centroids)
        predicted = [order[i] for i in test_inputs.logits.argmax(axis=1)]
        is_oos = np.array([label in unknown for label in test.labels])
        correct = np.array([p == g for p, g in zip(predicted, test.labels, strict=True)])
        result = {
            name: judge(test_scores[name], is_oos, correct, threshold_keeping(val_scores[name], keep=1 - in_scope_loss))
            for name in SCORES
        }
        per_seed.append(
            {
                "seed": seed,
                "unknown_intents": sorted(unknown),
                "seconds": time.perf_counter() - started,
                "scores": result,
            }
        )
        logger.info("seed %d done in %.0f s", seed, time.perf_counter() - started)
    summary = {
        name: {
            metric: float(np.median([s["scores"][name][metric] for s in per_seed]))
            for metric in ("auroc", "oos_recall", "oos_precision", "in_scope_accuracy", "closed_set_accuracy")
        }
        for name in SCORES
    }
    report = {
        "seeds": list(seeds),
        "unknown_fraction": unknown_fraction,
        "in_scope_loss": in_scope_loss,
        "median": summary,
        "per_seed": per_seed,
    }
    print(format_oos_table(summary, len(seeds)))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return report


def format_oos_table(summary: dict[str, dict[str, float]], seeds: int) -> str:
    lines = [
        f"median over {seeds} seed(s); threshold keeps 98.5% of in-scope validation messages",
        f"{'score':10s} {'AUROC':>7s} {'OOS recall':>11s} {'OOS prec.':>10s} {'in-scope acc':>13s} {'closed-set acc':>15s}",
    ]
    for name, m in summary.items():
        lines.append(
            f"{name:10s} {m['auroc']:7.3f} {100 * m['oos_recall']:10.1f}% {100 * m['oos_precision']:9.1f}% "
            f"{100 * m['in_scope_accuracy']:12.1f}% {100 * m['closed_set_accuracy']:14.1f}%"
        )
    return "\n".join(lines)
