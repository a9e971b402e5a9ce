"""training.calibration: temperature scaling recovers a known temperature; ECE measures miscalibration."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibration import expected_calibration_error, fit_temperature, negative_log_likelihood, softmax


def sample_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One label per row, drawn from that row's distribution."""
    draws = rng.random((len(probs), 1))
    return np.minimum((probs.cumsum(axis=1) < draws).sum(axis=1), probs.shape[1] - 1).astype(np.int64)


def test_softmax_rows_sum_to_one_and_temperature_flattens() -> None:
    logits = np.array([[2.0, 1.0, 0.0], [1000.0, 0.0, -1000.0]])

    p1, p5 = softmax(logits), softmax(logits, 5.0)

    np.testing.assert_allclose(p1.sum(axis=1), 1.0)
    assert not np.isnan(p1).any()  # large logits are stable
    assert p1[1, 0] == pytest.approx(1.0)
    assert p5[0, 0] < p1[0, 0]
    assert p5[0].argmax() == p1[0].argmax()
    np.testing.assert_allclose(softmax(np.zeros((1, 4))), [[0.25] * 4])


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_a_known_temperature(true_t: float) -> None:
    rng = np.random.default_rng(int(true_t * 10))
    logits = rng.normal(size=(6000, 6)) * 3.0
    labels = sample_labels(softmax(logits, true_t), rng)

    fitted = fit_temperature(logits, labels)

    assert fitted == pytest.approx(true_t, rel=0.08)
    assert negative_log_likelihood(logits, labels, fitted) <= negative_log_likelihood(logits, labels, 1.0) + 1e-9


def test_fit_temperature_stays_in_range() -> None:
    # Always right with tiny logits: the best temperature is as small as allowed.
    logits = np.tile([[0.01, 0.0, 0.0]], (50, 1))
    labels = np.zeros(50, dtype=np.int64)
    assert fit_temperature(logits, labels) == pytest.approx(0.05, rel=0.01)

    # Labels independent of the logits: the best temperature is as large as allowed.
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(400, 3)) * 5
    labels = rng.integers(0, 3, size=400)
    assert 10.0 < fit_temperature(logits, labels) <= 20.0


def test_fit_temperature_without_data_is_one() -> None:
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 1.0


def test_ece_is_near_zero_when_perfectly_calibrated() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(5, 0.5), size=40000)
    labels = sample_labels(probs, rng)

    assert expected_calibration_error(probs, labels) < 0.02


def test_ece_is_large_when_overconfident() -> None:
    rng = np.random.default_rng(1)
    n, k = 4000, 4
    probs = np.full((n, k), 0.01 / (k - 1))
    predicted = rng.integers(0, k, size=n)
    probs[np.arange(n), predicted] = 0.99
    # Right only half the time although 99% sure.
    labels = np.where(rng.random(n) < 0.5, predicted, (predicted + 1) % k)

    ece = expected_calibration_error(probs, labels)

    assert ece == pytest.approx(0.49, abs=0.03)


def test_ece_exact_values() -> None:
    one_hot = np.eye(3)
    assert expected_calibration_error(one_hot, np.array([0, 1, 2])) == 0.0
    assert expected_calibration_error(one_hot, np.array([1, 2, 0])) == pytest.approx(1.0)

    probs = np.array([[0.7, 0.3], [0.7, 0.3], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 0, 0, 1])
    # bin (0.667, 0.733]: acc 1.0 vs conf 0.7; bin (0.6 - 1/15, 0.6]: acc 0.5 vs conf 0.6
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.3 + 0.5 * 0.1)


def test_temperature_scaling_lowers_ece_of_overconfident_logits() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5000, 5)) * 3.0
    labels = sample_labels(softmax(logits, 3.0), rng)  # the raw logits are 3x too sharp

    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, fit_temperature(logits, labels)), labels)

    assert before > 0.1
    assert after < 0.03


def test_select_threshold_meets_the_target_on_the_answered_messages() -> None:
    from training.calibration import select_threshold

    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([True, True, True, True, False, True, False, False])
    threshold, coverage = select_threshold(confidence, correct, target=0.97)
    assert (threshold, coverage) == (0.8, 0.5)  # the 4 most confident are all right
    threshold, coverage = select_threshold(confidence, correct, target=0.8)
    assert (threshold, coverage) == (0.6, 0.75)  # 5 of 6 right = 0.83
    answered = confidence >= threshold
    assert correct[answered].mean() >= 0.8


def test_select_threshold_answers_nothing_when_even_the_best_is_wrong() -> None:
    from training.calibration import select_threshold

    assert select_threshold(np.array([0.9, 0.8]), np.array([False, True]), target=0.97) == (1.0, 0.0)
    assert select_threshold(np.array([]), np.array([], dtype=bool), target=0.97) == (1.0, 0.0)


def test_select_threshold_never_splits_tied_confidences() -> None:
    from training.calibration import select_threshold

    confidence = np.array([0.9, 0.9, 0.5])
    correct = np.array([True, False, True])
    assert select_threshold(confidence, correct, target=0.97) == (1.0, 0.0)
