"""Numeric drift: two-sample Kolmogorov-Smirnov and Wasserstein distance.

Each side is a sample of values with optional integer weights, so a histogram from
DuckDB (bin centres and counts, see :func:`histogram_sample`) feeds the same functions
as raw values. Both statistics read the two empirical CDFs at the union of the values:
one sort per side and a ``searchsorted``, no loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor.ks_pvalue import ks_pvalue
from mlcycle.monitor.results import DriftResult, require_data

# Evidently's defaults, which we keep for every numeric drift verdict:
# docs-old.evidentlyai.com/reference/data-drift-algorithm ("all tests use a 0.95
# confidence level", "threshold = 0.1") and evidently 0.7.23
# legacy/calculations/stattests/{ks_stattest,wasserstein_distance_norm}.py.
KS_THRESHOLD = 0.05
WASSERSTEIN_THRESHOLD = 0.1
# wasserstein_distance_norm.py divides by max(std(reference), 0.001).
MIN_NORM = 0.001
SMALL_SAMPLE = 1000
_SLICE = 1 << 18


@dataclass(frozen=True)
class Sample:
    """Sorted values with their weights (the number of observations at each value)."""

    values: np.ndarray
    weights: np.ndarray | None

    @property
    def size(self) -> float:
        return float(self.values.size if self.weights is None else self.weights.sum())

    def cdf_at(self, points: np.ndarray) -> np.ndarray:
        """Empirical CDF at ``points`` (right-continuous: counts values <= point)."""
        index = np.searchsorted(self.values, points, side="right")
        if self.weights is None:
            return index / self.values.size
        cumulative = np.concatenate(([0.0], np.cumsum(self.weights)))
        return cumulative[index] / cumulative[-1]


def sample(
    values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None
) -> Sample:
    """A :class:`Sample` from values and optional weights; non-finite values are dropped.

    Raises:
        InvalidInput: Weights of another length than the values, or negative weights.
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(array)
    if weights is None:
        return Sample(np.sort(array if keep.all() else array[keep]), None)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != array.shape:
        raise InvalidInput(f"Got {array.size} values but {w.size} weights; give one per value.")
    if w.size and (not np.all(np.isfinite(w)) or w.min() < 0):
        raise InvalidInput("Weights must be finite and not negative.")
    keep &= w > 0
    order = np.argsort(array[keep], kind="stable")
    return Sample(array[keep][order], w[keep][order])


def histogram_sample(
    edges: Sequence[float] | np.ndarray, counts: Sequence[float] | np.ndarray
) -> Sample:
    """A binned distribution as a weighted sample: each bin's count at its centre.

    Args:
        edges: ``len(counts) + 1`` increasing bin edges (finite).
        counts: Observations per bin, e.g. ``SELECT bin, count(*) ... GROUP BY bin``.
    """
    e = np.asarray(edges, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    if e.ndim != 1 or e.size != c.size + 1 or not np.all(np.diff(e) > 0):
        raise InvalidInput("Histogram edges must be increasing and one more than the counts.")
    return sample((e[:-1] + e[1:]) / 2.0, c)


def _as_sample(data: Sample | Sequence[float] | np.ndarray) -> Sample:
    return data if isinstance(data, Sample) else sample(data)


def ks_statistic(reference: Sample, current: Sample) -> float:
    """Kolmogorov-Smirnov D: ``max_x |F_ref(x) - F_cur(x)|`` over the pooled values."""
    points = np.concatenate((reference.values, current.values))
    return float(np.max(np.abs(reference.cdf_at(points) - current.cdf_at(points))))


def ks_test(
    reference: Sample | Sequence[float] | np.ndarray,
    current: Sample | Sequence[float] | np.ndarray,
    threshold: float = KS_THRESHOLD,
) -> DriftResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided), as ``scipy.stats.ks_2samp``.

    Drift when the p-value is at most ``threshold`` (Evidently's ``p_value <= threshold``
    in ks_stattest.py). Weighted samples count each weight as that many observations.

    Raises:
        NoData: Either side is empty.
    """
    ref, cur = _as_sample(reference), _as_sample(current)
    require_data(ref.size, "reference")
    require_data(cur.size, "current")
    d = ks_statistic(ref, cur)
    p = ks_pvalue(d, round(ref.size), round(cur.size))
    return DriftResult("ks", p, threshold, p <= threshold, int(ref.size), int(cur.size), d)


def wasserstein_distance(
    reference: Sample | Sequence[float] | np.ndarray,
    current: Sample | Sequence[float] | np.ndarray,
) -> float:
    """First Wasserstein distance ``∫ |F_ref(x) - F_cur(x)| dx``, as ``scipy.stats``'s.

    Raises:
        NoData: Either side is empty.
    """
    ref, cur = _as_sample(reference), _as_sample(current)
    require_data(ref.size, "reference")
    require_data(cur.size, "current")
    if ref.weights is None and cur.weights is None:
        return _unweighted_wasserstein(ref.values, cur.values)
    points = np.sort(np.concatenate((ref.values, cur.values)))
    gaps = np.diff(points)
    between = points[:-1]
    return float(np.sum(np.abs(ref.cdf_at(between) - cur.cdf_at(between)) * gaps))


def _unweighted_wasserstein(u: np.ndarray, v: np.ndarray) -> float:
    """``∫_0^1 |Q_u(t) - Q_v(t)| dt`` between the quantile functions of two sorted samples.

    Equal to the CDF form in one dimension. Q_u steps at multiples of 1/n and Q_v at
    multiples of 1/m: in units of 1/(n m) these are the integers i*m and j*n. Both are
    arithmetic, so where each lands in the merged order is known without sorting (the
    count of the other's steps before it), and on each piece between two steps both
    quantile functions are a single order statistic.
    """
    n, m = u.size, v.size
    if n == m:
        # Equal sizes: the pieces are the order statistics themselves.
        return float(np.mean(np.abs(u - v)))
    steps = np.empty(n + m + 1, dtype=np.int64)
    steps[-1] = n * m
    rank = np.arange(n, dtype=np.int64)
    steps[rank + (rank * m + n - 1) // n] = rank * m  # v-steps before i*m: ceil(i*m/n)
    rank = np.arange(m, dtype=np.int64)
    steps[rank + rank * n // m + 1] = rank * n  # u-steps at or before j*n: floor(j*n/m) + 1
    del rank
    total = 0.0
    # In slices, so the temporaries stay a few megabytes whatever the sample sizes.
    for start in range(0, n + m, _SLICE):
        at = steps[start : start + _SLICE + 1]
        gaps = np.abs(u[at[:-1] // m] - v[at[:-1] // n])
        total += float(np.dot(np.diff(at), gaps))
    return total / (n * m)


def weighted_std(data: Sample) -> float:
    """Population standard deviation (``ddof=0``, as ``numpy.std``) of a sample."""
    if data.weights is None:
        return float(np.std(data.values))
    mean = np.average(data.values, weights=data.weights)
    return float(np.sqrt(np.average((data.values - mean) ** 2, weights=data.weights)))


def wasserstein_norm_test(
    reference: Sample | Sequence[float] | np.ndarray,
    current: Sample | Sequence[float] | np.ndarray,
    threshold: float = WASSERSTEIN_THRESHOLD,
) -> DriftResult:
    """Wasserstein distance in units of the reference's standard deviation.

    Evidently's "Wasserstein distance (normed)": ``W1 / max(std(reference), 0.001)``,
    drift when at or above ``threshold`` (0.1).
    """
    ref, cur = _as_sample(reference), _as_sample(current)
    distance = wasserstein_distance(ref, cur) / max(weighted_std(ref), MIN_NORM)
    return DriftResult(
        "wasserstein_norm", distance, threshold, distance >= threshold, int(ref.size), int(cur.size)
    )


def numeric_drift(
    reference: Sample | Sequence[float] | np.ndarray,
    current: Sample | Sequence[float] | np.ndarray,
    small_sample: int = SMALL_SAMPLE,
    ks_threshold: float = KS_THRESHOLD,
    wasserstein_threshold: float = WASSERSTEIN_THRESHOLD,
) -> DriftResult:
    """KS test when either side has at most ``small_sample`` values, else normed Wasserstein.

    A test's power grows with the smaller sample: past a thousand on both sides a KS
    test flags shifts too small to matter, so a distance with a threshold decides.
    """
    ref, cur = _as_sample(reference), _as_sample(current)
    if min(ref.size, cur.size) <= small_sample:
        return ks_test(ref, cur, ks_threshold)
    return wasserstein_norm_test(ref, cur, wasserstein_threshold)
