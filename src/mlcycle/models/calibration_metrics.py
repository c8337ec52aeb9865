"""Figures of calibrated confidence on labelled rows: the expected calibration error, the
coverage-precision curve and the auto-coding threshold that reaches a target precision.

Shared by training (the evaluation split, the calibration rows) and the promotion gates
(the frozen holdout).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# Thresholds are searched in steps of 0.01: each is a bin edge of the monitor's
# probability histograms, so monitoring counts exactly what serving auto-codes.
THRESHOLDS = np.round(np.linspace(0.0, 1.0, 101), 2)
ECE_BINS = 15  # equal-width bins of the expected calibration error (Guo et al., 2017)


def expected_calibration_error(
    probabilities: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Expected calibration error: over equal-width bins of the probability, the gap
    between mean probability and share right, weighted by the bin's rows."""
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    correct = np.asarray(correct, dtype=np.float64)
    if probabilities.size == 0:
        return float("nan")
    index = np.minimum((probabilities * bins).astype(np.int64), bins - 1)
    said = np.bincount(index, weights=probabilities, minlength=bins)
    right = np.bincount(index, weights=correct, minlength=bins)
    return float(np.abs(said - right).sum() / probabilities.size)


def coverage_precision(probabilities: np.ndarray, correct: np.ndarray) -> pd.DataFrame:
    """At each threshold, the share of answers at or above it and their precision
    (NaN where no answer is)."""
    order = np.argsort(np.asarray(probabilities, dtype=np.float64), kind="stable")
    ranked = np.asarray(probabilities, dtype=np.float64)[order]
    right = np.asarray(correct, dtype=np.int64)[order]
    # Right answers from each position to the top, and where each threshold starts.
    right_above = np.concatenate([np.cumsum(right[::-1])[::-1], [0]])
    start = np.searchsorted(ranked, THRESHOLDS - 1e-9, side="left")
    kept, hits = len(ranked) - start, right_above[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(kept > 0, hits / np.maximum(kept, 1), np.nan)
    coverage = kept / max(len(ranked), 1)
    return pd.DataFrame({"threshold": THRESHOLDS, "coverage": coverage, "precision": precision})


def threshold_for_precision(probabilities: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The lowest threshold (in steps of 0.01) whose answers reach ``target`` precision;
    1.0 when none does (then only a certain answer would be coded)."""
    curve = coverage_precision(probabilities, correct)
    reached = curve["threshold"][curve["precision"] >= target - 1e-12]
    return float(reached.iloc[0]) if len(reached) else 1.0


def auto_coding_figures(prediction: Any, truth: np.ndarray, threshold: float) -> dict[str, float]:
    """A calibrated classifier's figures on labelled rows: the ECE (15 equal-width bins)
    of its top-1 probability and of its raw score, the share of rows at or above the
    threshold (``auto_coding_rate``) and the precision of their top-1 (absent when no
    row clears it)."""
    right = prediction.codes[:, 0].astype(str) == np.asarray(truth).astype(str)
    top = np.asarray(prediction.probs[:, 0], dtype=np.float64)
    raw = top if prediction.raw is None else np.asarray(prediction.raw[:, 0], dtype=np.float64)
    coded = top >= threshold - 1e-9
    figures = {
        "ece": expected_calibration_error(top, right),
        "ece_raw": expected_calibration_error(raw, right),
        "auto_coding_threshold": threshold,
        "auto_coding_rate": float(coded.mean()) if len(top) else float("nan"),
    }
    if coded.any():
        figures["auto_coding_precision"] = float(right[coded].mean())
    return figures


def grid_ceil(value: float) -> float:
    """``value`` rounded up to the threshold grid (0.01)."""
    return float(THRESHOLDS[np.searchsorted(THRESHOLDS, value - 1e-9)])
