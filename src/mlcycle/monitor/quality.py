"""Live quality from feedback: accuracy with Wilson score intervals, and confused codes.

Each labelled prediction is a row of hit flags (top-1 and top-5, overall and at each
level of the labels' nomenclature). Accuracies are shares of hits, binomial
proportions, so each gets a Wilson score interval (Wilson 1927; recommended over the
normal and bootstrap intervals by Brown, Cai and DasGupta 2001): it needs no resampling,
and stays honest at the edges, where a percentile bootstrap of 200 hits out of 200
collapses to [1, 1]. The rows only matter through how many share each pattern of flags;
DuckDB can hand over the pattern counts directly (``GROUP BY`` the flags) and
:func:`quality_from_flags` takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput
from mlcycle.models.intervals import CONFIDENCE, Estimate, differing_pairs, wilson_interval
from mlcycle.monitor.results import require_data
from mlcycle.tasks.labels import Nomenclature

TOP_K = 5
# Estimate, CONFIDENCE and wilson_interval moved to mlcycle.models.intervals (the gates
# use them too); they stay importable from here.
__all__ = [
    "CONFIDENCE",
    "Estimate",
    "LiveQuality",
    "confused_pairs",
    "flag_patterns",
    "hit_flags",
    "live_quality",
    "quality_from_flags",
    "wilson_interval",
]


@dataclass(frozen=True)
class LiveQuality:
    """Accuracy on labelled production traffic.

    Attributes:
        labelled: Number of predictions with a true code.
        metrics: ``accuracy_top1``, ``accuracy_top5`` and, for labels of a nomenclature,
            the same at each of its levels (``accuracy_top1_section``, ...), each with
            its interval.
        confused: The most frequent (true code, predicted top-1 code) pairs that differ.
    """

    labelled: int
    metrics: dict[str, Estimate]
    confused: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "metrics": {name: estimate.to_dict() for name, estimate in self.metrics.items()},
            "confused": self.confused,
        }


def quality_from_flags(
    flags: np.ndarray,
    counts: Sequence[float] | np.ndarray,
    names: Sequence[str],
    confidence: float = CONFIDENCE,
) -> dict[str, Estimate]:
    """Shares of hits with Wilson score intervals, from pattern counts.

    Args:
        flags: ``(patterns, metrics)`` booleans: which metrics each pattern hits.
        counts: Rows sharing each pattern.
        names: One name per metric column.
        confidence: Coverage of the interval.

    Raises:
        NoData: No rows.
    """
    matrix = np.asarray(flags, dtype=np.float64)
    weights = np.asarray(counts, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != weights.size or matrix.shape[1] != len(names):
        raise InvalidInput("Give one count per pattern and one name per metric column.")
    n = round(weights.sum())
    require_data(n, "current", "labelled predictions (no feedback yet)")
    point = weights @ matrix / n
    low, high = wilson_interval(point, n, confidence)
    return {
        name: Estimate(float(point[i]), float(low[i]), float(high[i]))
        for i, name in enumerate(names)
    }


def hit_flags(
    top_codes: np.ndarray, true_codes: np.ndarray, nomenclature: Nomenclature | None = None
) -> tuple[np.ndarray, list[str]]:
    """Per-row hit flags and their names, overall and (when every label belongs to the
    nomenclature) per level above the labels."""
    top, true = _checked(top_codes, true_codes)
    distinct, inverse = np.unique(np.concatenate((true, top.ravel())), return_inverse=True)
    true_ids = inverse[: true.size]
    top_ids = inverse[true.size :].reshape(top.shape)
    columns, names = _hits(top_ids, true_ids, "")
    labels = distinct.tolist()
    if nomenclature is not None and all(nomenclature.normalise(c) == c for c in labels):
        for level in nomenclature.levels[:-1]:  # the finest level is the overall accuracy
            mapped = np.array(nomenclature.at_level(labels, level))
            _, level_ids = np.unique(mapped, return_inverse=True)
            more, more_names = _hits(level_ids[top_ids], level_ids[true_ids], f"_{level}")
            columns += more
            names += more_names
    return np.column_stack(columns), names


def _hits(top: np.ndarray, true: np.ndarray, suffix: str) -> tuple[list, list[str]]:
    first = top[:, 0] == true
    any_k = (top[:, :TOP_K] == true[:, None]).any(axis=1)
    return [first, any_k], [f"accuracy_top1{suffix}", f"accuracy_top5{suffix}"]


def _checked(top_codes: Any, true_codes: Any) -> tuple[np.ndarray, np.ndarray]:
    top = np.asarray(top_codes, dtype=str)
    true = np.asarray(true_codes, dtype=str).ravel()
    if top.ndim == 1:
        top = top[:, None]
    if top.ndim != 2 or top.shape[0] != true.size:
        raise InvalidInput(
            f"Got {true.size} true codes for {top.shape[0]} predictions; give one per prediction."
        )
    return top, true


def live_quality(
    top_codes: Any,
    true_codes: Any,
    top_pairs: int = 10,
    nomenclature: Nomenclature | None = None,
) -> LiveQuality:
    """Accuracy of labelled predictions, with 95% Wilson score intervals.

    Args:
        top_codes: ``(n, k)`` ranked predicted codes (k of 5 or more for top-5; with
            fewer, "top-5" is top-k).
        true_codes: ``(n,)`` true codes from feedback.
        top_pairs: How many confused pairs to list.
        nomenclature: The labels' hierarchy, for the accuracy at each level.

    Raises:
        NoData: No labelled prediction.
        InvalidInput: The two inputs disagree in length.
    """
    top, true = _checked(top_codes, true_codes)
    require_data(true.size, "current", "labelled predictions (no feedback yet)")
    flags, names = hit_flags(top, true, nomenclature)
    patterns, counts = flag_patterns(flags)
    metrics = quality_from_flags(patterns, counts, names)
    return LiveQuality(true.size, metrics, confused_pairs(true, top[:, 0], top=top_pairs))


def flag_patterns(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean flag matrix and how many rows share each."""
    bits = 1 << np.arange(flags.shape[1], dtype=np.int64)
    packed, counts = np.unique(flags.astype(np.int64) @ bits, return_counts=True)
    return (packed[:, None] & bits) != 0, counts


def confused_pairs(
    true_codes: Any,
    predicted_codes: Any,
    counts: Sequence[float] | np.ndarray | None = None,
    top: int = 10,
) -> list[dict[str, Any]]:
    """The most frequent (true, predicted) pairs that differ, with their counts.

    Args:
        true_codes: True codes, one per row (or per aggregated pair).
        predicted_codes: Predicted top-1 codes, aligned with ``true_codes``.
        counts: Rows per pair when the pairs come aggregated; one each when None.
        top: How many pairs to return.
    """
    pairs = differing_pairs(true_codes, predicted_codes, counts, top)
    return [
        {"true": a, "predicted": b, "count": count, "share_of_errors": share}
        for a, b, count, share in pairs
    ]
