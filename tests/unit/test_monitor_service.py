"""Service figures and confidence statistics against scipy and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, scoreatpercentile, wasserstein_distance

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor import numeric
from mlcycle.monitor.confidence import auto_coding_change, auto_coding_rate, confidence_drift
from mlcycle.monitor.results import NoData
from mlcycle.monitor.service import (
    histogram_quantiles,
    latency_percentiles,
    service_stats,
    service_stats_from_histogram,
)

TOL = {"rel": 1e-6, "abs": 1e-9}


def test_latency_percentiles_match_scipy() -> None:
    rng = np.random.default_rng(1)
    seconds = rng.lognormal(-4, 0.5, 5001)
    found = latency_percentiles(seconds)
    for p in (50, 90, 95, 99):
        assert found[f"p{p}"] == pytest.approx(scoreatpercentile(seconds, p) * 1000, **TOL)


def test_service_stats_from_raw_requests() -> None:
    statuses = [200] * 90 + [422] * 6 + [500] * 3 + [503]
    stats = service_stats(np.linspace(0.001, 0.1, 100), statuses, window_seconds=50.0)
    assert stats.requests == 100 and stats.per_second == 2.0
    assert stats.error_rate == pytest.approx(0.04)
    assert stats.client_error_rate == pytest.approx(0.06)
    assert stats.latency_ms["p50"] == pytest.approx(50.5)
    counted = service_stats([0.01] * 100, {200: 90, "422": 6, 500: 3, 503: 1})
    assert (counted.error_rate, counted.client_error_rate) == (stats.error_rate, 0.06)
    assert counted.to_dict()["per_second"] is None


def test_histogram_quantiles_follow_prometheus() -> None:
    bounds = [0.1, 0.2, 0.5, np.inf]
    counts = [10, 30, 40, 20]
    # rank 50 falls in (0.2, 0.5]: 10 of its 40 -> 0.2 + 0.3 * 10/40
    # rank 5 falls in the first bucket, which starts at 0: 0.1 * 5/10
    # rank 95 falls in +Inf: the highest finite bound
    found = histogram_quantiles(bounds, counts, [0.5, 0.05, 0.95, 0.0, 0.4])
    assert found.tolist() == pytest.approx([0.275, 0.05, 0.5, 0.0, 0.2])


def test_service_stats_from_a_histogram() -> None:
    stats = service_stats_from_histogram(
        [0.005, 0.01, 0.025, 0.05], [50, 30, 15, 5], {200: 99, 500: 1}, window_seconds=10
    )
    assert stats.requests == 100 and stats.per_second == 10.0
    assert stats.latency_ms["p50"] == pytest.approx(5.0)
    assert stats.latency_ms["p99"] == pytest.approx(45.0)  # 25 + 25 * 4/5
    assert stats.error_rate == pytest.approx(0.01)


def test_empty_or_bad_service_input() -> None:
    with pytest.raises(NoData):
        service_stats([], [])
    with pytest.raises(NoData):
        histogram_quantiles([0.1, 0.2], [0, 0], [0.5])
    with pytest.raises(InvalidInput, match="increasing"):
        histogram_quantiles([0.2, 0.1], [1, 1], [0.5])


def test_confidence_drift_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    ref, small, large = rng.beta(8, 2, 4000), rng.beta(5, 3, 600), rng.beta(5, 3, 5000)
    found = confidence_drift(ref, small)
    assert found.method == "ks" and found.drifted
    assert found.statistic == pytest.approx(ks_2samp(ref, small).pvalue, **TOL)
    found = confidence_drift(ref, large)
    expected = wasserstein_distance(ref, large) / np.std(ref)
    assert found.method == "wasserstein_norm"
    assert found.statistic == pytest.approx(expected, **TOL)


def test_auto_coding_rate() -> None:
    rng = np.random.default_rng(3)
    probs = rng.random(1000)
    found = auto_coding_rate(probs, 0.7)
    assert found.rate == pytest.approx(np.mean(probs >= 0.7))
    assert found.total == 1000
    binned = numeric.histogram_sample(np.linspace(0, 1, 11), np.arange(1, 11))
    assert auto_coding_rate(binned, 0.8).rate == pytest.approx((9 + 10) / 55)
    change = auto_coding_change([0.9, 0.95, 0.5, 0.85], [0.9, 0.4, 0.5, 0.3], 0.8)
    assert change["change_points"] == pytest.approx(-50.0)
    with pytest.raises(InvalidInput, match=r"\[0, 1\]"):
        auto_coding_rate(probs, 1.5)
    with pytest.raises(NoData, match="no predictions"):
        auto_coding_rate([], 0.8)
