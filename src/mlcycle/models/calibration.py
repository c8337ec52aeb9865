"""Calibrated confidence: how often a classifier's top-1 answer is right, given its score.

fastText's one-vs-all scores are no probabilities (the same texts can score 0.03 or
0.97), so a fixed threshold on them says little about how many auto-coded answers are
wrong. Training fits a monotone map from the raw top-1 score to the share of right
answers on rows the model never learnt from (isotonic regression, pool adjacent
violators), and from the calibrated scores the lowest threshold whose answers reach the
project's target precision. Both are stored in the model, so every copy of it (pyfunc,
server) answers calibrated probabilities and says which answers can be coded without
review.

numpy only: a registered model applies its map where mlcycle is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

# Thresholds are searched in steps of 0.01: each is a bin edge of the monitor's
# probability histograms, so monitoring counts exactly what serving auto-codes.
THRESHOLDS = np.round(np.linspace(0.0, 1.0, 101), 2)
ECE_BINS = 15  # equal-width bins of the expected calibration error (Guo et al., 2017)


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw top-1 score to the probability that the top-1 is right,
    and the auto-coding threshold on the calibrated probability.

    The map is piecewise linear through its knots (constant past both ends); without
    knots it is the identity, used when too few rows were held out to fit one.
    """

    scores: tuple[float, ...]  # the knots' raw scores, increasing
    probabilities: tuple[float, ...]  # the calibrated probability at each knot
    threshold: float  # calibrated top-1 from which an answer is coded without review
    target_precision: float  # what the threshold was chosen to reach
    rows: int  # held-out rows the map was fitted on
    note: str = field(default="")  # why the map is not what was asked for, when it is not

    @property
    def identity(self) -> bool:
        return not self.scores

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of raw top-1 scores (float32, as models answer)."""
        raw = np.asarray(raw, dtype=np.float32)
        if self.identity:
            return raw.copy()
        mapped = np.interp(raw, self.scores, self.probabilities)
        return mapped.astype(np.float32)

    def apply_ranked(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ranked answers (n x k, best first).

        The map is fitted on top-1 scores; lower ranks go through it too, capped by what
        the top-1 leaves (codes exclude each other), so they stay in order below it.
        """
        out = self.apply(raw)
        if not self.identity and out.ndim == 2 and out.shape[1] > 1:
            out[:, 1:] = np.minimum(out[:, 1:], 1.0 - out[:, :1])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": list(self.scores),
            "probabilities": list(self.probabilities),
            "threshold": self.threshold,
            "target_precision": self.target_precision,
            "rows": self.rows,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            tuple(float(x) for x in data["scores"]),
            tuple(float(y) for y in data["probabilities"]),
            float(data["threshold"]),
            float(data["target_precision"]),
            int(data["rows"]),
            str(data.get("note", "")),
        )


@runtime_checkable
class Calibratable(Protocol):
    """A model that carries a calibration and applies it to its answers."""

    calibration: Calibration | None

    def calibrate(self, calibration: Calibration) -> Any: ...


def auto_coding_threshold(model: Any) -> float | None:
    """The threshold a model stores, or None when it carries no calibration."""
    calibration = getattr(model, "calibration", None)
    return calibration.threshold if isinstance(calibration, Calibration) else None


def fit_calibration(
    scores: np.ndarray, correct: np.ndarray, target_precision: float, min_rows: int
) -> Calibration:
    """Fit the map on held-out top-1 scores and whether each top-1 was right.

    Below ``min_rows`` rows a fit would learn the noise: the map is the identity and
    the threshold the target precision itself, and ``note`` says so.
    """
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    rows = len(scores)
    if rows < min_rows:
        why = f"{rows} calibration rows, fewer than {min_rows}"
        return identity_calibration(target_precision, rows, why)
    knots, values = isotonic_knots(scores, correct)
    fitted = Calibration(knots, values, 1.0, target_precision, rows)
    threshold = threshold_for_precision(fitted.apply(scores), correct, target_precision)
    reached = bool(np.any(fitted.apply(scores) >= threshold))
    note = "" if reached else (
        f"No threshold reaches {target_precision:.0%} precision on the {rows} calibration "
        "rows: no answer is auto-coded."
    )  # fmt: skip
    return Calibration(knots, values, threshold, target_precision, rows, note)


def identity_calibration(target_precision: float, rows: int, why: str) -> Calibration:
    """No map: the scores are taken as probabilities, and the threshold is the target
    precision itself (what a calibrated score would need); ``why`` says why."""
    note = (
        f"{why}: the scores are kept as they are (identity calibration) and the "
        f"auto-coding threshold is the target precision itself, {target_precision:g}; "
        "add rows or raise train.calibration.share to calibrate."
    )
    return Calibration((), (), _grid_ceil(target_precision), target_precision, rows, note)


def isotonic_knots(
    scores: np.ndarray, correct: np.ndarray
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The knots of the isotonic fit of ``correct`` on ``scores``.

    Each block of the fit answers its share of right answers with one success and one
    failure added (Laplace), so a small block is never certain; pooling the smoothed
    blocks again keeps them in order.
    """
    unique, inverse = np.unique(scores, return_inverse=True)
    hits = np.bincount(inverse, weights=correct.astype(np.float64))
    counts = np.bincount(inverse).astype(np.float64)
    means, weights, sizes = _pool(hits / counts, counts)
    smoothed, _, merged = _pool((means * weights + 1.0) / (weights + 2.0), weights + 2.0)
    per_score = np.repeat(np.repeat(smoothed, merged), sizes)
    return _knots(unique, per_score)


def _pool(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool adjacent violators: each block's weighted mean, weight and number of points."""
    blocks: list[list[float]] = []  # [mean, weight, points]
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        block = [value, weight, 1.0]
        while blocks and blocks[-1][0] >= block[0]:
            mean, total, points = blocks.pop()
            block = [
                (mean * total + block[0] * block[1]) / (total + block[1]),
                total + block[1],
                points + block[2],
            ]
        blocks.append(block)
    means, totals, points = (np.array(column) for column in zip(*blocks, strict=True))
    return means, totals, points.astype(np.int64)


def _knots(unique: np.ndarray, fitted: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The first and last score of each run of equal fitted values."""
    starts = np.flatnonzero(np.concatenate([[True], np.diff(fitted) != 0]))
    ends = np.concatenate([starts[1:] - 1, [len(fitted) - 1]])
    edges = np.unique(np.concatenate([starts, ends]))
    return tuple(unique[edges].tolist()), tuple(fitted[edges].tolist())


def threshold_for_precision(probabilities: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The lowest threshold (in steps of 0.01) whose answers reach ``target`` precision;
    1.0 when none does (then only a certain answer would be coded)."""
    curve = coverage_precision(probabilities, correct)
    reached = curve["threshold"][curve["precision"] >= target - 1e-12]
    return float(reached.iloc[0]) if len(reached) else 1.0


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


def _grid_ceil(value: float) -> float:
    """``value`` rounded up to the threshold grid (0.01)."""
    return float(THRESHOLDS[np.searchsorted(THRESHOLDS, value - 1e-9)])
