"""Fitting a calibration on held-out rows: the model's raw top-1 score and whether its
top-1 was right, to a :class:`~mlcycle.models.calibration.Calibration`.

Two monotone fits compete, judged by cross-validated Brier score on the rows themselves:
a logistic fit on the logit of the score (Platt scaling, two parameters, drawn towards
the identity so a few dozen rows cannot bend it far), which needs few rows; and
isotonic regression (pool adjacent violators, each block answering its share of right
answers with one success and one failure added), which fits any monotone shape. On the
generated set the logistic fit wins at every size; a score whose relation to
correctness is not logistic picks the isotonic one. Too few rows fit nothing: the map
is the identity and the run says so.
"""

from __future__ import annotations

import numpy as np

from mlcycle.models.calibration import Calibration
from mlcycle.models.calibration_metrics import grid_ceil, threshold_for_precision

FOLDS = 5
# The logistic fit's pull towards the identity, in rows' worth of evidence.
PRIOR_ROWS = 5.0
# The logistic map is stored as knots evenly spaced in logit, from here to minus here.
LOGIT_SPAN, LOGIT_KNOTS = 16.0, 321

Knots = tuple[tuple[float, ...], tuple[float, ...]]


def fit_calibration(
    scores: np.ndarray, correct: np.ndarray, target_precision: float, min_rows: int
) -> Calibration:
    """Fit the map on held-out top-1 scores and whether each top-1 was right, and the
    threshold whose answers reach ``target_precision`` on them.

    Below ``min_rows`` rows a fit would learn the noise: the map is the identity and
    the threshold the target precision itself, and ``note`` says so.
    """
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    rows = len(scores)
    if rows < min_rows:
        why = f"{rows} calibration rows, fewer than {min_rows}"
        return identity_calibration(target_precision, rows, why)
    method = best_method(scores, correct)
    knots, values = FITS[method](scores, correct)
    mapped = np.interp(scores, knots, values)
    threshold = threshold_for_precision(mapped, correct, target_precision)
    note = "" if np.any(mapped >= threshold - 1e-9) else (
        f"No threshold reaches {target_precision:.0%} precision on the {rows} calibration "
        "rows: no answer is auto-coded."
    )  # fmt: skip
    return Calibration(knots, values, threshold, target_precision, rows, note, method)


def identity_calibration(target_precision: float, rows: int, why: str) -> Calibration:
    """No map: the scores are taken as probabilities, and the threshold is the target
    precision itself (what a calibrated score would need); ``why`` says why."""
    note = (
        f"{why}: the scores are kept as they are (identity calibration) and the "
        f"auto-coding threshold is the target precision itself, {target_precision:g}; "
        "add rows or raise train.calibration.share to calibrate."
    )
    return Calibration((), (), grid_ceil(target_precision), target_precision, rows, note)


def best_method(scores: np.ndarray, correct: np.ndarray, seed: int = 0) -> str:
    """The fit with the lower Brier score on held-out folds of the rows (the logistic
    one on a tie: fewer parameters)."""
    folds = np.random.default_rng(seed).permutation(len(scores)) % FOLDS
    errors = dict.fromkeys(FITS, 0.0)
    for fold in range(FOLDS):
        fit, held = folds != fold, folds == fold
        for method, fitter in FITS.items():
            knots, values = fitter(scores[fit], correct[fit])
            errors[method] += float(np.sum((np.interp(scores[held], knots, values)
                                            - correct[held]) ** 2))  # fmt: skip
    return min(errors, key=lambda method: (errors[method], method != "logistic"))


def logistic_knots(scores: np.ndarray, correct: np.ndarray) -> Knots:
    """Platt scaling on the logit of the score: ``sigmoid(a * logit(s) + b)``, fitted by
    Newton's method on Platt's smoothed targets, ``a`` and ``b`` drawn towards the
    identity (1, 0); tabulated as knots evenly spaced in logit."""
    features = np.column_stack([_logit(scores), np.ones(len(scores))])
    right = int(correct.sum())
    # Platt's targets: no row is taken as certainly right or wrong.
    target = np.where(correct, (right + 1) / (right + 2), 1 / (len(correct) - right + 2))
    prior = np.array([1.0, 0.0])
    weights = prior.copy()
    for _ in range(100):
        predicted = _sigmoid(features @ weights)
        gradient = features.T @ (predicted - target) + PRIOR_ROWS * (weights - prior)
        curvature = (features * (predicted * (1 - predicted))[:, None]).T @ features
        step = np.linalg.solve(curvature + PRIOR_ROWS * np.eye(2), gradient)
        weights -= step
        if np.abs(step).max() < 1e-9:
            break
    if weights[0] <= 0:  # scores that say the opposite of the truth: keep them as they are
        weights = prior
    grid = np.linspace(-LOGIT_SPAN, LOGIT_SPAN, LOGIT_KNOTS)
    return tuple(_sigmoid(grid).tolist()), tuple(_sigmoid(weights[0] * grid + weights[1]).tolist())


def _logit(scores: np.ndarray) -> np.ndarray:
    edge = _sigmoid(np.array(LOGIT_SPAN))
    clipped = np.clip(scores, 1.0 - edge, edge)
    return np.log(clipped / (1.0 - clipped))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def isotonic_knots(scores: np.ndarray, correct: np.ndarray) -> Knots:
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
    means, totals, counts = [np.array(column) for column in zip(*blocks, strict=True)]
    return means, totals, counts.astype(np.int64)


def _knots(unique: np.ndarray, fitted: np.ndarray) -> Knots:
    """The first and last score of each run of equal fitted values."""
    starts = np.flatnonzero(np.concatenate([[True], np.diff(fitted) != 0]))
    ends = np.concatenate([starts[1:] - 1, [len(fitted) - 1]])
    edges = np.unique(np.concatenate([starts, ends]))
    return tuple(unique[edges].tolist()), tuple(fitted[edges].tolist())


FITS = {"logistic": logistic_knots, "isotonic": isotonic_knots}
