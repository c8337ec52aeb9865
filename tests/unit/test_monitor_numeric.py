"""Numeric drift statistics against scipy's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor import numeric
from mlcycle.monitor.ks_pvalue import EXACT_MAX_N
from mlcycle.monitor.results import NoData

TOL = {"rel": 1e-6, "abs": 1e-9}


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [
        (1, 1, 0.0),
        (3, 1, 0.0),
        (5, 7, 0.0),
        (10, 10, 0.5),
        (30, 45, 0.3),
        (200, 300, 0.1),
        (1000, 1000, 0.05),
        (999, EXACT_MAX_N, 0.05),  # the largest exact case
        (100, 100, 3.0),  # p-value far below the threshold
        (20_000, 500, 0.1),  # asymptotic regime
        (15_000, 12_000, 0.02),
    ],
)
def test_ks_matches_scipy(n: int, m: int, shift: float) -> None:
    rng = np.random.default_rng(n * 7 + m)
    ref, cur = rng.normal(size=n), rng.normal(shift, size=m)
    expected = ks_2samp(ref, cur)
    result = numeric.ks_test(ref, cur)
    assert result.method == "ks"
    assert result.test_statistic == pytest.approx(expected.statistic, **TOL)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)
    assert result.drifted == (expected.pvalue <= 0.05)
    assert (result.reference_size, result.current_size) == (n, m)


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 4, 60).astype(float)
    cur = rng.integers(0, 5, 85).astype(float)
    expected = ks_2samp(ref, cur)
    result = numeric.ks_test(ref, cur)
    assert result.test_statistic == pytest.approx(expected.statistic, **TOL)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)


def test_weighted_ks_equals_repeated_values() -> None:
    values = np.array([0.1, 0.35, 0.5, 0.8, 0.95])
    ref_w, cur_w = np.array([10, 40, 30, 15, 5]), np.array([2, 10, 30, 40, 18])
    expected = ks_2samp(np.repeat(values, ref_w), np.repeat(values, cur_w))
    result = numeric.ks_test(numeric.sample(values, ref_w), numeric.sample(values, cur_w))
    assert result.test_statistic == pytest.approx(expected.statistic, **TOL)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)


@pytest.mark.parametrize(
    ("n", "m"), [(1, 1), (7, 7), (50, 80), (2000, 2000), (3000, 1234), (300_000, 200_001)]
)
def test_wasserstein_matches_scipy(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    ref, cur = rng.normal(size=n), rng.gamma(2.0, size=m)
    assert numeric.wasserstein_distance(ref, cur) == pytest.approx(
        wasserstein_distance(ref, cur), **TOL
    )


def test_weighted_wasserstein_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    u, v = rng.normal(size=40), rng.normal(1, size=25)
    uw, vw = rng.random(40), rng.random(25)
    ours = numeric.wasserstein_distance(numeric.sample(u, uw), numeric.sample(v, vw))
    assert ours == pytest.approx(wasserstein_distance(u, v, uw, vw), **TOL)


def test_normed_wasserstein_is_distance_over_reference_std() -> None:
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(5, 2, 3000), rng.normal(5.5, 2, 2500)
    result = numeric.wasserstein_norm_test(ref, cur)
    expected = wasserstein_distance(ref, cur) / np.std(ref)
    assert result.statistic == pytest.approx(expected, **TOL)
    assert result.drifted == (expected >= 0.1)


def test_histogram_sample_feeds_the_same_statistics() -> None:
    edges = np.linspace(0.0, 1.0, 11)
    ref_counts = np.array([5, 8, 12, 20, 30, 40, 35, 25, 15, 10])
    cur_counts = np.array([20, 25, 30, 30, 25, 20, 15, 10, 5, 2])
    centres = (edges[:-1] + edges[1:]) / 2
    ref_raw, cur_raw = np.repeat(centres, ref_counts), np.repeat(centres, cur_counts)
    ref, cur = (
        numeric.histogram_sample(edges, ref_counts),
        numeric.histogram_sample(edges, cur_counts),
    )
    expected = ks_2samp(ref_raw, cur_raw)
    assert numeric.ks_test(ref, cur).statistic == pytest.approx(expected.pvalue, **TOL)
    assert numeric.wasserstein_distance(ref, cur) == pytest.approx(
        wasserstein_distance(ref_raw, cur_raw), **TOL
    )
    assert numeric.weighted_std(ref) == pytest.approx(np.std(ref_raw), **TOL)


def test_numeric_drift_picks_the_method_by_sample_size() -> None:
    rng = np.random.default_rng(7)
    small = numeric.numeric_drift(rng.normal(size=5000), rng.normal(size=800))
    large = numeric.numeric_drift(rng.normal(size=5000), rng.normal(0.5, size=5000))
    assert small.method == "ks" and small.is_test
    assert large.method == "wasserstein_norm" and large.drifted and not large.is_test


def test_non_finite_values_are_dropped() -> None:
    ref = np.array([1.0, 2.0, np.nan, 3.0, np.inf, 4.0])
    cur = np.array([2.0, -np.inf, 3.0, 5.0])
    expected = ks_2samp([1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 5.0])
    result = numeric.ks_test(ref, cur)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)
    assert (result.reference_size, result.current_size) == (4, 3)


def test_constant_columns() -> None:
    same = numeric.ks_test(np.full(50, 2.0), np.full(40, 2.0))
    assert same.statistic == 1.0 and not same.drifted
    assert numeric.wasserstein_distance(np.full(50, 2.0), np.full(40, 2.0)) == 0.0
    # A constant reference has no spread: Evidently divides by 0.001 instead of 0.
    moved = numeric.wasserstein_norm_test(np.full(2000, 2.0), np.full(2000, 2.5))
    assert moved.statistic == pytest.approx(0.5 / 0.001) and moved.drifted


@pytest.mark.parametrize("current", [[], [np.nan, np.inf]])
def test_empty_current_window_is_no_data(current: list[float]) -> None:
    with pytest.raises(NoData, match="current window holds no values"):
        numeric.ks_test([1.0, 2.0], current)
    with pytest.raises(NoData):
        numeric.numeric_drift([1.0, 2.0], current)
    with pytest.raises(NoData):
        numeric.wasserstein_distance([1.0, 2.0], current)


def test_bad_weights_and_edges_are_refused() -> None:
    with pytest.raises(InvalidInput, match="one per value"):
        numeric.sample([1.0, 2.0], [1.0])
    with pytest.raises(InvalidInput, match="not negative"):
        numeric.sample([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(InvalidInput, match="increasing"):
        numeric.histogram_sample([0.0, 0.5, 0.4], [1, 2])
