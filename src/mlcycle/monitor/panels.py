"""The typed panels of a monitoring summary: one dataclass per panel.

Each panel module builds its panel; rules, the report and the dashboard read it through
attributes. A panel (or a part of one) that cannot be computed carries
``available=False`` and the reason, in one sentence a user can act on. ``to_dict`` is
the JSON form (``monitor report --json``, the dashboard's ``/api/summary``): every field,
NaN and infinity as null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import numpy as np

from mlcycle.monitor.quality import Estimate
from mlcycle.monitor.results import DriftResult

if TYPE_CHECKING:
    from mlcycle.monitor.categorical import CategoricalDrift
    from mlcycle.monitor.scrape import ErrorRate
    from mlcycle.monitor.text import TextDrift

T = TypeVar("T")


def jsonable(value: Any) -> Any:
    """JSON-ready: objects with ``to_dict``, numpy scalars and arrays to Python, NaN and
    infinity to None, datetimes to ISO text."""
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return iso(value)
    return value


def iso(moment: datetime) -> str:
    """A moment as ISO text in UTC, to the second (``2024-05-06T12:00:00Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(kw_only=True)
class Panel:
    """What every panel says first: whether it could be computed, and if not, why."""

    available: bool = True
    reason: str | None = None

    @classmethod
    def missing(cls, reason: str, **known: Any) -> Self:
        """The panel that could not be computed, with the figures that could."""
        return cls(available=False, reason=reason, **known)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}


@dataclass(kw_only=True)
class Part(Panel, Generic[T]):
    """A part of a panel that may be missing: its result, flattened in the JSON."""

    result: T | None = None

    def to_dict(self) -> dict[str, Any]:
        found = jsonable(self.result) if self.result is not None else {}
        return {"available": self.available, "reason": self.reason, **found}


@dataclass(frozen=True)
class Share:
    """One category: how often it occurred and its share of the total."""

    key: str
    count: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "count": self.count, "share": self.share}


@dataclass
class TimeSeries:
    """Values per time bucket (``t``: the bucket's start, Unix milliseconds)."""

    t: list[int] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, **jsonable(self.values)}


@dataclass
class VersionRow:
    """The traffic one served model version answered in the window."""

    version: str | None
    predictions: int
    labelled: int
    first_ms: int
    last_ms: int
    auto_coding_rate: float | None = None  # classification
    top1_hits: int | None = None
    accuracy_top1: float | None = None
    rmse: float | None = None  # regression

    def to_dict(self) -> dict[str, Any]:
        return jsonable({f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(kw_only=True)
class VolumePanel(Panel):
    """Predictions and requests, per time bucket and per served version."""

    predictions: int = 0
    requests: int = 0
    per_second: float | None = None
    first: str | None = None
    last: str | None = None
    # predictions, requests, p50_ms, p95_ms (and auto_coding_rate, mean_confidence)
    series: TimeSeries = field(default_factory=TimeSeries)
    by_version: list[VersionRow] = field(default_factory=list)


@dataclass(kw_only=True)
class ServicePanel(Panel):
    """Latency percentiles from the log; the 5xx rate from the server's metrics."""

    latency_ms: dict[str, float] | None = None
    errors: Part[ErrorRate] = field(default_factory=Part)


@dataclass(kw_only=True)
class LabelDrift(Panel):
    """Predicted labels against the training labels, and by the nomenclature's groups."""

    code: CategoricalDrift | None = None
    section: CategoricalDrift | None = None  # merged by the coarsest level (a nomenclature)


@dataclass(kw_only=True)
class LabelPredictionPanel(Panel):
    """Classification: predicted labels now, over time, and against the training labels."""

    kind: str = "labels"
    codes: list[Share] = field(default_factory=list)
    sections: list[Share] | None = None
    section_series: TimeSeries | None = None
    reference_sections: list[Share] | None = None
    drift: LabelDrift = field(default_factory=LabelDrift)


@dataclass(kw_only=True)
class ValuePredictionPanel(Panel):
    """Regression: predicted values now, over time, and against the training target."""

    kind: str = "values"
    count: int = 0
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    reference_mean: float | None = None
    reference_std: float | None = None
    reference_quantiles: dict[str, float] | None = None
    edges: list[float] | None = None  # the target profile's histogram edges
    histogram: list[int] | None = None  # predicted values on those edges
    reference_histogram: list[int] | None = None
    series: TimeSeries = field(default_factory=TimeSeries)  # mean per bucket
    drift: Part[DriftResult] = field(default_factory=Part)


@dataclass(kw_only=True)
class ConfidenceBaseline(Panel):
    """The auto-coding rate and confidence of the window before, and the change."""

    auto_coding_rate: float | None = None
    change_points: float | None = None
    drift: DriftResult | None = None


@dataclass(kw_only=True)
class ConfidencePanel(Panel):
    """Top-1 probability histogram and auto-coding rate (classification)."""

    threshold: float = 0.0
    histogram: list[float] = field(default_factory=list)
    baseline_histogram: list[float] = field(default_factory=list)
    auto_coding_rate: float | None = None
    mean: float | None = None
    baseline: ConfidenceBaseline = field(default_factory=ConfidenceBaseline)


@dataclass(kw_only=True)
class TextPanel(Panel):
    """Text input: lengths, frequent words and drift against the training texts."""

    lengths: dict[str, list[float]] = field(default_factory=dict)
    frequent_words: list[tuple[str, int]] = field(default_factory=list)
    drift: Part[TextDrift] = field(default_factory=Part)
    reference_length: dict[str, float] | None = None


@dataclass(kw_only=True)
class FeatureDrift(Panel):
    """One feature's drift: the method Evidently would pick, its statistic, the verdict."""

    column: str
    type: str
    result: DriftResult | None = None
    null_share: float | None = None
    reference_null_share: float | None = None
    current_mean: float | None = None  # numeric and datetime
    reference_mean: float | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)  # categories that moved most

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(jsonable(self.result) if self.result is not None else {})
        del out["result"]
        return out


@dataclass(kw_only=True)
class FeatureDriftPanel(Panel):
    """Tabular input drift per feature, and the dataset-level verdict on their share."""

    records: int = 0
    unreadable: int = 0  # logged records that are not JSON objects
    drift_share: float = 0.5
    drifted_count: int = 0
    drifted_share: float = 0.0
    dataset_drift: bool = False
    columns: list[FeatureDrift] = field(default_factory=list)


@dataclass(frozen=True)
class AccuracyPoint:
    t: int
    labelled: int
    accuracy_top1: float

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "labelled": self.labelled, "accuracy_top1": self.accuracy_top1}


@dataclass(kw_only=True)
class AccuracyPanel(Panel):
    """Classification: live accuracy from feedback, with Wilson score intervals."""

    kind: str = "accuracy"
    feedback_rows: int = 0
    unmatched_feedback: int = 0
    labelled: int = 0
    metrics: dict[str, Estimate] = field(default_factory=dict)
    confused: list[dict[str, Any]] = field(default_factory=list)
    series: list[AccuracyPoint] = field(default_factory=list)


@dataclass(frozen=True)
class ErrorPoint:
    t: int
    labelled: int
    rmse: float
    mae: float

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "labelled": self.labelled, "rmse": self.rmse, "mae": self.mae}


@dataclass(frozen=True)
class LargeError:
    """One labelled prediction far from its true value."""

    request_id: str
    index: int
    predicted: float
    true: float

    @property
    def error(self) -> float:
        return self.predicted - self.true

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {"request_id": self.request_id, "index": self.index, "predicted": self.predicted,
             "true": self.true, "error": self.error}
        )  # fmt: skip


@dataclass(kw_only=True)
class ErrorPanel(Panel):
    """Regression: live error from feedback (RMSE, MAE, bias) with bootstrap intervals."""

    kind: str = "error"
    feedback_rows: int = 0
    unmatched_feedback: int = 0
    labelled: int = 0
    metrics: dict[str, Estimate] = field(default_factory=dict)
    trained: dict[str, float] = field(default_factory=dict)  # the version's own evaluation
    largest: list[LargeError] = field(default_factory=list)
    series: list[ErrorPoint] = field(default_factory=list)
