"""Alert rules on a monitoring summary, and ``monitor check`` which runs them.

Each rule reads one panel of the summary and compares a figure with its configured
threshold (``monitor.rules`` in the project file). ``monitor check`` runs the rules
whose panel the project's task has (live error for a regression, live accuracy for a
classification...). A rule without enough evidence (too few predictions or labels, no
reference, no metrics endpoint, no such panel) is *skipped* with the reason, never
counted as breached or passed silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlcycle.monitor.panels import (
    AccuracyPanel,
    ErrorPanel,
    LabelPredictionPanel,
)

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.core.settings.monitor import MonitorSettings
    from mlcycle.monitor.summary import Summary

OK, BREACHED, SKIPPED = "ok", "breached", "skipped"


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict."""

    rule: str
    status: str
    value: float | None
    threshold: float
    message: str

    @property
    def breached(self) -> bool:
        return self.status == BREACHED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _enough(summary: Summary, rule: str, threshold: float, cfg: MonitorSettings) -> Any:
    predictions = summary.volume.predictions
    if predictions < cfg.min_predictions:
        return RuleResult(
            rule, SKIPPED, None, threshold,
            f"{predictions} predictions in the window, fewer than monitor.min_predictions "
            f"({cfg.min_predictions}): too little evidence.",
        )  # fmt: skip
    return None


def _no_panel(summary: Summary, rule: str, threshold: float, panel: str) -> RuleResult:
    message = f"The {summary.task} task has no {panel} panel: {rule} does not apply."
    return RuleResult(rule, SKIPPED, None, threshold, message)


def prediction_drift(summary: Summary, cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.prediction_drift.max_js
    if not isinstance(summary.prediction, LabelPredictionPanel):
        return _no_panel(summary, "prediction_drift", limit, "predicted-label")
    if early := _enough(summary, "prediction_drift", limit, cfg):
        return early
    drift = summary.prediction.drift
    if not drift.available or drift.code is None:
        reason = drift.reason or summary.prediction.reason or ""
        return RuleResult("prediction_drift", SKIPPED, None, limit, reason)
    js = drift.code.scores["jensenshannon"].statistic
    status = BREACHED if js > limit else OK
    message = f"Predicted-label Jensen-Shannon distance to the training labels is {js:.3f}"
    return RuleResult("prediction_drift", status, js, limit, f"{message} (limit {limit}).")


def auto_coding_drop(summary: Summary, cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.auto_coding_drop.max_drop_points
    confidence = summary.confidence
    if confidence is None:
        return _no_panel(summary, "auto_coding_drop", limit, "confidence")
    if early := _enough(summary, "auto_coding_drop", limit, cfg):
        return early
    baseline = confidence.baseline
    if not baseline.available or baseline.change_points is None:
        reason = baseline.reason or confidence.reason or ""
        return RuleResult("auto_coding_drop", SKIPPED, None, limit, reason)
    drop = -baseline.change_points
    status = BREACHED if drop > limit else OK
    message = (
        f"The auto-coding rate went from {100 * (baseline.auto_coding_rate or 0):.1f}% to "
        f"{100 * (confidence.auto_coding_rate or 0):.1f}% ({-drop:+.1f} points; "
        f"a drop of more than {limit} points alerts)."
    )
    return RuleResult("auto_coding_drop", status, drop, limit, message)


def live_accuracy(summary: Summary, cfg: MonitorSettings) -> RuleResult:
    rule = cfg.rules.live_accuracy
    quality = summary.quality
    if not isinstance(quality, AccuracyPanel):
        return _no_panel(summary, "live_accuracy", rule.min_top1, "live-accuracy")
    labelled = quality.labelled if quality.available else 0
    if labelled < rule.min_labelled:
        message = (
            f"{labelled} labelled predictions, fewer than "
            f"monitor.rules.live_accuracy.min_labelled ({rule.min_labelled})."
        )
        return RuleResult("live_accuracy", SKIPPED, None, rule.min_top1, message)
    top1 = quality.metrics["accuracy_top1"]
    status = BREACHED if top1.value < rule.min_top1 else OK
    message = (
        f"Live top-1 accuracy is {top1.value:.3f} (95% CI {top1.low:.3f}-{top1.high:.3f}) "
        f"on {labelled} labelled predictions (minimum {rule.min_top1})."
    )
    return RuleResult("live_accuracy", status, top1.value, rule.min_top1, message)


def live_error(summary: Summary, cfg: MonitorSettings) -> RuleResult:
    rule = cfg.rules.live_error
    quality = summary.quality
    trained = quality.trained.get("rmse") if isinstance(quality, ErrorPanel) else None
    limit = rule.max_rmse or (rule.max_ratio * trained if trained else None)
    shown = limit if limit is not None else float("nan")
    if not isinstance(quality, ErrorPanel):
        return _no_panel(summary, "live_error", shown, "live-error")
    labelled = quality.labelled if quality.available else 0
    if labelled < rule.min_labelled:
        message = (
            f"{labelled} labelled predictions, fewer than "
            f"monitor.rules.live_error.min_labelled ({rule.min_labelled})."
        )
        return RuleResult("live_error", SKIPPED, None, shown, message)
    if limit is None:
        message = (
            "The served version's training run logged no rmse to compare with; set "
            "monitor.rules.live_error.max_rmse (in the target's units)."
        )
        return RuleResult("live_error", SKIPPED, None, shown, message)
    rmse = quality.metrics["rmse"]
    status = BREACHED if rmse.value > limit else OK
    basis = "max_rmse" if rule.max_rmse else f"{rule.max_ratio} x the trained RMSE {trained:.4g}"
    message = (
        f"Live RMSE is {rmse.value:.4g} (95% CI {rmse.low:.4g}-{rmse.high:.4g}) on "
        f"{labelled} labelled predictions (ceiling {limit:.4g}: {basis})."
    )
    return RuleResult("live_error", status, rmse.value, limit, message)


def feature_drift(summary: Summary, cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.feature_drift.drift_share
    features = summary.features
    if features is None:
        return _no_panel(summary, "feature_drift", limit, "feature-drift")
    if early := _enough(summary, "feature_drift", limit, cfg):
        return early
    judged = [c for c in features.columns if c.result is not None]
    if not features.available or not judged:
        reason = features.reason or "No feature could be compared with the training data."
        return RuleResult("feature_drift", SKIPPED, None, limit, reason)
    drifted = [c.column for c in judged if c.result is not None and c.result.drifted]
    status = BREACHED if features.dataset_drift else OK
    named = f": {', '.join(drifted[:5])}{'...' if len(drifted) > 5 else ''}" if drifted else ""
    message = (
        f"{len(drifted)} of {len(judged)} features drifted from the training data{named} "
        f"(share {features.drifted_share:.2f}; the dataset drifts from {limit})."
    )
    return RuleResult("feature_drift", status, features.drifted_share, limit, message)


def error_rate(summary: Summary, cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.error_rate.max_rate
    errors = summary.service.errors
    found = errors.result
    if found is None or found.rate is None:
        reason = (errors.reason or summary.service.reason) if found is None else None
        return RuleResult(
            "error_rate", SKIPPED, None, limit, reason or "The server has answered no request yet."
        )
    status = BREACHED if found.rate > limit else OK
    message = f"{100 * found.rate:.2f}% of requests failed with a 5xx (limit {100 * limit:.2f}%)."
    return RuleResult("error_rate", status, found.rate, limit, message)


Check = Callable[["Summary", "MonitorSettings"], RuleResult]


@dataclass(frozen=True)
class Rule:
    """A rule and the panel it needs: ``monitor check`` runs it where the task has it."""

    check: Check
    applies: Callable[[Summary], bool]


RULES: dict[str, Rule] = {
    "prediction_drift": Rule(
        prediction_drift, lambda s: isinstance(s.prediction, LabelPredictionPanel)
    ),
    "auto_coding_drop": Rule(auto_coding_drop, lambda s: s.confidence is not None),
    "live_accuracy": Rule(live_accuracy, lambda s: isinstance(s.quality, AccuracyPanel)),
    "feature_drift": Rule(feature_drift, lambda s: s.features is not None),
    "live_error": Rule(live_error, lambda s: isinstance(s.quality, ErrorPanel)),
    "error_rate": Rule(error_rate, lambda s: True),
}


def evaluate_rules(summary: Summary, cfg: MonitorSettings) -> list[RuleResult]:
    """The verdict of every enabled rule that applies to the summary's task."""
    return [
        rule.check(summary, cfg)
        for name, rule in RULES.items()
        if getattr(cfg.rules, name).enabled and rule.applies(summary)
    ]


@dataclass
class CheckResult:
    """``monitor check``: every rule's verdict and the alerts sent."""

    window: dict[str, Any]
    model: dict[str, Any]
    results: list[RuleResult]
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def breached(self) -> list[RuleResult]:
        return [r for r in self.results if r.breached]

    @property
    def exit_code(self) -> int:
        return 1 if self.breached else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "model": self.model,
            "breached": [r.rule for r in self.breached],
            "rules": [r.to_dict() for r in self.results],
            "webhooks": self.deliveries,
        }


def run_check(
    settings: Settings, start: datetime, end: datetime, notify: bool = True
) -> CheckResult:
    """Evaluate the rules on [start, end); POST the breaches to the configured webhooks."""
    from mlcycle.monitor.alerts import send_alerts
    from mlcycle.monitor.summary import build_summary

    summary = build_summary(settings, start, end)
    result = CheckResult(
        summary.window.to_dict(), summary.model.to_dict(), evaluate_rules(summary, settings.monitor)
    )
    if notify and result.breached and settings.monitor.webhooks:
        result.deliveries = send_alerts(result, settings.monitor)
    return result
