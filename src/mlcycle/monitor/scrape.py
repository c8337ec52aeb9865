"""The service's error rate, read from its Prometheus ``/metrics``.

The prediction log holds answered predictions only; failed requests live in the
server's request counter (``mlcycle_http_requests_total{route, status}``). The share is
since the server started (counters are cumulative); Prometheus rules in
``deploy/prometheus/`` give the windowed rate in production.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

REQUESTS = "mlcycle_http_requests"


@dataclass(frozen=True)
class ErrorRate:
    requests: float
    server_errors: float
    rate: float | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scrape_error_rate(url: str, timeout: float = 5.0) -> ErrorRate:
    """5xx share of ``/predict`` and ``/feedback`` requests counted at ``url``.

    Raises:
        Unavailable: The endpoint cannot be read.
    """
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from mlcycle.core.errors import Unavailable

    try:
        reply = httpx.get(url, timeout=timeout)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"Could not read the server's metrics at {url} ({exc}); check monitor.metrics_url."
        ) from None
    total = errors = 0.0
    for family in text_string_to_metric_families(reply.text):
        if family.name != REQUESTS:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            if sample.labels.get("route") not in ("/predict", "/feedback"):
                continue
            total += sample.value
            if str(sample.labels.get("status", "")).startswith("5"):
                errors += sample.value
    return ErrorRate(total, errors, errors / total if total else None, url)
