"""Service figures: volume, latency percentiles and error rates.

From raw per-request arrays (the prediction log) or from aggregates: status counts
and a latency histogram with cumulative-friendly bucket bounds, as DuckDB or
Prometheus hand them over. Histogram percentiles follow Prometheus's
``histogram_quantile``, so the report and a Grafana panel agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor.results import require_data

PERCENTILES = (50.0, 90.0, 95.0, 99.0)


@dataclass(frozen=True)
class ServiceStats:
    """Requests in a window and how they were served.

    Attributes:
        requests: Number of requests.
        per_second: Requests per second over the window, when its length is known.
        latency_ms: Latency percentiles in milliseconds, keyed ``"p50"``, ``"p99"``...
        error_rate: Share of requests answered 5xx (the service's fault).
        client_error_rate: Share answered 4xx (the caller's fault).
    """

    requests: int
    per_second: float | None
    latency_ms: dict[str, float]
    error_rate: float
    client_error_rate: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def latency_percentiles(
    seconds: Sequence[float] | np.ndarray, percentiles: Sequence[float] = PERCENTILES
) -> dict[str, float]:
    """Percentiles of latencies in milliseconds, linear between order statistics.

    The definition of ``numpy.percentile`` (default) and ``scipy.stats.scoreatpercentile``.

    Raises:
        NoData: No latency.
    """
    values = np.asarray(seconds, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    require_data(values.size, "current", "requests")
    found = np.percentile(values, percentiles) * 1000.0
    return {_name(p): float(v) for p, v in zip(percentiles, found, strict=True)}


def histogram_quantiles(
    bounds: Sequence[float],
    counts: Sequence[float],
    quantiles: Sequence[float],
) -> np.ndarray:
    """Quantiles of a bucketed histogram, as Prometheus's ``histogram_quantile``.

    Args:
        bounds: Increasing upper bounds (``le``) of the buckets; the last may be inf.
        counts: Observations per bucket (not cumulative).
        quantiles: Levels in [0, 1].

    Returns:
        One value per level: linear interpolation inside the bucket the rank falls in,
        the first bucket starting at 0 (for a positive bound), and the highest finite
        bound when the rank falls in the +Inf bucket.

    Raises:
        InvalidInput: Bounds not increasing, or counts of another length.
        NoData: An empty histogram.
    """
    upper = np.asarray(bounds, dtype=np.float64)
    per_bucket = np.asarray(counts, dtype=np.float64)
    if upper.size != per_bucket.size or upper.size == 0 or np.any(np.diff(upper) <= 0):
        raise InvalidInput("Give one count per bucket and strictly increasing bucket bounds.")
    cumulative = np.cumsum(per_bucket)
    require_data(cumulative[-1], "current", "requests")
    levels = np.asarray(quantiles, dtype=np.float64)
    rank = levels * cumulative[-1]
    bucket = np.minimum(np.searchsorted(cumulative, rank, side="left"), upper.size - 1)
    lower = np.where(bucket > 0, upper[np.maximum(bucket - 1, 0)], np.minimum(upper[0], 0.0))
    below = np.where(bucket > 0, cumulative[np.maximum(bucket - 1, 0)], 0.0)
    inside = per_bucket[bucket]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(inside > 0, (rank - below) / inside, 1.0)
    value = lower + (upper[bucket] - lower) * fraction
    finite_top = upper[np.isfinite(upper)].max() if np.isfinite(upper).any() else np.nan
    return np.where(np.isinf(upper[bucket]), finite_top, value)


def error_rates(statuses: Mapping[int | str, float] | Sequence[int] | np.ndarray) -> tuple:
    """``(requests, 5xx share, 4xx share)`` from status codes or ``{status: count}``."""
    if isinstance(statuses, Mapping):
        codes = np.asarray([int(code) for code in statuses], dtype=np.int64)
        counts = np.asarray(list(statuses.values()), dtype=np.float64)
    else:
        codes = np.asarray(statuses, dtype=np.int64).ravel()
        counts = np.ones(codes.size)
    total = counts.sum()
    require_data(total, "current", "requests")
    server = counts[codes >= 500].sum() / total
    client = counts[(codes >= 400) & (codes < 500)].sum() / total
    return round(total), float(server), float(client)


def service_stats(
    latencies_seconds: Sequence[float] | np.ndarray,
    statuses: Mapping[int | str, float] | Sequence[int] | np.ndarray,
    window_seconds: float | None = None,
) -> ServiceStats:
    """Volume, latency percentiles and error rates of a window of requests.

    Args:
        latencies_seconds: One latency per request (seconds).
        statuses: One HTTP status per request, or ``{status: count}``.
        window_seconds: The window's length, for the request rate.

    Raises:
        NoData: No request in the window.
    """
    requests, server, client = error_rates(statuses)
    rate = requests / window_seconds if window_seconds else None
    return ServiceStats(requests, rate, latency_percentiles(latencies_seconds), server, client)


def service_stats_from_histogram(
    bounds: Sequence[float],
    counts: Sequence[float],
    statuses: Mapping[int | str, float],
    window_seconds: float | None = None,
) -> ServiceStats:
    """The same figures from aggregates: a latency histogram (seconds) and status counts."""
    requests, server, client = error_rates(statuses)
    levels = [p / 100.0 for p in PERCENTILES]
    values = histogram_quantiles(bounds, counts, levels) * 1000.0
    latency = {_name(p): float(v) for p, v in zip(PERCENTILES, values, strict=True)}
    rate = requests / window_seconds if window_seconds else None
    return ServiceStats(requests, rate, latency, server, client)


def _name(percentile: float) -> str:
    return f"p{percentile:g}"
