"""Regression monitoring: predicted values against the training target, and live error.

Prediction drift compares the distribution of the window's predicted values with the
training target's (the profile's sample of it), by the numeric rule of
:func:`mlcycle.monitor.numeric.numeric_drift`: a Kolmogorov-Smirnov test when either
side has at most 1,000 values, else the Wasserstein distance in units of the target's
standard deviation. A model's predictions spread less than its target (by the share of
variance it does not explain), so some distance is normal: compare windows with each
other, and judge a regression on its features and its live error.

Live error joins feedback (``true_value``) to the predictions: RMSE, MAE and the bias
(mean of predicted minus true), each with a 95% percentile bootstrap interval. All three
are means of per-row values (RMSE through the mean squared error), so the bootstrap
draws row counts, never rows, with the rows grouped by absolute error beyond a few
hundred (:func:`mlcycle.models.intervals.bootstrap_means`): the cost does not grow
with the number of labelled rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlcycle.data.feature_profile import QUANTILES
from mlcycle.models.intervals import CONFIDENCE, RESAMPLES, Estimate, bootstrap_means
from mlcycle.monitor import aggregates as agg
from mlcycle.monitor import numeric
from mlcycle.monitor.logstore import Window
from mlcycle.monitor.panels import (
    ErrorPanel,
    ErrorPoint,
    LargeError,
    Part,
    TimeSeries,
    ValuePredictionPanel,
)
from mlcycle.monitor.results import DriftResult, require_data

if TYPE_CHECKING:
    from mlcycle.data.profile import ReferenceProfile

LARGEST = 10
TRAINED = ("rmse", "mae", "r2")


def value_panel(
    window: Window, profile: ReferenceProfile | None, bucket_ms: int
) -> ValuePredictionPanel:
    """Predicted values: their distribution, over time, and against the training target."""
    values = agg.predicted_values(window)
    if values.size == 0:
        return ValuePredictionPanel.missing("No predicted value is logged in this window.")
    series = agg.mean_value_by_bucket(window, bucket_ms)
    panel = ValuePredictionPanel(
        count=int(values.size),
        mean=float(values.mean()),
        std=float(values.std()),
        quantiles=_quantiles(values),
        series=TimeSeries([t for t, _ in series], {"mean": [m for _, m in series]}),
    )
    target = profile.target if profile is not None else None
    if target is None or not target.sample:
        panel.drift = Part[DriftResult].missing(
            "No reference profile of the training target: nothing to compare the predicted "
            "values with."
        )
        return panel
    reference = np.asarray(target.sample, np.float64)
    panel.reference_mean, panel.reference_std = float(reference.mean()), float(reference.std())
    panel.reference_quantiles = target.quantiles
    if target.edges:
        panel.edges = target.edges
        panel.reference_histogram = target.histogram
        panel.histogram = np.histogram(np.clip(values, target.edges[0], target.edges[-1]),
                                       bins=target.edges)[0].tolist()  # fmt: skip
    panel.drift = Part(result=numeric.numeric_drift(reference, values))
    return panel


def _quantiles(values: np.ndarray) -> dict[str, float]:
    return dict(zip(map(str, QUANTILES), np.quantile(values, QUANTILES).tolist(), strict=True))


def error_panel(window: Window, bucket_ms: int, trained: dict[str, float]) -> ErrorPanel:
    """Live RMSE, MAE and bias with intervals, the largest errors, the error over time."""
    feedback_rows, unmatched = agg.feedback_counts(window)
    base: dict[str, Any] = {"feedback_rows": feedback_rows, "unmatched_feedback": unmatched,
            "trained": {k: v for k, v in trained.items() if k in TRAINED}}  # fmt: skip
    predicted, true = agg.labelled_values(window)
    if predicted.size == 0:
        return ErrorPanel.missing(
            "No feedback yet for the predictions of this window: send true values to "
            "POST /feedback to measure the live error.",
            **base,
        )
    return ErrorPanel(
        **base,
        labelled=int(predicted.size),
        metrics=error_estimates(predicted, true),
        largest=[LargeError(*row) for row in agg.largest_errors(window, LARGEST)],
        series=[ErrorPoint(*row) for row in agg.error_by_bucket(window, bucket_ms)],
    )


def error_estimates(
    predicted: np.ndarray,
    true: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict[str, Estimate]:
    """RMSE, MAE and bias (mean of predicted - true) with percentile bootstrap intervals.

    Raises:
        NoData: No labelled prediction.
    """
    errors = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    errors = errors[np.isfinite(errors)]
    require_data(errors.size, "current", "labelled predictions (no feedback yet)")
    columns = np.column_stack((errors**2, np.abs(errors), errors))
    boot = bootstrap_means(columns, np.abs(errors), resamples, seed)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    point = columns.mean(axis=0)
    # RMSE is the square root of the mean squared error: its percentiles are theirs.
    return {
        "rmse": Estimate(float(np.sqrt(point[0])), float(np.sqrt(low[0])), float(np.sqrt(high[0]))),
        "mae": Estimate(float(point[1]), float(low[1]), float(high[1])),
        "bias": Estimate(float(point[2]), float(low[2]), float(high[2])),
    }
