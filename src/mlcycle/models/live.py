"""Two model versions compared on live traffic: agreement, live quality, the difference.

Shadow traffic gives **matched pairs**: the same requests answered by both versions.
Canary traffic gives **two independent arms**: different requests, one version each.
Every difference is challenger minus champion, with its interval and a p-value:

* Top-1 accuracy, paired: the interval is a paired percentile bootstrap of the mean
  per-row difference of hits; the p-value is McNemar's exact test (a two-sided binomial
  test on the discordant pairs: the rows exactly one version got right).
* Top-1 accuracy, independent arms: each arm bootstrapped on its own; the p-value is
  Fisher's exact test on the 2x2 table of hits and misses.
* RMSE and MAE (regression): the interval and a two-sided bootstrap p-value (twice the
  share of resampled differences on the far side of zero), paired or independent. The
  relative RMSE (challenger / champion) comes with its interval too.

Resampling is seeded: the same inputs and seed give the same intervals. Large inputs are
bootstrapped by groups (:func:`mlcycle.models.intervals.bootstrap_means`), the paired
rows sorted by their difference so each group holds near-equal differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput
from mlcycle.models.intervals import (
    CONFIDENCE,
    RESAMPLES,
    Estimate,
    bootstrap_means,
    differing_pairs,
    wilson_estimate,
)

SHADOW, CANARY = "shadow", "canary"
TOP_PAIRS = 10
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class Difference:
    """Challenger minus champion, its interval and the p-value of no difference."""

    value: float
    low: float
    high: float
    p_value: float
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high,
                "p_value": self.p_value, "test": self.test}  # fmt: skip


@dataclass(frozen=True)
class MetricComparison:
    """One live metric for each version and their difference."""

    champion: Estimate
    challenger: Estimate
    difference: Difference
    # Regression: challenger RMSE / champion RMSE, with its interval.
    ratio: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "champion": self.champion.to_dict(),
            "challenger": self.challenger.to_dict(),
            "difference": self.difference.to_dict(),
        }
        if self.ratio is not None:
            out["ratio"] = self.ratio.to_dict()
        return out


@dataclass
class Comparison:
    """What one experiment's traffic says about two versions.

    Attributes:
        mode: ``shadow`` (matched pairs) or ``canary`` (independent arms).
        rows: Rows per side (``champion``, ``challenger``): equal for shadow pairs.
        labelled: Rows with feedback per side.
        agreement: Shadow only: how often the versions agree, where they differ.
        metrics: ``accuracy_top1``, or ``rmse`` and ``mae``, compared.
    """

    mode: str
    champion_version: str
    challenger_version: str
    rows: dict[str, int]
    labelled: dict[str, int]
    agreement: dict[str, Any] | None = None
    metrics: dict[str, MetricComparison] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "rows": self.rows,
            "labelled": self.labelled,
            "agreement": self.agreement,
            "metrics": {name: metric.to_dict() for name, metric in self.metrics.items()},
        }


def _tails(confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    return tail, 100.0 - tail


def _interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    low, high = np.percentile(draws, _tails(confidence))
    return float(low), float(high)


def _bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value of a zero difference."""
    below, above = float(np.mean(draws <= 0.0)), float(np.mean(draws >= 0.0))
    return min(1.0, 2.0 * min(below, above))


def code_agreement(champion: Any, challenger: Any, top: int = TOP_PAIRS) -> dict[str, Any]:
    """Share of rows with the same top-1 label (Wilson interval) and the most frequent
    ``champion -> challenger`` disagreements."""
    a, b = _same_length(np.asarray(champion, str), np.asarray(challenger, str))
    same = int((a == b).sum())
    return {
        "pairs": int(a.size),
        "rate": wilson_estimate(same, a.size).to_dict() if a.size else None,
        "disagreements": [
            {"champion": x, "challenger": y, "count": n, "share": share}
            for x, y, n, share in differing_pairs(a, b, top=top)
        ],
    }


def value_agreement(
    champion: Any,
    challenger: Any,
    tolerance: float | None = None,
    keys: list[str] | None = None,
    top: int = TOP_PAIRS,
) -> dict[str, Any]:
    """Share of rows whose predicted values differ by at most ``tolerance`` (default: 5%
    of the spread of the champion's values), the quantiles of challenger - champion and
    the largest differences (``keys`` names each row)."""
    a, b = _same_length(np.asarray(champion, np.float64), np.asarray(challenger, np.float64))
    if a.size == 0:
        return {"pairs": 0, "tolerance": tolerance, "rate": None, "difference": None, "largest": []}
    diff = b - a
    if tolerance is None:
        tolerance = 0.05 * float(a.std())
    within = int((np.abs(diff) <= tolerance).sum())
    order = np.argsort(-np.abs(diff), kind="stable")[:top].tolist()
    quantiles = np.quantile(diff, QUANTILES).tolist()
    return {
        "pairs": int(a.size),
        "tolerance": tolerance,
        "rate": wilson_estimate(within, a.size).to_dict(),
        "difference": {
            "mean": float(diff.mean()),
            "quantiles": dict(zip(map(str, QUANTILES), quantiles, strict=True)),
        },
        "largest": [
            {
                "row": keys[i] if keys else i,
                "champion": float(a[i]),
                "challenger": float(b[i]),
                "difference": float(diff[i]),
            }
            for i in order
            if diff[i]
        ],
    }


def paired_accuracy(
    champion_hits: Any,
    challenger_hits: Any,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> MetricComparison:
    """Top-1 accuracy of both versions on the same labelled rows: Wilson intervals each,
    a paired bootstrap interval of the difference and McNemar's exact p-value.

    Raises:
        InvalidInput: No rows, or the two inputs differ in length.
    """
    from scipy.stats import binomtest  # here: SciPy's stats take a second to import

    a, b = _same_length(*_hits(champion_hits, challenger_hits))
    n = a.size
    diff = b - a
    draws = bootstrap_means(diff[:, None], diff, resamples, seed)[:, 0]
    worse, better = int((diff < 0).sum()), int((diff > 0).sum())
    p = 1.0 if worse + better == 0 else binomtest(better, worse + better, 0.5).pvalue
    return MetricComparison(
        wilson_estimate(a.sum(), n, confidence),
        wilson_estimate(b.sum(), n, confidence),
        Difference(float(diff.mean()), *_interval(draws, confidence), float(p),
                   "McNemar exact (binomial on discordant pairs); paired bootstrap interval"),
    )  # fmt: skip


def independent_accuracy(
    champion_hits: Any,
    challenger_hits: Any,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> MetricComparison:
    """Top-1 accuracy of two arms on different rows: Wilson intervals each, a bootstrap
    interval of the difference (each arm resampled on its own) and Fisher's exact p-value.

    Raises:
        InvalidInput: An arm has no rows.
    """
    from scipy.stats import fisher_exact  # here: SciPy's stats take a second to import

    a, b = _hits(champion_hits, challenger_hits)
    first = bootstrap_means(a[:, None], a, resamples, seed)[:, 0]
    second = bootstrap_means(b[:, None], b, resamples, seed + 1)[:, 0]
    table = [[int(b.sum()), int(b.size - b.sum())], [int(a.sum()), int(a.size - a.sum())]]
    p = float(fisher_exact(table).pvalue)
    return MetricComparison(
        wilson_estimate(a.sum(), a.size, confidence),
        wilson_estimate(b.sum(), b.size, confidence),
        Difference(float(b.mean() - a.mean()), *_interval(second - first, confidence),
                   p, "Fisher exact; independent bootstrap interval"),
    )  # fmt: skip


def paired_errors(
    champion_errors: Any,
    challenger_errors: Any,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, MetricComparison]:
    """RMSE and MAE of both versions on the same labelled rows (errors are predicted -
    true), with paired bootstrap intervals of each, of the differences and of the RMSE
    ratio, and bootstrap p-values.

    Raises:
        InvalidInput: No rows, or the two inputs differ in length.
    """
    a, b = _same_length(*_errors(champion_errors, challenger_errors))
    # Columns: champion squared and absolute errors, then the per-row differences.
    sq, ab = b**2 - a**2, np.abs(b) - np.abs(a)
    draws = bootstrap_means(np.column_stack((a**2, np.abs(a), sq, ab)), sq, resamples, seed)
    return _error_metrics(a, b, draws[:, :2], draws[:, :2] + draws[:, 2:], confidence, "paired")


def independent_errors(
    champion_errors: Any,
    challenger_errors: Any,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, MetricComparison]:
    """RMSE and MAE of two arms on different rows, each arm resampled on its own.

    Raises:
        InvalidInput: An arm has no rows.
    """
    a, b = _errors(champion_errors, challenger_errors)
    first = bootstrap_means(np.column_stack((a**2, np.abs(a))), np.abs(a), resamples, seed)
    second = bootstrap_means(np.column_stack((b**2, np.abs(b))), np.abs(b), resamples, seed + 1)
    return _error_metrics(a, b, first, second, confidence, "independent")


def _error_metrics(
    a: np.ndarray, b: np.ndarray, first: np.ndarray, second: np.ndarray,
    confidence: float, how: str,
) -> dict[str, MetricComparison]:  # fmt: skip
    """RMSE and MAE from bootstrap draws of (mean squared, mean absolute) error per side."""
    first, second = np.maximum(first, 0.0), np.maximum(second, 0.0)
    rmse_a, rmse_b = np.sqrt(first[:, 0]), np.sqrt(second[:, 0])
    test = f"bootstrap ({how}), two-sided"
    point_a = (float(np.sqrt(np.mean(a**2))), float(np.mean(np.abs(a))))
    point_b = (float(np.sqrt(np.mean(b**2))), float(np.mean(np.abs(b))))
    out = {}
    for i, name, draw_a, draw_b in ((0, "rmse", rmse_a, rmse_b),
                                    (1, "mae", first[:, 1], second[:, 1])):  # fmt: skip
        delta = draw_b - draw_a
        out[name] = MetricComparison(
            Estimate(point_a[i], *_interval(draw_a, confidence)),
            Estimate(point_b[i], *_interval(draw_b, confidence)),
            Difference(point_b[i] - point_a[i], *_interval(delta, confidence),
                       _bootstrap_p(delta), test),
        )  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rmse_a > 0, rmse_b / rmse_a, np.where(rmse_b > 0, np.inf, 1.0))
    point = point_b[0] / point_a[0] if point_a[0] > 0 else (np.inf if point_b[0] > 0 else 1.0)
    rmse = out["rmse"]
    relative = Estimate(float(point), *_interval(ratio, confidence))
    out["rmse"] = MetricComparison(rmse.champion, rmse.challenger, rmse.difference, relative)
    return out


def _hits(first: Any, second: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(first, dtype=np.float64).ravel()
    b = np.asarray(second, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise InvalidInput("Both versions need labelled rows to compare their accuracy.")
    return a, b


def _errors(first: Any, second: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(first, dtype=np.float64).ravel()
    b = np.asarray(second, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise InvalidInput("Both versions need labelled rows to compare their errors.")
    return a, b


def _same_length(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise InvalidInput(f"Got {a.size} and {b.size} rows; paired rows come in equal numbers.")
    return a, b
