"""Every monitoring figure of one window, as one typed :class:`Summary`.

The report, the dashboard and ``monitor check`` all read this summary. It is built from
the log store's aggregates and the drift statistics: the current window against the
reference profile of the dataset the served model was trained on (predicted labels or
values, text, features) and against the window of the same length just before
(confidence and the auto-coding rate, which no dataset profile holds). Which panels a
summary holds depends on the project's task:

==================  ===========================  ==========================  ==========
panel               text-classification          classification (tabular)    regression
==================  ===========================  ==========================  ==========
volume, service     yes                          yes                         yes
prediction          labels                       labels                      values
confidence          yes                          yes                         -
text                yes                          -                           -
features            -                            yes                         yes
quality             accuracy                     accuracy                    error
==================  ===========================  ==========================  ==========

A panel that cannot be computed says why (``available`` false and a ``reason``)
instead of failing the whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcycle.monitor import aggregates as agg
from mlcycle.monitor.features import feature_panel
from mlcycle.monitor.logstore import LogStore, Window
from mlcycle.monitor.panels import (
    AccuracyPanel,
    ConfidencePanel,
    ErrorPanel,
    FeatureDriftPanel,
    LabelPredictionPanel,
    ServicePanel,
    TextPanel,
    ValuePredictionPanel,
    VersionRow,
    VolumePanel,
    iso,
    jsonable,
)
from mlcycle.monitor.reference import ServedReference, served_reference
from mlcycle.monitor.regression import error_panel, value_panel
from mlcycle.monitor.sections import (
    confidence_panel,
    prediction_panel,
    quality_panel,
    service_panel,
    text_panel,
)
from mlcycle.tasks import Task, task_of

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

BUCKETS_S = (10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400)
MAX_BUCKETS = 60


def bucket_seconds(span: timedelta) -> int:
    """The smallest bucket that cuts ``span`` into at most ``MAX_BUCKETS`` points."""
    seconds = span.total_seconds()
    return next((b for b in BUCKETS_S if seconds / b <= MAX_BUCKETS), BUCKETS_S[-1])


@dataclass(frozen=True)
class WindowInfo:
    start: str
    end: str
    bucket_seconds: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "bucket_seconds": self.bucket_seconds}


@dataclass(frozen=True)
class LogInfo:
    """Where the log was read and which files were left out."""

    location: str
    prediction_files: int
    feedback_files: int
    skipped: list[Any] = field(default_factory=list)  # predlog.Skipped

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)


@dataclass
class Summary:
    """One window's panels; those the task has not are None (and absent from the JSON)."""

    generated_at: str
    task: str
    window: WindowInfo
    model: ServedReference
    log: LogInfo
    volume: VolumePanel
    service: ServicePanel
    prediction: LabelPredictionPanel | ValuePredictionPanel
    quality: AccuracyPanel | ErrorPanel
    confidence: ConfidencePanel | None = None
    text: TextPanel | None = None
    features: FeatureDriftPanel | None = None
    notes: list[str] = field(default_factory=list)
    # Shadow or canary traffic compared (monitor.compare), filled by the report only.
    experiment: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        names = ("generated_at", "task", "window", "model", "log", "notes", "volume", "service",
                 "prediction", "confidence", "text", "features", "quality",
                 "experiment")  # fmt: skip
        return {name: jsonable(getattr(self, name)) for name in names
                if getattr(self, name) is not None}  # fmt: skip


def build_summary(
    settings: Settings,
    start: datetime,
    end: datetime,
    store: LogStore | None = None,
    model: str | None = None,
    reference: ServedReference | None = None,
) -> Summary:
    """All figures of [start, end) for the served model (``serve.model`` by default).

    ``reference`` skips the registry look-up (benchmarks, tests with a given profile).
    """
    store = store or LogStore.from_settings(settings)
    task = task_of(settings)
    reference = reference or served_reference(model or settings.served_ref(), settings)
    bucket = bucket_seconds(end - start)
    threshold = auto_coding_threshold(reference, settings)
    with store.open_window(start, end) as window:
        totals = agg.totals(window)
        summary = _empty(task, window, reference, bucket, store, totals, threshold)
        if totals.predictions == 0:
            _say_empty(summary, start, end)
        else:
            _fill(summary, task, settings, window, reference, totals, store)
    if reference.reason:
        summary.notes.append(reference.reason)
    return summary


def auto_coding_threshold(reference: ServedReference, settings: Settings) -> float:
    """The served version's own threshold, as serving answers with it; the project's
    ``monitor.auto_coding_threshold`` for versions that carry none."""
    own = reference.auto_coding_threshold
    return settings.monitor.auto_coding_threshold if own is None else own


def _empty(
    task: Task, window: Window, reference: ServedReference, bucket: int, store: LogStore,
    totals: agg.Totals, threshold: float,
) -> Summary:  # fmt: skip
    """The header and the volume; every other panel the task has, not yet computed."""
    skipped = window.skipped
    notes = [
        f"Skipped {len(skipped)} unreadable log file(s) (cut short by a crash?): "
        + ", ".join(s.path for s in skipped[:3])
    ] if skipped else []  # fmt: skip
    pending = "Not computed."
    classification = task.kind == "classification"
    return Summary(
        generated_at=iso(datetime.now(UTC)),
        task=task.name,
        window=WindowInfo(iso(window.start), iso(window.end), bucket),
        model=reference,
        log=LogInfo(
            store.location, len(window.predictions.files), len(window.feedback.files), skipped
        ),
        notes=notes,
        volume=_volume(window, totals, bucket, threshold, window.end - window.start),
        service=ServicePanel.missing(pending),
        prediction=(LabelPredictionPanel if classification else ValuePredictionPanel).missing(
            pending
        ),
        quality=(AccuracyPanel if classification else ErrorPanel).missing(pending),
        confidence=ConfidencePanel.missing(pending) if classification else None,
        text=TextPanel.missing(pending) if task.text_column else None,
        features=FeatureDriftPanel.missing(pending) if _has_features(task) else None,
    )


def _has_features(task: Task) -> bool:
    """Tabular inputs are features; a text model's may have categorical columns too."""
    return task.text_column is None or bool(task.categorical_columns)


def _say_empty(summary: Summary, start: datetime, end: datetime) -> None:
    reason = (
        f"No predictions between {iso(start)} and {iso(end)}; widen the window "
        "(--since 30d, --from/--to) or send traffic to the server."
    )
    summary.notes.append(reason)
    for name in ("service", "prediction", "confidence", "text", "features", "quality"):
        panel = getattr(summary, name)
        if panel is not None:
            setattr(summary, name, type(panel).missing(reason))


def _fill(
    summary: Summary, task: Task, settings: Settings, window: Window,
    reference: ServedReference, totals: agg.Totals, store: LogStore,
) -> None:  # fmt: skip
    """Every panel of the task, on a window that holds predictions."""
    profile = reference.profile
    bucket_ms = summary.window.bucket_seconds * 1000
    summary.service = service_panel(window, settings)
    if task.kind == "classification":
        nomenclature = task.nomenclature
        summary.prediction = prediction_panel(window, profile, bucket_ms, nomenclature)
        # The window of the same length just before: what confidence is compared with.
        span = window.end - window.start
        before = _baseline_histogram(store, window.start - span, window.start)
        threshold = auto_coding_threshold(reference, settings)
        summary.confidence = confidence_panel(window, before, threshold)
        summary.quality = quality_panel(window, bucket_ms, nomenclature)
    else:
        summary.prediction = value_panel(window, profile, bucket_ms)
        summary.quality = error_panel(window, bucket_ms, reference.metrics)
    if task.text_column:
        summary.text = text_panel(window, totals, profile)
    if _has_features(task):
        share = settings.monitor.rules.feature_drift.drift_share
        summary.features = feature_panel(window, profile, share)


def _baseline_histogram(store: LogStore, start: datetime, end: datetime) -> np.ndarray:
    counts = np.zeros(agg.PROBABILITY_BINS)
    for index, count in store.top1_histogram(start, end, agg.PROBABILITY_BINS):
        counts[max(int(index), 0)] += count
    return counts


def _volume(
    window: Window, totals: agg.Totals, bucket: int, threshold: float, span: timedelta
) -> VolumePanel:
    seconds = span.total_seconds()
    if not totals.predictions:
        return VolumePanel(predictions=0, requests=0, per_second=0.0 if seconds else None)
    return VolumePanel(
        predictions=totals.predictions,
        requests=totals.requests,
        per_second=totals.requests / seconds if seconds else None,
        first=_iso_ms(totals.first_ms),
        last=_iso_ms(totals.last_ms),
        series=agg.series(window, bucket * 1000, threshold),
        by_version=[VersionRow(**row) for row in agg.by_version(window, threshold)],
    )


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else iso(datetime.fromtimestamp(ms / 1000, UTC))
