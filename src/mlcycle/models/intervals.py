"""Confidence intervals shared by monitoring and the promotion gates.

Wilson score intervals for shares (live accuracy, agreement), the grouped bootstrap of
means (live errors, and the paired and independent differences of
:mod:`mlcycle.models.live`), and the tally of differing label pairs. They live below
``monitor`` and ``registry`` so both can use the same figures.

The bootstrap draws row counts, never rows: up to :data:`EXACT_ROWS` rows it resamples
the rows themselves; beyond, the rows sorted by ``order`` form :data:`GROUPS` equal
groups, a multinomial draw says how many rows each group gives a resample, and the
spread within a group adds a normal term of the same variance (each group is a large
sample of near-equal values, so its sum is near-normal). The cost then does not grow
with the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput

CONFIDENCE = 0.95
EXACT_ROWS = 500
GROUPS = 500
RESAMPLES = 2000


@dataclass(frozen=True)
class Estimate:
    """A metric and its confidence interval."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def wilson_interval(
    share: np.ndarray, n: int, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of each observed share of ``n`` trials."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z2n = z * z / n
    centre = (share + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * np.sqrt(share * (1.0 - share) / n + z2n / (4.0 * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def wilson_estimate(hits: float, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """The share ``hits / n`` with its Wilson interval (``n`` > 0)."""
    share = np.array([hits / n])
    low, high = wilson_interval(share, n, confidence)
    return Estimate(float(share[0]), float(low[0]), float(high[0]))


def bootstrap_means(
    columns: np.ndarray, order: np.ndarray, resamples: int = RESAMPLES, seed: int = 0
) -> np.ndarray:
    """``(resamples, columns)`` bootstrap means of the columns of ``(rows, columns)``.

    ``order`` sorts the rows into groups of similar values when there are more than
    :data:`EXACT_ROWS` of them (see the module docstring).
    """
    rows = columns.shape[0]
    rng = np.random.default_rng(seed)
    if rows <= EXACT_ROWS:
        draws = rng.multinomial(rows, np.full(rows, 1.0 / rows), size=resamples)
        return draws @ columns / rows
    ranked = columns[np.argsort(order, kind="stable")]
    starts = np.arange(GROUPS) * rows // GROUPS  # strictly increasing: rows > GROUPS
    sizes = np.diff(np.append(starts, rows))
    means = np.add.reduceat(ranked, starts, axis=0) / sizes[:, None]
    centred = ranked - np.repeat(means, sizes, axis=0)
    variances = np.add.reduceat(centred**2, starts, axis=0) / sizes[:, None]
    counts = rng.multinomial(rows, sizes / rows, size=resamples)  # (resamples, groups)
    spread = np.sqrt(counts @ variances) * rng.standard_normal((resamples, columns.shape[1]))
    return (counts @ means + spread) / rows


def differing_pairs(
    first: Any,
    second: Any,
    counts: Sequence[float] | np.ndarray | None = None,
    top: int = 10,
) -> list[tuple[str, str, int, float]]:
    """The most frequent ``(first, second)`` label pairs that differ.

    Returns ``(first, second, count, share of the differing rows)``, most frequent
    first (ties by label order).

    Args:
        first: Labels, one per row (or per aggregated pair).
        second: Labels aligned with ``first``.
        counts: Rows per pair when the pairs come aggregated; one each when None.
        top: How many pairs to return.
    """
    a = np.asarray(first, dtype=str).ravel()
    b = np.asarray(second, dtype=str).ravel()
    weights = np.ones(a.size) if counts is None else np.asarray(counts, dtype=np.float64)
    if b.size != a.size or weights.size != a.size:
        raise InvalidInput("Both label lists and the counts must have the same length.")
    differ = a != b
    if not differ.any():
        return []
    n_differ = int(differ.sum())
    codes, inverse = np.unique(np.concatenate((a[differ], b[differ])), return_inverse=True)
    pair = inverse[:n_differ].astype(np.int64) * codes.size + inverse[n_differ:]
    pairs, pair_of = np.unique(pair, return_inverse=True)
    tally = np.bincount(pair_of, weights=weights[differ], minlength=pairs.size)
    order = np.lexsort((pairs, -tally))[:top]
    total = float(tally.sum())
    return [
        (
            str(codes[pairs[i] // codes.size]),
            str(codes[pairs[i] % codes.size]),
            round(tally[i]),
            float(tally[i] / total),
        )
        for i in order.tolist()
    ]
