"""Tabular monitoring on hand-made logs: old and new log files mixed, per-feature drift
against the dataset profile, regression prediction drift and live error, the records
the retraining loop reads back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import bootstrap, chisquare, ks_2samp, wasserstein_distance

from mlcycle.core.settings import Settings
from mlcycle.data.predlog import write_partitioned
from mlcycle.data.profile import build_tabular_profile
from mlcycle.monitor import aggregates as agg
from mlcycle.monitor.features import OTHER
from mlcycle.monitor.logstore import LogStore
from mlcycle.monitor.panels import ErrorPanel, FeatureDriftPanel, ValuePredictionPanel
from mlcycle.monitor.policy import labelled_records, labelled_texts
from mlcycle.monitor.reference import ServedReference
from mlcycle.monitor.regression import error_estimates
from mlcycle.monitor.summary import Summary, build_summary
from tests.unit.test_monitor_logstore import T0, feedback_table, ms_of, prediction_table

TYPES = {"age": "numeric", "region": "categorical", "member": "boolean"}
REGIONS = np.array(["nord", "sud", "est", "ouest"])


def _frame(rows: int, seed: int, drift: bool = False) -> pd.DataFrame:
    """Customers: an age, a region (a new one when drifted), a flag; ``y`` grows with age."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60 if drift else 40, 10, rows).round(1)
    regions = np.append(REGIONS, "centre") if drift else REGIONS
    return pd.DataFrame({
        "age": age,
        "region": regions[rng.integers(0, len(regions), rows)],
        "member": rng.random(rows) < (0.8 if drift else 0.3),
        "y": 3 * age + rng.normal(0, 5, rows),
    })  # fmt: skip


def _reference(frame: pd.DataFrame, rmse: float = 5.0) -> ServedReference:
    profile = build_tabular_profile(pa.Table.from_pandas(frame), TYPES, "y", "regression")
    return ServedReference("d@production", "d", "1", None, "d@1", profile, None, {"rmse": rmse})


def _records(frame: pd.DataFrame) -> list[str]:
    features = frame[list(TYPES)].to_dict(orient="records")
    return [json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
            for r in features]  # fmt: skip


def _log(root: Path, frame: pd.DataFrame, start_ms: int, values: np.ndarray) -> pa.Table:
    """Regression predictions of ``frame`` one second apart, in the new log schema."""
    n = len(frame)
    table = prediction_table([None] * n, [[]] * n, [[]] * n, start_ms + 1000 * np.arange(n))
    table = table.set_column(table.schema.get_field_index("record"), "record",
                             pa.array(_records(frame), pa.string()))  # fmt: skip
    table = table.set_column(table.schema.get_field_index("value"), "value",
                             pa.array(values, pa.float64()))  # fmt: skip
    write_partitioned(root / "p", table)
    return table


def _feedback(root: Path, table: pa.Table, truth: np.ndarray, at_ms: int) -> None:
    ids = table.column("request_id").to_pylist()[: len(truth)]
    fb = feedback_table(ids, [None] * len(ids), at_ms)
    fb = fb.set_column(fb.schema.get_field_index("true_value"), "true_value",
                       pa.array(truth, pa.float64()))  # fmt: skip
    write_partitioned(root / "f", fb)


def _settings(tmp_path: Path, task: str = "regression") -> Settings:
    return Settings(home=tmp_path / "home", model={"name": "d", "task": task, "family": "sklearn",
                    "params": {}}, data={"target": "y"})  # fmt: skip


def _summary(
    tmp_path: Path, reference: ServedReference, start: datetime = T0, end: datetime | None = None
) -> Summary:
    store = LogStore(tmp_path / "p", tmp_path / "f")
    end = end or T0 + timedelta(hours=1)
    return build_summary(_settings(tmp_path), start, end, store=store, reference=reference)


def test_old_log_files_without_the_new_columns_read_beside_new_ones(tmp_path: Path) -> None:
    n = 6
    old = prediction_table(
        ["un texte"] * n, [["A"]] * n, [[0.9]] * n, ms_of(T0) + 1000 * np.arange(n)
    )
    old = old.drop_columns(["record", "value"])  # what the server wrote before
    write_partitioned(tmp_path / "p", old)
    new = _log(tmp_path, _frame(4, 1), ms_of(T0) + 60_000, np.arange(4.0))
    old_ids = old.column("request_id").to_pylist()
    write_partitioned(tmp_path / "f", feedback_table(old_ids[:2], ["A", "B"], ms_of(T0) + 1)
                      .drop_columns(["true_value"]))  # fmt: skip
    _feedback(tmp_path, new, np.array([1.0, 2.5]), ms_of(T0) + 70_000)
    store = LogStore(tmp_path / "p", tmp_path / "f")
    with store.open_window(T0, T0 + timedelta(minutes=5)) as window:
        assert agg.totals(window).predictions == n + 4
        assert window.rows("SELECT count(record), count(value) FROM p")[0] == (4, 4)
        assert agg.labelled(window).feedback_rows == 4
        predicted, true = agg.labelled_values(window)
    assert predicted.tolist() == [0.0, 1.0] and true.tolist() == [1.0, 2.5]
    found = labelled_records(store, T0, T0 + timedelta(minutes=5))
    assert found.column_names == ["record", "label", "true_value"]
    assert found.column("true_value").to_pylist() == [1.0, 2.5]
    assert json.loads(found.column("record")[0].as_py()).keys() == set(TYPES)
    assert labelled_texts(store, T0, T0 + timedelta(minutes=5)).column("label").to_pylist() == [
        "A", "B"
    ]  # fmt: skip


def test_a_window_of_old_files_only_has_the_new_columns_as_null(tmp_path: Path) -> None:
    n = 3
    old = prediction_table(["x"] * n, [["A"]] * n, [[0.5]] * n, ms_of(T0) + np.arange(n))
    write_partitioned(tmp_path / "p", old.drop_columns(["record", "value"]))
    store = LogStore(tmp_path / "p", tmp_path / "f")
    with store.open_window(T0, T0 + timedelta(minutes=1)) as window:
        assert window.rows("SELECT count(*), count(record), count(value) FROM p")[0] == (3, 0, 0)
    assert labelled_records(store, T0, T0 + timedelta(minutes=1)).num_rows == 0


def test_feature_drift_follows_evidently_on_a_small_reference(tmp_path: Path) -> None:
    train = _frame(800, 1)
    normal, drifted = _frame(300, 2), _frame(300, 3, drift=True)
    _log(tmp_path, normal, ms_of(T0), 3 * normal["age"].to_numpy())
    _log(tmp_path, drifted, ms_of(T0) + 600_000, 3 * drifted["age"].to_numpy())
    reference = _reference(train)
    quiet = _summary(tmp_path, reference, end=T0 + timedelta(minutes=10)).features
    loud = _summary(tmp_path, reference, start=T0 + timedelta(minutes=10)).features
    assert isinstance(loud, FeatureDriftPanel) and loud.records == 300
    found = {c.column: c for c in loud.columns}
    assert found["age"].result.method == "ks" and found["age"].result.drifted
    calm = {c.column: c for c in quiet.columns}
    age = calm["age"].result
    assert age.method == "ks" and not age.drifted
    assert age.statistic == pytest.approx(ks_2samp(train.age, normal.age).pvalue, rel=1e-6)
    region = calm["region"].result
    keys = sorted(REGIONS)
    observed = normal.region.value_counts()[keys].to_numpy()
    expected = train.region.value_counts()[keys].to_numpy() * 300 / 800
    assert region.method == "chisquare"
    assert region.statistic == pytest.approx(chisquare(observed, expected).pvalue, rel=1e-6)
    # "centre" was never seen in training: it counts as the profile's rest ("other"),
    # which the training data never filled: a certain change.
    moved = found["region"]
    assert moved.result.statistic == 0.0 and moved.result.drifted
    assert moved.changes[0]["category"] == OTHER and moved.changes[0]["reference_share"] == 0
    assert found["member"].result.method == "z" and found["member"].result.drifted
    assert loud.drifted_count == 3 and loud.dataset_drift
    assert not quiet.dataset_drift


def test_feature_drift_on_a_large_reference_uses_distances(tmp_path: Path) -> None:
    train = _frame(6000, 3)
    same = _frame(1500, 4)
    _log(tmp_path, same, ms_of(T0), 3 * same["age"].to_numpy())
    features = _summary(tmp_path, _reference(train)).features
    found = {c.column: c for c in features.columns}
    age = found["age"].result
    profile_sample = np.asarray(_reference(train).profile.features["age"].sample)
    expected = wasserstein_distance(profile_sample, same.age) / np.std(profile_sample)
    assert age.method == "wasserstein_norm"
    assert age.statistic == pytest.approx(expected, rel=1e-9)
    assert found["region"].result.method == "jensenshannon"
    assert not features.dataset_drift and features.drifted_count == 0
    assert found["member"].null_share == 0.0 and found["member"].reference_null_share == 0.0


def test_a_feature_missing_from_the_records_is_said_not_judged(tmp_path: Path) -> None:
    now = _frame(50, 5).drop(columns=["member"])
    n = len(now)
    table = prediction_table([None] * n, [[]] * n, [[]] * n, ms_of(T0) + 1000 * np.arange(n))
    records = [json.dumps(r) for r in now[["age", "region"]].to_dict(orient="records")]
    records[0] = "not json"
    table = table.set_column(table.schema.get_field_index("record"), "record", pa.array(records))
    write_partitioned(tmp_path / "p", table)
    features = _summary(tmp_path, _reference(_frame(500, 6))).features
    member = next(c for c in features.columns if c.column == "member")
    assert not member.available and "holds no value of 'member'" in member.reason
    assert member.null_share == 1.0 and features.unreadable == 1 and features.records == n - 1
    assert len([c for c in features.columns if c.result is not None]) == 2


def test_regression_prediction_drift_and_live_error(tmp_path: Path) -> None:
    train = _frame(800, 7)
    now = _frame(400, 8)
    rng = np.random.default_rng(9)
    truth = now["y"].to_numpy()
    predicted = truth + rng.normal(0, 8, len(now))
    table = _log(tmp_path, now, ms_of(T0), predicted)
    _feedback(tmp_path, table, truth[:300], ms_of(T0) + 500_000)
    summary = _summary(tmp_path, _reference(train, rmse=6.0))
    assert summary.task == "regression" and summary.confidence is None and summary.text is None
    prediction = summary.prediction
    assert isinstance(prediction, ValuePredictionPanel) and prediction.count == 400
    reference = np.asarray(_reference(train).profile.target.sample)
    assert prediction.drift.result.method == "ks"
    assert prediction.drift.result.statistic == pytest.approx(
        ks_2samp(reference, predicted).pvalue, rel=1e-6
    )
    assert sum(prediction.histogram) == 400 and len(prediction.edges) == 21
    quality = summary.quality
    assert isinstance(quality, ErrorPanel) and quality.labelled == 300
    errors = predicted[:300] - truth[:300]
    assert quality.metrics["rmse"].value == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert quality.metrics["mae"].value == pytest.approx(np.mean(np.abs(errors)))
    assert quality.trained == {"rmse": 6.0}
    worst = np.argsort(-np.abs(errors))[:10]
    assert [e.error for e in quality.largest] == pytest.approx(errors[worst].tolist())
    assert sum(p.labelled for p in quality.series) == 300
    assert summary.volume.by_version[0].rmse == pytest.approx(np.sqrt(np.mean(errors**2)))
    figures = summary.to_dict()
    assert figures["quality"]["metrics"]["rmse"]["value"] == quality.metrics["rmse"].value
    assert json.dumps(figures)  # the JSON form is plain


def test_no_feedback_and_no_records_say_why(tmp_path: Path) -> None:
    n = 20
    table = prediction_table([None] * n, [[]] * n, [[]] * n, ms_of(T0) + 1000 * np.arange(n))
    table = table.set_column(table.schema.get_field_index("value"), "value",
                             pa.array(np.arange(n, dtype=float)))  # fmt: skip
    write_partitioned(tmp_path / "p", table)
    summary = _summary(tmp_path, _reference(_frame(300, 1)))
    assert not summary.quality.available and "POST /feedback" in summary.quality.reason
    assert not summary.features.available and "No input record" in summary.features.reason
    assert summary.prediction.available and summary.prediction.drift.available


def test_an_empty_window_makes_every_panel_of_the_task_say_so(tmp_path: Path) -> None:
    summary = _summary(tmp_path, _reference(_frame(300, 1)))
    assert summary.volume.predictions == 0
    for panel in (summary.service, summary.prediction, summary.features, summary.quality):
        assert not panel.available and "No predictions" in panel.reason
    assert (
        set(summary.to_dict()) >= {"features", "quality"} and "confidence" not in summary.to_dict()
    )


@pytest.mark.parametrize("rows", [300, 20_000])
def test_error_intervals_agree_with_a_row_bootstrap(rows: int) -> None:
    rng = np.random.default_rng(rows)
    truth = rng.normal(0, 10, rows)
    predicted = truth + rng.standard_t(3, rows) * 4  # heavy tails: a hard case
    found = error_estimates(predicted, truth, resamples=4000, seed=1)
    errors = predicted - truth
    for name, statistic in (("mae", lambda e: np.mean(np.abs(e))),
                            ("rmse", lambda e: np.sqrt(np.mean(e**2)))):  # fmt: skip
        reference = bootstrap((errors,), statistic, n_resamples=4000 if rows < 1000 else 1000,
                              method="percentile", rng=np.random.default_rng(2),
                              vectorized=False).confidence_interval  # fmt: skip
        estimate = found[name]
        width = reference.high - reference.low
        assert estimate.value == pytest.approx(statistic(errors))
        # Two Monte Carlo estimates of the same percentiles: equal up to resampling noise.
        assert estimate.low == pytest.approx(reference.low, abs=0.08 * width)
        assert estimate.high == pytest.approx(reference.high, abs=0.08 * width)
    assert found["bias"].low < np.mean(errors) < found["bias"].high


def test_yes_no_values_and_dates_read_as_data_add_reads_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    moments = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 90, 400), "D")
    when = pa.array(moments.to_numpy(), pa.timestamp("us"))
    train = pa.table({"when": when, "flag": rng.random(400) < 0.5, "y": rng.normal(size=400)})
    profile = build_tabular_profile(
        train, {"when": "datetime", "flag": "boolean"}, "y", "regression"
    )
    reference = ServedReference("d@production", "d", "1", None, "d@1", profile, None)
    n = 200
    shown = moments[:n].tz_convert("Europe/Paris")  # the same instants, written with an offset
    records = [json.dumps({"when": t.isoformat(), "flag": "oui" if i % 2 else "Non"})
               for i, t in enumerate(shown)]  # fmt: skip
    table = prediction_table([None] * n, [[]] * n, [[]] * n, ms_of(T0) + 1000 * np.arange(n))
    table = table.set_column(table.schema.get_field_index("record"), "record", pa.array(records))
    write_partitioned(tmp_path / "p", table)
    found = {c.column: c for c in _summary(tmp_path, reference).features.columns}
    seconds = moments[:n].as_unit("us").asi8 / 1e6
    assert found["when"].current_mean == pytest.approx(seconds.mean())
    assert found["when"].result.method == "ks" and not found["when"].result.drifted
    assert found["flag"].result.method == "z" and not found["flag"].result.drifted
    assert not found["flag"].changes or OTHER not in {c["category"] for c in found["flag"].changes}
