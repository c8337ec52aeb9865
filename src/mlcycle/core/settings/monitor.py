"""Monitoring settings: the window, the alert rules, the webhooks and the retrain policy.

Kept apart from ``settings.py`` because every rule has its own knobs;
``Settings.monitor`` is a :class:`MonitorSettings`. In the project file::

    monitor:
      window: 7d
      auto_coding_threshold: 0.8         # for models without their own (see below)
      rules:                             # each runs where the task has its panel
        prediction_drift: {max_js: 0.1}  # classification
        auto_coding_drop: {max_drop_points: 5}  # classification
        live_accuracy: {min_top1: 0.6, min_labelled: 50}  # classification
        feature_drift: {drift_share: 0.5}  # tabular
        live_error: {max_ratio: 1.5, min_labelled: 30}  # regression (or max_rmse: 12.5)
        error_rate: {enabled: true, max_rate: 0.01}
      metrics_url: http://127.0.0.1:8000/metrics
      webhooks: [http://alertmanager:9093/api/v2/alerts]
      retrain: {stop_at: staging}        # a human approves production
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as ``90s``, ``15m``, ``12h``, ``7d`` or ``2w``.

    Raises:
        ValueError: Not a number followed by one of s, m, h, d, w.
    """
    match = _DURATION.match(str(text))
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration; write a number and a unit: 30m, 12h, 7d")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


class PredictionDriftRule(BaseModel):
    """Jensen-Shannon distance of predicted codes against the training labels."""

    enabled: bool = True
    max_js: float = Field(0.1, gt=0.0, le=1.0)


class AutoCodingDropRule(BaseModel):
    """Fall of the auto-coding rate against the window before, in percentage points."""

    enabled: bool = True
    max_drop_points: float = Field(5.0, gt=0.0, le=100.0)


class LiveAccuracyRule(BaseModel):
    """Top-1 accuracy on feedback-labelled predictions (judged from ``min_labelled`` on)."""

    enabled: bool = True
    min_top1: float = Field(0.5, ge=0.0, le=1.0)
    min_labelled: int = Field(30, ge=1)


class FeatureDriftRule(BaseModel):
    """Tabular input drift: breached when at least ``drift_share`` of the features drift.

    Each feature is judged by Evidently's default method (KS or chi-squared on a small
    reference, Wasserstein or Jensen-Shannon on a large one); 0.5 is Evidently's
    ``DataDriftPreset(drift_share)``, which keeps one noisy feature from alerting.
    """

    enabled: bool = True
    drift_share: float = Field(0.5, gt=0.0, le=1.0)


class LiveErrorRule(BaseModel):
    """Regression RMSE on feedback-labelled predictions (judged from ``min_labelled`` on).

    ``max_rmse`` is a ceiling in the target's units; without one, the ceiling is
    ``max_ratio`` times the RMSE the served version had on its own evaluation rows,
    so the default fits any target without knowing its scale.
    """

    enabled: bool = True
    max_rmse: float | None = Field(None, gt=0.0)
    max_ratio: float = Field(1.5, gt=1.0)
    min_labelled: int = Field(30, ge=1)


class ErrorRateRule(BaseModel):
    """Share of 5xx answers, read from the server's ``/metrics`` (``metrics_url``)."""

    enabled: bool = True
    max_rate: float = Field(0.01, ge=0.0, le=1.0)


class RuleSettings(BaseModel):
    prediction_drift: PredictionDriftRule = Field(default_factory=PredictionDriftRule)
    auto_coding_drop: AutoCodingDropRule = Field(default_factory=AutoCodingDropRule)
    live_accuracy: LiveAccuracyRule = Field(default_factory=LiveAccuracyRule)
    feature_drift: FeatureDriftRule = Field(default_factory=FeatureDriftRule)
    live_error: LiveErrorRule = Field(default_factory=LiveErrorRule)
    error_rate: ErrorRateRule = Field(default_factory=ErrorRateRule)


class RetrainSettings(BaseModel):
    """What ``mlcycle retrain`` trains on and how far it may promote on its own."""

    # The last environment a retrain promotes to; None: the last configured one.
    # Set it to the environment before production when a human approves production,
    # or to ``challenger``: the new version then only holds that alias (a shadow or
    # canary server runs it) and the ``live`` gate decides its promotion later.
    stop_at: str | None = None
    # Feedback-labelled production texts join the training set (the holdout never does).
    use_feedback: bool = True
    # How far back feedback is read.
    feedback_window: str = "90d"

    @field_validator("feedback_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_seconds(value)
        return value


class MonitorSettings(BaseModel):
    """Production monitoring (``mlcycle monitor``) and the retraining loop."""

    # Default window of report, check and dashboard: the last ``window`` of traffic.
    window: str = "7d"
    # Top-1 probability from which a prediction is coded without review, for model
    # versions that carry no threshold of their own: a calibrated classifier carries the
    # one its training derived from train.calibration.auto_code_precision, and serving
    # and monitoring use that one.
    auto_coding_threshold: float = Field(0.8, ge=0.0, le=1.0)
    # Rules judge nothing on fewer predictions than this (too little evidence).
    min_predictions: int = Field(100, ge=1)
    rules: RuleSettings = Field(default_factory=RuleSettings)
    # The server's Prometheus endpoint: the prediction log holds answered requests only,
    # so the error rate comes from the request counters there.
    metrics_url: str | None = None
    # Alertmanager-compatible receivers of ``monitor check`` alerts (POSTed JSON).
    webhooks: list[str] = Field(default_factory=list)
    webhook_timeout_s: float = Field(5.0, gt=0.0, le=120.0)
    retrain: RetrainSettings = Field(default_factory=RetrainSettings)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        duration_seconds(value)
        return value

    @field_validator("webhooks")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook {url!r} must be an http:// or https:// URL")
        return value
