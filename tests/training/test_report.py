"""The evaluation report on a tiny synthetic evaluation (no model)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from training.report import OUT_OF_SCOPE, Evaluation, auroc, compute_metrics, coverage_curve, write_report

LABELS = ["refund", "delivery"]


def _evaluation() -> Evaluation:
    texts = ["money back please", "where is my parcel", "<script>alert(1)</script>", "tell me a joke"]
    gold = ["refund", "delivery", "refund", OUT_OF_SCOPE]
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.55, 0.45]])
    return Evaluation(LABELS, texts, gold, probs, threshold=0.6)


def test_metrics_cover_accuracy_threshold_and_out_of_scope() -> None:
    metrics = compute_metrics(_evaluation())
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["answered_coverage"] == pytest.approx(1.0)
    assert metrics["answered_accuracy"] == pytest.approx(2 / 3)
    oos = metrics["out_of_scope"]
    assert oos["recall"] == pytest.approx(1.0)  # 0.55 < 0.6: not answered
    assert oos["precision"] == pytest.approx(1.0)
    assert oos["auroc"] == pytest.approx(1.0)  # every in-scope confidence is above 0.55


def test_the_in_scope_gate_holds_back_answers_the_model_was_confident_about() -> None:
    import dataclasses

    gated = dataclasses.replace(_evaluation(), in_scope_gate=np.array([True, False, True, True]))
    metrics = compute_metrics(gated)

    assert metrics["answered_coverage"] == pytest.approx(2 / 3)  # "where is my parcel" held back
    assert metrics["answered_accuracy"] == pytest.approx(1 / 2)
    assert metrics["accuracy"] == pytest.approx(2 / 3)  # the ranking itself is unchanged


def test_auroc_counts_ties_half_and_orders() -> None:
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5], [0.5]) == 0.5
    assert np.isnan(auroc([], [0.3]))


def test_coverage_curve_ends_at_overall_accuracy() -> None:
    coverage, accuracy = coverage_curve(np.array([0.9, 0.8, 0.4]), np.array([True, False, True]))
    assert coverage.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert accuracy.tolist() == pytest.approx([1.0, 0.5, 2 / 3])


def test_report_writes_every_artifact_and_escapes_text(tmp_path: Path) -> None:
    write_report(_evaluation(), tmp_path / "report")
    folder = tmp_path / "report"
    for name in ("metrics.json", "confusion.png", "reliability.png", "coverage.png", "misclassified.csv", "index.html"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "metrics.json").read_text())["examples"] == 4
    with (folder / "misclassified.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text"] for r in rows] == ["<script>alert(1)</script>"]
    page = (folder / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert (folder / "confusion.png").read_bytes().startswith(b"\x89PNG")
