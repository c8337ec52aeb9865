"""Alert rules, the Alertmanager payload, window parsing and the report page, on summaries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlcycle.cli.monitor import window_bounds
from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings.monitor import MonitorSettings, duration_seconds
from mlcycle.monitor.alerts import alert_payload
from mlcycle.monitor.report import render
from mlcycle.monitor.rules import CheckResult, evaluate_rules


def summary(js: float = 0.05, change: float = -1.0, top1: float = 0.8, labelled: int = 100,
            predictions: int = 1000, error_rate: float | None = None) -> dict:  # fmt: skip
    errors = (
        {"available": True, "rate": error_rate}
        if error_rate is not None
        else {"available": False, "reason": "no metrics_url"}
    )
    return {
        "window": {"start": "2024-05-06T00:00:00Z", "end": "2024-05-07T00:00:00Z"},
        "model": {"name": "nace", "version": "3"},
        "volume": {"predictions": predictions},
        "prediction": {
            "drift": {"available": True, "code": {"scores": {"jensenshannon": {"statistic": js}}}}
        },
        "confidence": {
            "auto_coding_rate": 0.6,
            "baseline": {
                "available": True,
                "auto_coding_rate": 0.6 - change / 100,
                "change_points": change,
            },
        },
        "quality": {
            "available": True,
            "labelled": labelled,
            "metrics": {"accuracy_top1": {"value": top1, "low": top1 - 0.05, "high": top1 + 0.05}},
        },
        "service": {"errors": errors},
    }


def statuses(results) -> dict[str, str]:
    return {r.rule: r.status for r in results}


def test_quiet_traffic_breaches_nothing() -> None:
    got = statuses(evaluate_rules(summary(), MonitorSettings()))
    assert got == {"prediction_drift": "ok", "auto_coding_drop": "ok", "live_accuracy": "ok",
                   "error_rate": "skipped"}  # fmt: skip


def test_each_rule_fires_past_its_threshold() -> None:
    bad = summary(js=0.3, change=-12.0, top1=0.3, error_rate=0.2)
    results = evaluate_rules(bad, MonitorSettings())
    assert {r.rule for r in results if r.breached} == {
        "prediction_drift", "auto_coding_drop", "live_accuracy", "error_rate"
    }  # fmt: skip
    drop = next(r for r in results if r.rule == "auto_coding_drop")
    assert drop.value == pytest.approx(12.0) and "-12.0 points" in drop.message


def test_thresholds_and_switches_come_from_the_settings() -> None:
    cfg = MonitorSettings.model_validate(
        {"rules": {"prediction_drift": {"max_js": 0.5}, "live_accuracy": {"enabled": False}}}
    )
    got = statuses(evaluate_rules(summary(js=0.3, top1=0.1), cfg))
    assert got["prediction_drift"] == "ok" and "live_accuracy" not in got


def test_too_little_evidence_is_skipped_not_judged() -> None:
    got = statuses(evaluate_rules(summary(js=0.9, labelled=3, predictions=10), MonitorSettings()))
    assert got["prediction_drift"] == "skipped" and got["live_accuracy"] == "skipped"


def test_the_alert_payload_is_alertmanager_shaped() -> None:
    bad = summary(js=0.3)
    result = CheckResult(bad["window"], bad["model"], evaluate_rules(bad, MonitorSettings()))
    (alert,) = alert_payload(result)
    assert alert["labels"]["alertname"] == "MlcyclePredictionDrift"
    assert alert["labels"]["model"] == "nace" and alert["labels"]["version"] == "3"
    assert set(alert) == {"labels", "annotations", "startsAt", "generatorURL"}
    assert result.exit_code == 1


def test_windows_and_durations_refuse_nonsense_in_one_sentence() -> None:
    assert duration_seconds("90m") == 5400
    with pytest.raises(InvalidInput, match="not a duration"):
        window_bounds("soon", None, None, "7d")
    with pytest.raises(InvalidInput, match="either --since or --from"):
        window_bounds("1d", "2024-05-01", None, "7d")
    with pytest.raises(InvalidInput, match="before --to"):
        window_bounds(None, "2024-05-02", "2024-05-01", "7d")
    start, end = window_bounds(None, "2024-05-01", "2024-05-02T12:00", "7d")
    assert start == datetime(2024, 5, 1, tzinfo=UTC) and (end - start).days == 1
    with pytest.raises(ValueError, match="webhook"):
        MonitorSettings(webhooks=["ftp://nope"])


def test_a_report_of_an_empty_window_renders_its_reasons() -> None:
    reason = "No predictions between A and B; widen the window."
    empty = {
        "generated_at": "now", "notes": [reason],
        "window": {"start": "A", "end": "B", "bucket_seconds": 60},
        "model": {"name": "nace", "version": None, "dataset": None},
        "volume": {"predictions": 0, "requests": 0, "series": {}, "by_version": []},
        **{p: {"available": False, "reason": reason}
           for p in ("service", "prediction", "confidence", "text", "quality")},
    }  # fmt: skip
    page = render(empty)
    assert page.count("widen the window") >= 5 and "<script" in page
