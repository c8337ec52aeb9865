"""Categorical drift between a reference and a current distribution over categories.

Every statistic takes :data:`~mlcycle.monitor.counts.CountsLike` inputs (raw values,
``{category: count}`` or :class:`~mlcycle.monitor.counts.Counts`) and works on one
number per category. A category seen on one side only counts zero on the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import chdtrc, ndtr

from mlcycle.monitor.counts import Counts, CountsLike, align, section_counts
from mlcycle.monitor.results import DriftResult, require_data
from mlcycle.tasks.labels import Nomenclature

# Evidently's defaults (docs-old.evidentlyai.com/reference/data-drift-algorithm and
# evidently 0.7.23 legacy/calculations/stattests/{chisquare_stattest,jensenshannon,psi}.py):
# tests at a 0.95 confidence level, Jensen-Shannon and PSI thresholds of 0.1.
P_THRESHOLD = 0.05
JS_THRESHOLD = 0.1
PSI_THRESHOLD = 0.1
SMALL_SAMPLE = 1000


def _sides(reference: CountsLike, current: CountsLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys, ref, cur = align(reference, current)
    require_data(ref.sum(), "reference")
    require_data(cur.sum(), "current")
    present = (ref > 0) | (cur > 0)
    return keys[present], ref[present], cur[present]


def chi2_goodness_of_fit(
    reference: CountsLike, current: CountsLike, threshold: float = P_THRESHOLD
) -> DriftResult:
    """Pearson's chi-squared test of the current counts against the reference shares.

    Expected counts are the reference counts scaled to the current total,
    ``scipy.stats.chisquare(f_obs=current, f_exp=reference * n_cur / n_ref)``, which is
    Evidently's ``chisquare`` test. A category absent from the reference but present now
    has an expected count of zero: the statistic is infinite and the p-value 0 (drift).
    One category on both sides is no evidence of change: p-value 1.
    """
    _, ref, cur = _sides(reference, current)
    n_ref, n_cur = ref.sum(), cur.sum()
    if ref.size < 2:
        return DriftResult("chisquare", 1.0, threshold, False, int(n_ref), int(n_cur), 0.0)
    expected = ref * (n_cur / n_ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (cur - expected) ** 2 / expected
    stat = float(np.inf if np.any(expected == 0) else terms.sum())
    p = float(chdtrc(ref.size - 1, stat))
    return DriftResult("chisquare", p, threshold, p < threshold, int(n_ref), int(n_cur), stat)


def chi2_homogeneity(
    reference: CountsLike, current: CountsLike, threshold: float = P_THRESHOLD
) -> DriftResult:
    """Chi-squared test of homogeneity on the 2 x K table of both sides' counts.

    As ``scipy.stats.chi2_contingency`` with its defaults: expected cells are
    ``row total x column total / N``, ``K - 1`` degrees of freedom, and Yates's
    continuity correction when there is one degree of freedom. Unlike the
    goodness-of-fit test it treats the reference as a sample too, and a category seen
    on one side only is no special case.
    """
    _, ref, cur = _sides(reference, current)
    observed = np.vstack((ref, cur))
    dof = ref.size - 1
    if dof == 0:
        return DriftResult(
            "chi2_contingency", 1.0, threshold, False, int(ref.sum()), int(cur.sum()), 0.0
        )
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0) / observed.sum()
    if dof == 1:
        gap = expected - observed
        observed = observed + np.sign(gap) * np.minimum(0.5, np.abs(gap))
    stat = float(np.sum((observed - expected) ** 2 / expected))
    p = float(chdtrc(dof, stat))
    return DriftResult(
        "chi2_contingency", p, threshold, p < threshold, int(ref.sum()), int(cur.sum()), stat
    )


def z_test(
    reference: CountsLike, current: CountsLike, threshold: float = P_THRESHOLD
) -> DriftResult:
    """Two-proportion z-test for a column with at most two categories (Evidently's ``z``).

    The share of observations not in the first category (in sorted order) is compared
    between the sides with the pooled standard error; the p-value is two-sided. Its
    square is the chi-squared statistic of ``chi2_contingency(correction=False)``. The
    same single category on both sides gives a p-value of 1.
    """
    keys, ref, cur = _sides(reference, current)
    n_ref, n_cur = ref.sum(), cur.sum()
    if keys.size < 2:
        return DriftResult("z", 1.0, threshold, False, int(n_ref), int(n_cur), 0.0)
    first = keys.tolist().index(sorted(keys.tolist())[0])
    p_ref = 1.0 - ref[first] / n_ref
    p_cur = 1.0 - cur[first] / n_cur
    pooled = (p_ref * n_ref + p_cur * n_cur) / (n_ref + n_cur)
    z = (p_ref - p_cur) / np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
    p = float(2.0 * ndtr(-abs(z)))
    return DriftResult("z", p, threshold, p < threshold, int(n_ref), int(n_cur), float(z))


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def _xlogy_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise ``p * ln(p / q)`` with ``0 * ln(0 / q) = 0``, as ``scipy.special.rel_entr``."""
    safe_q = np.where(p > 0, q, 1.0)
    return np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / safe_q), 0.0)


def js_terms(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Each category's share of the Jensen-Shannon divergence (natural log); they sum to it."""
    p, q = _shares(reference), _shares(current)
    m = (p + q) / 2.0
    return (_xlogy_ratio(p, m) + _xlogy_ratio(q, m)) / 2.0


def jensen_shannon_distance(
    reference: CountsLike, current: CountsLike, base: float | None = None
) -> float:
    """Jensen-Shannon distance: ``sqrt((KL(p||m) + KL(q||m)) / 2)`` with ``m = (p + q) / 2``.

    ``p`` and ``q`` are both sides' shares; the logarithm is natural unless ``base`` is
    given (base 2 bounds the distance by 1). As ``scipy.spatial.distance.jensenshannon``.
    """
    _, ref, cur = _sides(reference, current)
    divergence = float(js_terms(ref, cur).sum())
    if base is not None:
        divergence /= np.log(base)
    return float(np.sqrt(max(divergence, 0.0)))


def jensen_shannon_test(
    reference: CountsLike, current: CountsLike, threshold: float = JS_THRESHOLD
) -> DriftResult:
    """Jensen-Shannon distance (natural log) with a threshold: drift when at or above it."""
    _, ref, cur = _sides(reference, current)
    distance = float(np.sqrt(max(js_terms(ref, cur).sum(), 0.0)))
    return DriftResult(
        "jensenshannon", distance, threshold, distance >= threshold, int(ref.sum()), int(cur.sum())
    )


def _fill_zeros(shares: np.ndarray) -> np.ndarray:
    # Evidently's utils.get_binned_data(feel_zeroes=True): an empty category gets a
    # millionth of the smallest non-empty share when that is <= 0.0001, else 0.0001.
    smallest = shares[shares > 0].min()
    fill = smallest / 1e6 if smallest <= 0.0001 else 0.0001
    return np.where(shares == 0, fill, shares)


def population_stability_index(
    reference: CountsLike, current: CountsLike, threshold: float = PSI_THRESHOLD
) -> DriftResult:
    """Population stability index ``sum((r - c) * ln(r / c))`` over category shares.

    It equals ``KL(r||c) + KL(c||r)``. Empty categories get a small share first, as
    Evidently's ``psi`` does, so a category seen on one side only stays finite.
    """
    _, ref, cur = _sides(reference, current)
    r, c = _fill_zeros(_shares(ref)), _fill_zeros(_shares(cur))
    psi = float(np.sum((r - c) * np.log(r / c)))
    return DriftResult("psi", psi, threshold, psi >= threshold, int(ref.sum()), int(cur.sum()))


@dataclass(frozen=True)
class CategoricalDrift:
    """Drift of one categorical distribution, with what moved.

    Attributes:
        result: The deciding method: chi-squared homogeneity when either side holds at
            most ``small_sample`` observations, else Jensen-Shannon distance.
        scores: Every method computed, by name (``chi2_contingency``, ``jensenshannon``,
            ``psi``).
        changes: The categories that contribute most to the Jensen-Shannon divergence,
            each with its reference and current share.
    """

    result: DriftResult
    scores: dict[str, DriftResult]
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.to_dict(),
            "scores": {name: score.to_dict() for name, score in self.scores.items()},
            "changes": self.changes,
        }


def categorical_drift(
    reference: CountsLike,
    current: CountsLike,
    small_sample: int = SMALL_SAMPLE,
    top: int = 10,
) -> CategoricalDrift:
    """Chi-squared on small samples, Jensen-Shannon (and PSI) on large ones, plus what moved."""
    keys, ref, cur = _sides(reference, current)
    ref_counts, cur_counts = Counts(keys, ref), Counts(keys, cur)
    scores = {
        "chi2_contingency": chi2_homogeneity(ref_counts, cur_counts),
        "jensenshannon": jensen_shannon_test(ref_counts, cur_counts),
        "psi": population_stability_index(ref_counts, cur_counts),
    }
    small = min(ref.sum(), cur.sum()) <= small_sample
    result = scores["chi2_contingency" if small else "jensenshannon"]
    return CategoricalDrift(result, scores, top_changes(keys, ref, cur, top))


def top_changes(keys: np.ndarray, ref: np.ndarray, cur: np.ndarray, top: int) -> list[dict]:
    """The categories that add most to the Jensen-Shannon divergence, with both shares."""
    terms = js_terms(ref, cur)
    order = np.argsort(-terms, kind="stable")[:top]
    p, q = _shares(ref), _shares(cur)
    return [
        {
            "category": keys[i],
            "reference_share": float(p[i]),
            "current_share": float(q[i]),
            "contribution": float(terms[i]),
        }
        for i in order.tolist()
        if terms[i] > 0
    ]


def prediction_drift(
    reference: CountsLike,
    current: CountsLike,
    small_sample: int = SMALL_SAMPLE,
    nomenclature: Nomenclature | None = None,
) -> dict[str, CategoricalDrift]:
    """Drift of predicted labels, and with a nomenclature of the same predictions merged
    by its coarsest level (its sections)."""
    drift = {"code": categorical_drift(reference, current, small_sample)}
    if nomenclature is not None:
        drift["section"] = categorical_drift(
            section_counts(reference, nomenclature),
            section_counts(current, nomenclature),
            small_sample,
        )
    return drift
