"""The evaluation report of an intent model on a labelled test set.

``write_report`` writes, into one folder:

* ``metrics.json``: accuracy, macro-F1, ECE, NLL, the answer threshold with its coverage and the
  accuracy of answered messages, and out-of-scope figures when the test set has rows labelled
  ``out_of_scope``;
* ``confusion.png``, ``reliability.png``, ``coverage.png``: confusion matrix, reliability
  diagram, accuracy versus coverage;
* ``misclassified.csv``: every wrong prediction with its confidence;
* ``index.html``: all of it on one page (every text escaped).

Arrays in, files out: the model has already produced the probabilities.
"""

from __future__ import annotations

import csv
import html
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from training.calibration import FloatArray, expected_calibration_error

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Evaluation:
    labels: list[str]  # the model's label order
    texts: list[str]
    gold: list[str]  # may include OUT_OF_SCOPE
    probabilities: FloatArray  # rows over ``labels``
    threshold: float
    scope_scores: npt.NDArray[np.float64] | None = None  # higher = more in scope (e.g. max probability)
    in_scope_gate: npt.NDArray[np.bool_] | None = None  # messages the server's in-scope gate lets through


def auroc(positive: npt.ArrayLike, negative: npt.ArrayLike) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = np.asarray(positive, dtype=np.float64), np.asarray(negative, dtype=np.float64)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def compute_metrics(ev: Evaluation) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    in_scope = np.array([g != OUT_OF_SCOPE for g in ev.gold])
    index = {label: i for i, label in enumerate(ev.labels)}
    gold = np.array([index.get(g, -1) for g in ev.gold], dtype=np.int64)
    predicted = ev.probabilities.argmax(axis=1)
    confidence = ev.probabilities.max(axis=1)
    correct = predicted == gold
    answered = confidence >= ev.threshold
    if ev.in_scope_gate is not None:
        answered &= ev.in_scope_gate
    probs_in, gold_in = ev.probabilities[in_scope], gold[in_scope]
    picked = probs_in[np.arange(len(gold_in)), np.clip(gold_in, 0, None)]
    metrics: dict[str, Any] = {
        "examples": len(ev.gold),
        "in_scope_examples": int(in_scope.sum()),
        "accuracy": float(correct[in_scope].mean()) if in_scope.any() else float("nan"),
        "macro_f1": float(f1_score(gold_in, predicted[in_scope], average="macro", zero_division=0)),
        "ece": expected_calibration_error(probs_in, gold_in),
        "nll": float(-np.log(np.clip(picked, 1e-12, None)).mean()) if len(picked) else float("nan"),
        "threshold": ev.threshold,
        "answered_coverage": float(answered[in_scope].mean()) if in_scope.any() else float("nan"),
        "answered_accuracy": float(correct[in_scope & answered].mean()) if (in_scope & answered).any() else None,
    }
    if (~in_scope).any():
        scores = ev.scope_scores if ev.scope_scores is not None else confidence
        rejected = ~answered
        metrics["out_of_scope"] = {
            "examples": int((~in_scope).sum()),
            "recall": float(rejected[~in_scope].mean()),  # out-of-scope messages not answered
            "precision": float((~in_scope)[rejected].mean()) if rejected.any() else None,
            "in_scope_accuracy_answered_or_correctly_handed_off": float((correct & answered)[in_scope].mean()),
            "auroc": auroc(scores[in_scope], scores[~in_scope]),
        }
    return metrics


def coverage_curve(confidence: FloatArray, correct: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """Accuracy of the k most confident answers for every k, against coverage k / n."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order].astype(np.float64))
    answered = np.arange(1, len(order) + 1, dtype=np.float64)
    coverage: FloatArray = answered / max(len(order), 1)
    accuracy: FloatArray = hits / answered
    return coverage, accuracy


def write_report(ev: Evaluation, out: str | Path, *, title: str = "Intent model evaluation") -> dict[str, Any]:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = compute_metrics(ev)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    _plots(ev, folder)
    misclassified = _misclassified(ev)
    with (folder / "misclassified.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "gold", "predicted", "confidence", "answered"])
        writer.writerows(misclassified)
    (folder / "index.html").write_text(_html(title, metrics, misclassified), encoding="utf-8")
    return metrics


def _misclassified(ev: Evaluation) -> list[list[str]]:
    rows = []
    for text, gold, row in zip(ev.texts, ev.gold, ev.probabilities, strict=True):
        best = int(row.argmax())
        answered = row[best] >= ev.threshold
        if ev.labels[best] != gold and (gold != OUT_OF_SCOPE or answered):
            rows.append([text, gold, ev.labels[best], f"{row[best]:.4f}", "yes" if answered else "no"])
    return sorted(rows, key=lambda r: -float(r[3]))


def _plots(ev: Evaluation, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    in_scope = np.array([g != OUT_OF_SCOPE for g in ev.gold])
    index = {label: i for i, label in enumerate(ev.labels)}
    gold = np.array([index.get(g, -1) for g in np.array(ev.gold)[in_scope]], dtype=np.int64)
    probs = ev.probabilities[in_scope]
    predicted = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    correct = predicted == gold

    n = len(ev.labels)
    matrix = np.zeros((n, n), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        if g >= 0:
            matrix[g, p] += 1
    size = max(6.0, 0.14 * n + 4)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    if n <= 40:
        ax.set_xticks(range(n), ev.labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n), ev.labels, fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "confusion.png", dpi=110)
    plt.close(fig)

    edges = np.linspace(0, 1, 11)
    centres, accuracies, counts = [], [], []
    for low, high in itertools.pairwise(edges):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            centres.append(float(confidence[mask].mean()))
            accuracies.append(float(correct[mask].mean()))
            counts.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(centres, accuracies, "o-", label="model")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "reliability.png", dpi=110)
    plt.close(fig)

    coverage, accuracy = coverage_curve(confidence, correct)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot(coverage, accuracy)
    answered = float((confidence >= ev.threshold).mean())
    ax.axvline(answered, color="orange", linestyle="--", label=f"threshold {ev.threshold:.2f}")
    ax.set_xlabel("coverage (share of messages answered)")
    ax.set_ylabel("accuracy of answered messages")
    ax.set_title("Accuracy versus coverage")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "coverage.png", dpi=110)
    plt.close(fig)


def _html(title: str, metrics: dict[str, Any], misclassified: Sequence[Sequence[str]]) -> str:
    e = html.escape

    def flat(prefix: str, value: Any) -> list[tuple[str, str]]:
        if isinstance(value, dict):
            return [row for key, inner in value.items() for row in flat(f"{prefix}{key}.", inner)]
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        return [(prefix.rstrip("."), shown)]

    metric_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in flat("", metrics))
    wrong_rows = "".join("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in misclassified)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:14px}}img{{max-width:100%;margin:8px 0}}
.plots{{display:grid;grid-template-columns:1fr 1fr;gap:12px}}</style></head>
<body><h1>{e(title)}</h1>
<h2>Metrics</h2><table>{metric_rows}</table>
<h2>Plots</h2><div class="plots"><img src="reliability.png" alt="Reliability diagram">
<img src="coverage.png" alt="Accuracy versus coverage"></div>
<img src="confusion.png" alt="Confusion matrix">
<h2>Misclassified ({len(misclassified)}; also in misclassified.csv)</h2>
<table><tr><th>text</th><th>gold</th><th>predicted</th><th>confidence</th><th>answered</th></tr>{wrong_rows}</table>
</body></html>
"""
