"""Calibrated confidence: the monotone fit, its fallback, the threshold and the error."""

from __future__ import annotations

import numpy as np
import pytest

from mlcycle.models.calibration import Calibration
from mlcycle.models.calibration_fit import fit_calibration
from mlcycle.models.calibration_metrics import (
    coverage_precision,
    expected_calibration_error,
    threshold_for_precision,
)


def _overconfident(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose top-1 is right with probability score**3: far below what they say."""
    rng = np.random.default_rng(seed)
    scores = rng.beta(5, 1.5, rows)
    return scores, rng.random(rows) < scores**3


def test_the_expected_calibration_error_of_known_cases() -> None:
    right = np.array([True] * 9 + [False])
    assert expected_calibration_error(np.full(10, 0.9), right) == pytest.approx(0.0)
    half = np.array([True, False] * 5)
    assert expected_calibration_error(np.full(10, 0.9), half) == pytest.approx(0.4)
    # 15 equal-width bins: 0.05 and 0.06 share the first, 1.0 falls in the last.
    probs = np.array([0.05, 0.06, 1.0, 1.0])
    assert expected_calibration_error(probs, np.array([False, True, True, True])) == (
        pytest.approx((abs(0.5 - 0.055) * 2) / 4)
    )


def test_a_fit_on_held_out_rows_brings_the_error_under_three_points() -> None:
    scores, right = _overconfident(4000, seed=1)
    calibration = fit_calibration(scores, right, target_precision=0.9, min_rows=50)
    fresh, fresh_right = _overconfident(20_000, seed=2)
    assert expected_calibration_error(fresh, fresh_right) > 0.15
    assert expected_calibration_error(calibration.apply(fresh), fresh_right) < 0.03
    assert calibration.rows == 4000 and not calibration.identity and calibration.note == ""


def test_the_map_is_monotone_and_never_certain() -> None:
    scores, right = _overconfident(300, seed=3)
    calibration = fit_calibration(scores, right, target_precision=0.9, min_rows=50)
    grid = np.linspace(0.0, 1.0, 501)
    mapped = calibration.apply(grid)
    assert np.all(np.diff(mapped) >= 0)
    # A few hundred rows cannot prove a score always or never right.
    assert mapped.min() > 0.0 and mapped.max() < 1.0


def test_too_few_rows_fall_back_to_the_identity_and_say_so() -> None:
    scores, right = _overconfident(49, seed=4)
    calibration = fit_calibration(scores, right, target_precision=0.95, min_rows=50)
    assert calibration.identity and calibration.rows == 49
    np.testing.assert_array_equal(calibration.apply(scores), scores.astype(np.float32))
    assert calibration.threshold == 0.95
    assert "49 calibration rows" in calibration.note and "fewer than 50" in calibration.note


def test_the_threshold_is_the_lowest_two_decimal_value_that_reaches_the_precision() -> None:
    probs = np.array([0.99, 0.97, 0.93, 0.91, 0.86, 0.5, 0.4])
    right = np.array([True, True, True, False, True, False, False])
    # From 0.92 up, 3 right of 3; from 0.87 down to 0.87, 3 of 4 (0.75); 0.86: 4 of 5.
    assert threshold_for_precision(probs, right, 0.8) == pytest.approx(0.51)
    assert threshold_for_precision(probs, right, 0.9) == pytest.approx(0.92)
    assert threshold_for_precision(probs, right, 1.0) == pytest.approx(0.92)
    # Nothing reaches it: only a certain answer would be auto-coded.
    assert threshold_for_precision(probs, ~right, 0.9) == 1.0


def test_the_fitted_threshold_holds_on_fresh_rows() -> None:
    scores, right = _overconfident(4000, seed=5)
    calibration = fit_calibration(scores, right, target_precision=0.9, min_rows=50)
    fresh, fresh_right = _overconfident(20_000, seed=6)
    coded = calibration.apply(fresh) >= calibration.threshold
    assert 0.05 < coded.mean() < 0.9
    assert fresh_right[coded].mean() == pytest.approx(0.9, abs=0.03)


def test_lower_ranks_never_exceed_what_the_top_one_leaves() -> None:
    scores, right = _overconfident(2000, seed=7)
    calibration = fit_calibration(scores, right, target_precision=0.9, min_rows=50)
    raw = np.array([[0.99, 0.98, 0.2], [0.6, 0.1, 0.05]], dtype=np.float32)
    ranked = calibration.apply_ranked(raw)
    np.testing.assert_allclose(ranked[:, 0], calibration.apply(raw[:, 0]))
    assert np.all(ranked[:, 1:] <= 1.0 - ranked[:, :1] + 1e-6)
    assert np.all(np.diff(ranked, axis=1) <= 1e-7)  # still best first


def test_a_calibration_survives_its_json_form() -> None:
    scores, right = _overconfident(500, seed=8)
    calibration = fit_calibration(scores, right, target_precision=0.9, min_rows=50)
    again = Calibration.from_dict(calibration.to_dict())
    assert again == calibration
    np.testing.assert_array_equal(again.apply(scores), calibration.apply(scores))


def test_the_coverage_precision_curve_falls_in_coverage_as_the_threshold_rises() -> None:
    probs = np.array([0.99, 0.97, 0.93, 0.91, 0.86, 0.5, 0.4])
    right = np.array([True, True, True, False, True, False, False])
    curve = coverage_precision(probs, right)
    assert list(curve.columns) == ["threshold", "coverage", "precision"]
    assert len(curve) == 101 and np.all(np.diff(curve["coverage"]) <= 0)
    at = curve.set_index("threshold")
    assert at.loc[0.0, "coverage"] == 1.0 and at.loc[0.0, "precision"] == pytest.approx(4 / 7)
    assert at.loc[0.92, "precision"] == 1.0 and np.isnan(at.loc[1.0, "precision"])


def test_the_fit_that_predicts_held_out_rows_better_is_kept() -> None:
    rng = np.random.default_rng(9)
    scores = rng.beta(5, 1.5, 3000)
    # Right with probability sigmoid(2 logit(s) - 1): the logistic fit's own shape.
    logistic = rng.random(3000) < 1 / (1 + np.exp(-(2 * np.log(scores / (1 - scores)) - 1)))
    assert fit_calibration(scores, logistic, 0.9, 50).method == "logistic"
    # Right 30% of the time below 0.7, 90% above: a step no logistic curve follows.
    step = rng.random(3000) < np.where(scores > 0.7, 0.9, 0.3)
    calibration = fit_calibration(scores, step, 0.9, 50)
    assert calibration.method == "isotonic"
    fresh = rng.beta(5, 1.5, 20_000)
    fresh_right = rng.random(20_000) < np.where(fresh > 0.7, 0.9, 0.3)
    assert expected_calibration_error(calibration.apply(fresh), fresh_right) < 0.02
