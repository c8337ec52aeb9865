"""Every monitoring figure of one window, as one JSON-ready dictionary.

The report, the dashboard and ``monitor check`` all read this summary. It is built from
the log store's aggregates and part A's statistics: the current window against the
reference profile of the dataset the served model was trained on (predicted codes and
text) and against the window of the same length just before (confidence and the
auto-coding rate, which no dataset profile holds). A panel that cannot be computed
says why (``{"available": false, "reason": ...}``) instead of failing the whole.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcycle.monitor import aggregates as agg
from mlcycle.monitor.logstore import LogStore, Window
from mlcycle.monitor.reference import ServedReference, served_reference
from mlcycle.monitor.sections import (
    confidence_panel,
    prediction_panel,
    quality_panel,
    service_panel,
    text_panel,
)
from mlcycle.tasks import task_of

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

BUCKETS_S = (10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400)
MAX_BUCKETS = 60


def bucket_seconds(span: timedelta) -> int:
    """The smallest bucket that cuts ``span`` into at most ``MAX_BUCKETS`` points."""
    seconds = span.total_seconds()
    return next((b for b in BUCKETS_S if seconds / b <= MAX_BUCKETS), BUCKETS_S[-1])


def build_summary(
    settings: Settings,
    start: datetime,
    end: datetime,
    store: LogStore | None = None,
    model: str | None = None,
    reference: ServedReference | None = None,
) -> dict[str, Any]:
    """All figures of [start, end) for the served model (``serve.model`` by default).

    ``reference`` skips the registry look-up (benchmarks, tests with a given profile).
    """
    store = store or LogStore.from_settings(settings)
    nomenclature = task_of(settings).nomenclature
    reference = reference or served_reference(model or settings.served_ref(), settings)
    bucket = bucket_seconds(end - start)
    threshold = settings.monitor.auto_coding_threshold
    baseline = _baseline_histogram(store, start - (end - start), start)
    with store.open_window(start, end) as window:
        summary = _header(window, reference, bucket, store)
        totals = agg.totals(window)
        summary["volume"] = _volume(window, totals, bucket, threshold, end - start)
        if totals.predictions == 0:
            reason = (
                f"No predictions between {_iso(start)} and {_iso(end)}; widen the window "
                "(--since 30d, --from/--to) or send traffic to the server."
            )
            summary["notes"].append(reason)
            for panel in ("service", "prediction", "confidence", "text", "quality"):
                summary[panel] = {"available": False, "reason": reason}
        else:
            profile = reference.profile
            summary["service"] = service_panel(window, settings)
            summary["prediction"] = prediction_panel(window, profile, bucket * 1000, nomenclature)
            summary["confidence"] = confidence_panel(window, baseline, threshold)
            summary["text"] = text_panel(window, totals, profile)
            summary["quality"] = quality_panel(window, bucket * 1000, nomenclature)
    if reference.reason:
        summary["notes"].append(reference.reason)
    return plain(summary)


def _baseline_histogram(store: LogStore, start: datetime, end: datetime) -> np.ndarray:
    counts = np.zeros(agg.PROBABILITY_BINS)
    for index, count in store.top1_histogram(start, end, agg.PROBABILITY_BINS):
        counts[max(int(index), 0)] += count
    return counts


def _header(
    window: Window, reference: ServedReference, bucket: int, store: LogStore
) -> dict[str, Any]:
    skipped = [s.to_dict() for s in window.skipped]
    notes = [
        f"Skipped {len(skipped)} unreadable log file(s) (cut short by a crash?): "
        + ", ".join(s["path"] for s in skipped[:3])
    ] if skipped else []  # fmt: skip
    return {
        "generated_at": _iso(datetime.now(UTC)),
        "window": {
            "start": _iso(window.start),
            "end": _iso(window.end),
            "bucket_seconds": bucket,
        },
        "model": reference.to_dict(),
        "log": {
            "location": store.location,
            "prediction_files": len(window.predictions.files),
            "feedback_files": len(window.feedback.files),
            "skipped": skipped,
        },
        "notes": notes,
    }


def _volume(
    window: Window, totals: agg.Totals, bucket: int, threshold: float, span: timedelta
) -> dict[str, Any]:
    return {
        "predictions": totals.predictions,
        "requests": totals.requests,
        "per_second": totals.requests / span.total_seconds() if span.total_seconds() else None,
        "first": _iso_ms(totals.first_ms),
        "last": _iso_ms(totals.last_ms),
        "series": agg.series(window, bucket * 1000, threshold) if totals.predictions else {},
        "by_version": agg.by_version(window, threshold) if totals.predictions else [],
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else _iso(datetime.fromtimestamp(ms / 1000, UTC))


def plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays to Python, NaN and infinity to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return _iso(value)
    return value
