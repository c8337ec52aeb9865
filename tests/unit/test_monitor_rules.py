"""Alert rules per task, the Alertmanager payload, window parsing and the report page,
on typed summaries."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mlcycle.cli.monitor import window_bounds
from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings.monitor import MonitorSettings, duration_seconds
from mlcycle.monitor.alerts import alert_payload
from mlcycle.monitor.categorical import CategoricalDrift
from mlcycle.monitor.panels import (
    AccuracyPanel,
    ConfidenceBaseline,
    ConfidencePanel,
    ErrorPanel,
    FeatureDrift,
    FeatureDriftPanel,
    LabelDrift,
    LabelPredictionPanel,
    LargeError,
    Part,
    ServicePanel,
    TextPanel,
    ValuePredictionPanel,
    VolumePanel,
)
from mlcycle.monitor.quality import Estimate
from mlcycle.monitor.reference import ServedReference
from mlcycle.monitor.report import render
from mlcycle.monitor.results import DriftResult
from mlcycle.monitor.rules import CheckResult, evaluate_rules, live_error, prediction_drift
from mlcycle.monitor.scrape import ErrorRate
from mlcycle.monitor.summary import LogInfo, Summary, WindowInfo

TEXT_RULES = {"prediction_drift", "auto_coding_drop", "live_accuracy", "error_rate"}


def _served(rmse: float | None = None) -> ServedReference:
    metrics = {"rmse": rmse} if rmse is not None else {}
    return ServedReference("m@production", "m", "3", None, "m@1", None, None, metrics)


def _service(error_rate: float | None) -> ServicePanel:
    if error_rate is None:
        return ServicePanel(errors=Part[ErrorRate].missing("no metrics_url"))
    return ServicePanel(errors=Part(result=ErrorRate(1000, 1000 * error_rate, error_rate, "u")))


def _labels(js: float) -> LabelPredictionPanel:
    result = DriftResult("jensenshannon", js, 0.1, js >= 0.1, 5000, 1000)
    return LabelPredictionPanel(
        drift=LabelDrift(code=CategoricalDrift(result, {"jensenshannon": result}))
    )


def _accuracy(top1: float, labelled: int) -> AccuracyPanel:
    metrics = {"accuracy_top1": Estimate(top1, top1 - 0.05, top1 + 0.05)}
    return AccuracyPanel(labelled=labelled, metrics=metrics)


def _features(drifted: int, total: int = 4) -> FeatureDriftPanel:
    columns = [
        FeatureDrift(
            column=f"x{i}",
            type="numeric",
            result=DriftResult("ks", 0.5 - 0.49 * (i < drifted), 0.05, i < drifted, 400, 300, 0.2),
        )
        for i in range(total)
    ]
    share = drifted / total
    return FeatureDriftPanel(records=300, drifted_count=drifted, drifted_share=share,
                             dataset_drift=share >= 0.5, columns=columns)  # fmt: skip


def _errors(rmse: float, labelled: int = 100, trained: float | None = 55.0) -> ErrorPanel:
    return ErrorPanel(
        labelled=labelled,
        trained={"rmse": trained} if trained is not None else {},
        metrics={"rmse": Estimate(rmse, rmse * 0.9, rmse * 1.1), "mae": Estimate(rmse * 0.8, 1, 2),
                 "bias": Estimate(0.5, -1, 2)},
        largest=[LargeError("0190-x", 0, 300.0, 100.0)],
    )  # fmt: skip


def summary(task: str = "text-classification", js: float = 0.05, change: float = -1.0,
            top1: float = 0.8, labelled: int = 100, predictions: int = 1000,
            error_rate: float | None = None, drifted: int = 0, rmse: float = 50.0,
            trained_rmse: float | None = 55.0) -> Summary:  # fmt: skip
    """A summary with the panels of ``task``, each figure given."""
    regression = task == "regression"
    confidence = ConfidencePanel(
        auto_coding_rate=0.6,
        baseline=ConfidenceBaseline(auto_coding_rate=0.6 - change / 100, change_points=change),
    )
    return Summary(
        generated_at="2024-05-07T00:00:00Z",
        task=task,
        window=WindowInfo("2024-05-06T00:00:00Z", "2024-05-07T00:00:00Z", 3600),
        model=_served(trained_rmse),
        log=LogInfo("predictions", 1, 1),
        volume=VolumePanel(predictions=predictions, requests=predictions),
        service=_service(error_rate),
        prediction=ValuePredictionPanel(count=predictions) if regression else _labels(js),
        quality=_errors(rmse, trained=trained_rmse) if regression else _accuracy(top1, labelled),
        confidence=None if regression else confidence,
        text=TextPanel() if task == "text-classification" else None,
        features=None if task == "text-classification" else _features(drifted),
    )


def statuses(results) -> dict[str, str]:
    return {r.rule: r.status for r in results}


def test_quiet_traffic_breaches_nothing() -> None:
    got = statuses(evaluate_rules(summary(), MonitorSettings()))
    assert got == {"prediction_drift": "ok", "auto_coding_drop": "ok", "live_accuracy": "ok",
                   "error_rate": "skipped"}  # fmt: skip


def test_each_rule_fires_past_its_threshold() -> None:
    bad = summary(js=0.3, change=-12.0, top1=0.3, error_rate=0.2)
    results = evaluate_rules(bad, MonitorSettings())
    assert {r.rule for r in results if r.breached} == TEXT_RULES
    drop = next(r for r in results if r.rule == "auto_coding_drop")
    assert drop.value == pytest.approx(12.0) and "-12.0 points" in drop.message


def test_each_task_runs_the_rules_of_its_panels() -> None:
    cfg = MonitorSettings()
    assert set(statuses(evaluate_rules(summary("text-classification"), cfg))) == TEXT_RULES
    tabular = set(statuses(evaluate_rules(summary("classification"), cfg)))
    assert tabular == TEXT_RULES | {"feature_drift"}
    regression = statuses(evaluate_rules(summary("regression"), cfg))
    assert regression == {"feature_drift": "ok", "live_error": "ok", "error_rate": "skipped"}


def test_a_rule_without_its_panel_skips_with_the_reason() -> None:
    cfg = MonitorSettings()
    skipped = prediction_drift(summary("regression"), cfg)
    assert skipped.status == "skipped" and "regression task has no" in skipped.message
    assert live_error(summary("classification"), cfg).status == "skipped"


def test_feature_drift_breaches_from_the_share_of_drifted_features() -> None:
    cfg = MonitorSettings()
    quiet = {r.rule: r for r in evaluate_rules(summary("regression", drifted=1), cfg)}
    assert quiet["feature_drift"].status == "ok" and quiet["feature_drift"].value == 0.25
    loud = {r.rule: r for r in evaluate_rules(summary("regression", drifted=2), cfg)}
    assert loud["feature_drift"].breached and "x0, x1" in loud["feature_drift"].message


def test_live_error_is_judged_against_the_trained_rmse_or_a_ceiling() -> None:
    cfg = MonitorSettings()
    # 1.5 x the version's own RMSE of 55 is the default ceiling.
    assert live_error(summary("regression", rmse=80.0), cfg).status == "ok"
    breached = live_error(summary("regression", rmse=90.0), cfg)
    assert breached.breached and breached.threshold == pytest.approx(82.5)
    fixed = MonitorSettings.model_validate({"rules": {"live_error": {"max_rmse": 60.0}}})
    assert live_error(summary("regression", rmse=70.0), fixed).breached
    unknown = live_error(summary("regression", trained_rmse=None), cfg)
    assert unknown.status == "skipped" and "max_rmse" in unknown.message
    few = live_error(replace(summary("regression"), quality=_errors(500.0, labelled=5)), cfg)
    assert few.status == "skipped" and "min_labelled" in few.message


def test_thresholds_and_switches_come_from_the_settings() -> None:
    cfg = MonitorSettings.model_validate(
        {"rules": {"prediction_drift": {"max_js": 0.5}, "live_accuracy": {"enabled": False}}}
    )
    got = statuses(evaluate_rules(summary(js=0.3, top1=0.1), cfg))
    assert got["prediction_drift"] == "ok" and "live_accuracy" not in got
    with pytest.raises(ValueError, match="drift_share"):
        MonitorSettings.model_validate({"rules": {"feature_drift": {"drift_share": 0}}})


def test_too_little_evidence_is_skipped_not_judged() -> None:
    got = statuses(evaluate_rules(summary(js=0.9, labelled=3, predictions=10), MonitorSettings()))
    assert got["prediction_drift"] == "skipped" and got["live_accuracy"] == "skipped"
    few = statuses(evaluate_rules(summary("regression", drifted=4, predictions=10),
                                  MonitorSettings()))  # fmt: skip
    assert few["feature_drift"] == "skipped"


def test_the_alert_payload_is_alertmanager_shaped() -> None:
    bad = summary(js=0.3)
    result = CheckResult(bad.window.to_dict(), bad.model.to_dict(),
                         evaluate_rules(bad, MonitorSettings()))  # fmt: skip
    (alert,) = alert_payload(result)
    assert alert["labels"]["alertname"] == "MlcyclePredictionDrift"
    assert alert["labels"]["model"] == "m" and alert["labels"]["version"] == "3"
    assert set(alert) == {"labels", "annotations", "startsAt", "generatorURL"}
    assert result.exit_code == 1
    worse = summary("regression", rmse=200.0, drifted=3)
    result = CheckResult(worse.window.to_dict(), worse.model.to_dict(),
                         evaluate_rules(worse, MonitorSettings()))  # fmt: skip
    severity = {a["labels"]["alertname"]: a["labels"]["severity"] for a in alert_payload(result)}
    assert severity == {"MlcycleFeatureDrift": "warning", "MlcycleLiveError": "critical"}


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
    empty = summary()
    for name in ("service", "prediction", "confidence", "text", "quality"):
        setattr(empty, name, type(getattr(empty, name)).missing(reason))
    page = render(empty)
    shown = page.split("<script")[0]
    assert shown.count("widen the window") == 4  # every section but volume, which has figures
    figures = json.loads(page.split("id='figures'>")[1].split("</script>")[0])
    assert figures["prediction"] == {**figures["prediction"], "available": False, "reason": reason}


def test_the_json_is_the_panels_the_task_has_and_the_report_shows_them() -> None:
    regression = summary("regression", drifted=3)
    figures = regression.to_dict()
    assert {"confidence", "text"}.isdisjoint(figures) and figures["task"] == "regression"
    assert figures["quality"]["kind"] == "error" and figures["prediction"]["kind"] == "values"
    assert figures["quality"]["metrics"]["rmse"]["value"] == 50.0
    column = figures["features"]["columns"][0]
    assert (column["column"], column["method"], column["drifted"]) == ("x0", "ks", True)
    assert figures["quality"]["largest"][0]["error"] == 200.0
    page = render(regression)
    assert "Input features" in page and "Live error" in page and "Confidence" not in page
    assert "<td>x0</td><td>numeric</td><td>ks</td>" in page and "Largest errors" in page
