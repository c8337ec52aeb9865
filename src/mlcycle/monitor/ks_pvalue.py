"""The p-value of the two-sample Kolmogorov-Smirnov statistic.

Two regimes, chosen as ``scipy.stats.ks_2samp(method="auto")`` chooses them so that a
drift verdict never depends on which library computed it:

- exact, when both samples hold at most 10,000 observations: the share of monotone
  lattice paths from (0, 0) to (m, n) that leave the band ``|i/m - j/n| < D``
  (Hodges, 1958). The paths inside the band are counted row by row; in one row the
  cells inside form one interval and each cell sums the row below up to it, so a row
  is one ``cumsum`` over the interval. Rows are rescaled as they go and the scale kept
  in logarithms, so no count overflows whatever the sizes.
- asymptotic otherwise: the exact one-sample distribution of D at the effective size
  ``round(m n / (m + n))`` (``scipy.stats.kstwo``), as scipy does.
"""

from __future__ import annotations

import math

import numpy as np

EXACT_MAX_N = 10_000


def ks_pvalue(statistic: float, n: int, m: int) -> float:
    """Two-sided p-value of ``statistic`` for samples of sizes ``n`` and ``m``.

    Args:
        statistic: The largest absolute gap between the two empirical CDFs.
        n: Size of the first sample (at least 1).
        m: Size of the second sample (at least 1).

    Returns:
        ``P(D >= statistic)`` under the hypothesis that both samples share a
        distribution, in [0, 1].
    """
    if max(n, m) <= EXACT_MAX_N:
        return exact_pvalue(statistic, n, m)
    return asymptotic_pvalue(statistic, n, m)


def asymptotic_pvalue(statistic: float, n: int, m: int) -> float:
    """Smirnov's large-sample p-value: the one-sample law of D at size ``nm/(n+m)``."""
    from scipy.stats import kstwo

    effective = round(float(n) * float(m) / (float(n) + float(m)))
    return float(np.clip(kstwo.sf(statistic, effective), 0.0, 1.0))


def exact_pvalue(statistic: float, n: int, m: int) -> float:
    """Exact ``P(D >= statistic)`` by counting lattice paths (see the module docstring)."""
    g = math.gcd(n, m)
    lcm = (n // g) * m
    # D is a multiple of 1/lcm; rounding removes the float noise of the ECDF difference.
    h = round(statistic * lcm)
    if h == 0:
        return 1.0
    # In integers: a cell (i, j) is inside when |i*m - j*n| < h*g  (D*n*m = h*g).
    rows, cols = (n, m) if n <= m else (m, n)
    bound = h * g
    log_inside = _log_paths_inside(rows, cols, bound)
    if log_inside is None:
        return 1.0
    log_total = math.lgamma(rows + cols + 1) - math.lgamma(rows + 1) - math.lgamma(cols + 1)
    return float(np.clip(-math.expm1(log_inside - log_total), 0.0, 1.0))


def _interval(i: int, rows: int, cols: int, bound: int) -> tuple[int, int]:
    """Columns j of row i with |i*cols - j*rows| < bound, as [lo, hi] (may be empty)."""
    lo = (i * cols - bound) // rows + 1
    hi = -((-(i * cols + bound)) // rows) - 1  # ceil((i*cols + bound)/rows) - 1
    return max(lo, 0), min(hi, cols)


def _log_paths_inside(rows: int, cols: int, bound: int) -> float | None:
    """Log of the number of monotone paths staying inside the band, or None if none."""
    lo, hi = _interval(0, rows, cols, bound)
    if lo > 0:
        return None
    values = np.ones(hi - lo + 1)
    log_scale = 0.0
    for i in range(1, rows + 1):
        new_lo, new_hi = _interval(i, rows, cols, bound)
        if new_lo > new_hi:
            return None
        # Row i, cell j = sum of row i-1 over [new_lo, j]; cells of row i-1 outside its
        # own interval are zero.
        below = np.zeros(new_hi - new_lo + 1)
        start, stop = max(new_lo, lo), min(new_hi, hi)
        if start <= stop:
            below[start - new_lo : stop - new_lo + 1] = values[start - lo : stop - lo + 1]
        values = np.cumsum(below)
        top = values[-1]
        if top <= 0.0:
            return None
        values /= top
        log_scale += math.log(top)
        lo, hi = new_lo, new_hi
    if hi < cols:
        return None
    return log_scale + math.log(values[cols - lo])
