"""Alert rules on a monitoring summary, and ``monitor check`` which runs them.

Each rule reads one figure of the summary and compares it with its configured
threshold (``monitor.rules`` in the project file). A rule without enough evidence (too
few predictions or labels, no reference, no metrics endpoint) is *skipped* with the
reason, never counted as breached or passed silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.core.settings.monitor import MonitorSettings

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


def _enough(summary: dict[str, Any], rule: str, threshold: float, cfg: MonitorSettings) -> Any:
    predictions = summary["volume"]["predictions"]
    if predictions < cfg.min_predictions:
        return RuleResult(
            rule, SKIPPED, None, threshold,
            f"{predictions} predictions in the window, fewer than monitor.min_predictions "
            f"({cfg.min_predictions}): too little evidence.",
        )  # fmt: skip
    return None


def prediction_drift(summary: dict[str, Any], cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.prediction_drift.max_js
    if early := _enough(summary, "prediction_drift", limit, cfg):
        return early
    drift = summary["prediction"].get("drift", {})
    if not drift.get("available"):
        return RuleResult("prediction_drift", SKIPPED, None, limit, drift.get("reason", ""))
    js = drift["code"]["scores"]["jensenshannon"]["statistic"]
    status = BREACHED if js > limit else OK
    message = f"Predicted-code Jensen-Shannon distance to the training labels is {js:.3f}"
    return RuleResult("prediction_drift", status, js, limit, f"{message} (limit {limit}).")


def auto_coding_drop(summary: dict[str, Any], cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.auto_coding_drop.max_drop_points
    if early := _enough(summary, "auto_coding_drop", limit, cfg):
        return early
    baseline = summary["confidence"].get("baseline", {})
    if not baseline.get("available"):
        return RuleResult("auto_coding_drop", SKIPPED, None, limit, baseline.get("reason", ""))
    drop = -baseline["change_points"]
    status = BREACHED if drop > limit else OK
    message = (
        f"The auto-coding rate went from {100 * baseline['auto_coding_rate']:.1f}% to "
        f"{100 * summary['confidence']['auto_coding_rate']:.1f}% ({-drop:+.1f} points; "
        f"a drop of more than {limit} points alerts)."
    )
    return RuleResult("auto_coding_drop", status, drop, limit, message)


def live_accuracy(summary: dict[str, Any], cfg: MonitorSettings) -> RuleResult:
    rule = cfg.rules.live_accuracy
    quality = summary["quality"]
    labelled = quality.get("labelled", 0) if quality.get("available") else 0
    if labelled < rule.min_labelled:
        message = (
            f"{labelled} labelled predictions, fewer than "
            f"monitor.rules.live_accuracy.min_labelled ({rule.min_labelled})."
        )
        return RuleResult("live_accuracy", SKIPPED, None, rule.min_top1, message)
    top1 = quality["metrics"]["accuracy_top1"]
    status = BREACHED if top1["value"] < rule.min_top1 else OK
    message = (
        f"Live top-1 accuracy is {top1['value']:.3f} (95% CI {top1['low']:.3f}-"
        f"{top1['high']:.3f}) on {labelled} labelled predictions (minimum {rule.min_top1})."
    )
    return RuleResult("live_accuracy", status, top1["value"], rule.min_top1, message)


def error_rate(summary: dict[str, Any], cfg: MonitorSettings) -> RuleResult:
    limit = cfg.rules.error_rate.max_rate
    errors = summary.get("service", {}).get("errors", {})
    if not errors.get("available") or errors.get("rate") is None:
        reason = errors.get("reason") or "The server has answered no request yet."
        return RuleResult("error_rate", SKIPPED, None, limit, reason)
    rate = errors["rate"]
    status = BREACHED if rate > limit else OK
    message = f"{100 * rate:.2f}% of requests failed with a 5xx (limit {100 * limit:.2f}%)."
    return RuleResult("error_rate", status, rate, limit, message)


RULES = {
    "prediction_drift": prediction_drift,
    "auto_coding_drop": auto_coding_drop,
    "live_accuracy": live_accuracy,
    "error_rate": error_rate,
}


def evaluate_rules(summary: dict[str, Any], cfg: MonitorSettings) -> list[RuleResult]:
    """The verdict of every enabled rule on a summary."""
    return [
        check(summary, cfg) for name, check in RULES.items() if getattr(cfg.rules, name).enabled
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
        summary["window"], summary["model"], evaluate_rules(summary, settings.monitor)
    )
    if notify and result.breached and settings.monitor.webhooks:
        result.deliveries = send_alerts(result, settings.monitor)
    return result
