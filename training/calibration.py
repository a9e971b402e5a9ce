"""Temperature scaling and expected calibration error (Guo et al., 2017).

Arrays in, numbers out: no model is loaded here.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def softmax(logits: FloatArray, temperature: float = 1.0) -> FloatArray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exps = np.exp(scaled)
    result: FloatArray = exps / exps.sum(axis=1, keepdims=True)
    return result


def negative_log_likelihood(logits: FloatArray, labels: npt.NDArray[np.int64], temperature: float) -> float:
    probs = softmax(logits, temperature)
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, None)).mean())


def fit_temperature(logits: FloatArray, labels: npt.NDArray[np.int64]) -> float:
    """The temperature in [0.05, 20] minimising validation NLL (golden-section search on log T)."""
    if len(labels) == 0:
        return 1.0
    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa = negative_log_likelihood(logits, labels, float(np.exp(a)))
    fb = negative_log_likelihood(logits, labels, float(np.exp(b)))
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = negative_log_likelihood(logits, labels, float(np.exp(a)))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = negative_log_likelihood(logits, labels, float(np.exp(b)))
    return float(np.exp((low + high) / 2.0))


def expected_calibration_error(probs: FloatArray, labels: npt.NDArray[np.int64], *, bins: int = 15) -> float:
    """ECE of the top-1 confidence, with equal-width bins."""
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            total += abs(correct[mask].mean() - confidence[mask].mean()) * mask.mean()
    return float(total)


def select_threshold(confidence: FloatArray, correct: npt.NDArray[np.bool_], *, target: float) -> tuple[float, float]:
    """The lowest confidence threshold at which answered messages are at least ``target`` correct.

    Messages with confidence >= threshold are answered. Returns (threshold, coverage): the share of
    messages answered. When even the most confident message misses the target, returns (1.0, 0.0):
    the bot answers nothing on its own.
    """
    if len(confidence) == 0:
        return 1.0, 0.0
    order = np.argsort(-confidence, kind="stable")
    sorted_conf = confidence[order]
    hits = np.cumsum(correct[order].astype(np.float64))
    answered = np.arange(1, len(order) + 1, dtype=np.float64)
    precision = hits / answered
    best = -1
    for i in range(len(order)):
        # only cut between distinct confidences: ties are answered together
        if (i + 1 == len(order) or sorted_conf[i + 1] < sorted_conf[i]) and precision[i] >= target:
            best = i
    if best < 0:
        return 1.0, 0.0
    return float(sorted_conf[best]), float((best + 1) / len(order))
