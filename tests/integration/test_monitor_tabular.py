"""Monitoring tabular models on a real MLflow store, through the CLI.

A regression (scikit-learn's bundled diabetes data, Ridge) is trained on dataset
``diabetes@1`` by the real pipeline and promoted; its predictions of normal records
(rows of the data itself), then of drifted records (older, heavier patients, mostly
one sex) whose truth moved too, are written as the server logs them (``record`` JSON
and ``value``), with feedback (``true_value``) for half of each window. A tabular
classification goes through the same panels in process.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.data.predlog import write_partitioned
from tests.conftest import _isolate, cli_env, write_project
from tests.forked_cli import run_mlcycle
from tests.integration.test_tabular_loop import CLASSIFICATION, REGRESSION, _cases, _diabetes
from tests.unit.test_monitor_logstore import feedback_table, prediction_table

NOW = datetime.now(UTC).replace(microsecond=0)
NORMAL_START = NOW - timedelta(hours=2)
DRIFT_START = NOW - timedelta(hours=1)


@dataclass(frozen=True)
class Tabular:
    home: Path
    version: str


def log_records(
    home: Path, model, frame: pd.DataFrame, target: str, start: datetime, truth: np.ndarray
) -> None:
    """The server's log of one prediction per record, every 5 s, and feedback for half."""
    from mlcycle.core.predictions import Values

    features = frame.drop(columns=[target])
    answer = model.predict(features, k=2)
    n = len(frame)
    ms = int(start.timestamp() * 1000) + 5000 * np.arange(n)
    regression = isinstance(answer, Values)
    codes = [[]] * n if regression else answer.codes.tolist()
    probs = [[]] * n if regression else answer.probs.tolist()
    table = prediction_table([None] * n, codes, probs, ms, version="1")
    records = [json.dumps(r) for r in json.loads(features.to_json(orient="records"))]
    table = table.set_column(table.schema.get_field_index("record"), "record", pa.array(records))
    if regression:
        values = pa.array(answer.values, pa.float64())
        table = table.set_column(table.schema.get_field_index("value"), "value", values)
    write_partitioned(home / "predictions", table)
    half = n // 2
    ids = table.column("request_id").to_pylist()[:half]
    at = int(ms[half - 1]) + 1000
    labels = [None] * half if regression else [str(t) for t in truth[:half]]
    feedback = feedback_table(ids, labels, at)
    if regression:
        true = pa.array(truth[:half], pa.float64())
        feedback = feedback.set_column(
            feedback.schema.get_field_index("true_value"), "true_value", true
        )
    write_partitioned(home / "feedback", feedback)


def drifted_patients(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """Older, heavier patients with higher blood pressure and sugar, nearly all of one
    sex; their progression is worse than the model learned (what changed in the world,
    not only in the inputs)."""
    rng = np.random.default_rng(seed)
    out = frame.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    out["age"] = out["age"] + 15
    out["bmi"] = out["bmi"] * 1.3
    out["bp"] = out["bp"] + 20
    out["s5"] = out["s5"] + 0.5
    out["s6"] = out["s6"] + 15
    out["sex"] = np.where(rng.random(rows) < 0.9, "M", "F")
    out["progression"] = out["progression"] * 1.6 + 40
    return out


@pytest.fixture(scope="module")
def regression_monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tabular]:
    from mlcycle.data.ingest import add_dataset
    from mlcycle.registry.loading import load_served_model
    from mlcycle.registry.ops import set_alias
    from mlcycle.train.pipeline import train_model

    root = tmp_path_factory.mktemp("tabular-monitor")
    home = root / "home"
    write_project(home, REGRESSION, on_default=False)
    with pytest.MonkeyPatch.context() as mp:
        _isolate(home, mp)
        data = _diabetes(root / "diabetes.csv")
        add_dataset(str(data), "diabetes")
        trained = train_model()
        set_alias("diabetes", "production", trained.version)
        model = load_served_model("diabetes@production").model
        frame = pd.read_csv(data)
        normal = frame.sample(300, replace=True, random_state=1).reset_index(drop=True)
        log_records(home, model, normal, "progression", NORMAL_START,
                    normal["progression"].to_numpy(float))  # fmt: skip
        drifted = drifted_patients(frame, 300, 2)
        log_records(home, model, drifted, "progression", DRIFT_START,
                    drifted["progression"].to_numpy(float))  # fmt: skip
        yield Tabular(home, trained.version)
    get_settings.cache_clear()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return run_mlcycle(["monitor", *args], env=cli_env(home), timeout=300)


def _window(start: datetime, end: datetime) -> list[str]:
    return ["--from", start.isoformat(), "--to", end.isoformat()]


def test_the_report_shows_feature_drift_and_live_error(
    regression_monitored: Tabular, tmp_path: Path
) -> None:
    home = regression_monitored.home
    normal_end = DRIFT_START - timedelta(seconds=1)
    done = _cli(home, "report", "--json", "-o", str(tmp_path / "n.html"),
                *_window(NORMAL_START, normal_end))  # fmt: skip
    assert done.returncode == 0, done.stderr
    normal = json.loads(done.stdout)
    out = tmp_path / "report.html"
    done = _cli(home, "report", "--json", "-o", str(out), *_window(DRIFT_START, NOW))
    assert done.returncode == 0, done.stderr
    drifted = json.loads(done.stdout)
    assert drifted["task"] == "regression" and drifted["model"]["dataset"] == "diabetes@1"
    assert "confidence" not in drifted and "text" not in drifted
    columns = {c["column"]: c for c in drifted["features"]["columns"]}
    assert set(columns) == {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
    # 442 training rows: Evidently's small-reference tests.
    assert columns["bmi"]["method"] == "ks" and columns["bmi"]["drifted"]
    assert columns["sex"]["method"] == "z" and columns["sex"]["drifted"]
    assert not columns["s1"]["drifted"]  # resampled from the training rows, unchanged
    assert drifted["features"]["drifted_count"] >= 6 and drifted["features"]["dataset_drift"]
    assert normal["features"]["drifted_count"] <= 1 and not normal["features"]["dataset_drift"]
    assert drifted["prediction"]["kind"] == "values"
    assert drifted["prediction"]["drift"]["statistic"] < normal["prediction"]["drift"]["statistic"]
    quality, calm = drifted["quality"], normal["quality"]
    assert quality["kind"] == "error" and quality["labelled"] == 150
    assert quality["metrics"]["rmse"]["value"] > 1.5 * calm["metrics"]["rmse"]["value"]
    assert calm["metrics"]["rmse"]["low"] <= calm["metrics"]["rmse"]["value"]
    assert quality["trained"]["rmse"] > 0 and len(quality["largest"]) == 10
    page = out.read_text()
    assert "Input features" in page and "Live error" in page and "<td>bmi</td>" in page
    assert 'src="http' not in page


def test_check_fires_on_the_drifted_window_only(regression_monitored: Tabular) -> None:
    home = regression_monitored.home
    calm = _cli(home, "check", "--json", *_window(NORMAL_START, DRIFT_START - timedelta(seconds=1)))
    assert calm.returncode == 0, calm.stdout + calm.stderr
    rules = {r["rule"]: r for r in json.loads(calm.stdout)["rules"]}
    assert set(rules) == {"feature_drift", "live_error", "error_rate"}
    assert rules["live_error"]["status"] == "ok" and rules["feature_drift"]["status"] == "ok"
    loud = _cli(home, "check", "--json", *_window(DRIFT_START, NOW))
    assert loud.returncode == 1, loud.stdout + loud.stderr
    verdict = json.loads(loud.stdout)
    assert set(verdict["breached"]) == {"feature_drift", "live_error"}
    plain = _cli(home, "check", *_window(DRIFT_START, NOW))
    assert plain.returncode == 1 and "BREACHED  live_error: Live RMSE" in plain.stdout


def test_retraining_reads_the_labelled_records(regression_monitored: Tabular) -> None:
    from mlcycle.monitor.logstore import LogStore
    from mlcycle.monitor.policy import labelled_records, retrain_decision

    settings = get_settings()
    found = labelled_records(LogStore.from_settings(settings), DRIFT_START, NOW)
    assert found.num_rows == 150 and found.column("label").null_count == 150
    first = json.loads(found.column("record")[0].as_py())
    assert set(first) == {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
    decision = retrain_decision(settings, DRIFT_START, NOW)
    assert decision.needed and set(decision.breached) == {"feature_drift", "live_error"}


def test_a_tabular_classification_has_confidence_features_and_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcycle.data.ingest import add_dataset
    from mlcycle.monitor.panels import AccuracyPanel, LabelPredictionPanel
    from mlcycle.monitor.rules import run_check
    from mlcycle.monitor.summary import build_summary
    from mlcycle.registry.loading import load_served_model
    from mlcycle.registry.ops import set_alias
    from mlcycle.train.pipeline import train_model

    home = tmp_path / "home"
    write_project(home, CLASSIFICATION, on_default=False)
    _isolate(home, monkeypatch)
    add_dataset(str(_cases(tmp_path / "cases.csv")), "quality")
    trained = train_model()
    set_alias("quality", "production", trained.version)
    model = load_served_model("quality@production").model
    traffic = pd.read_csv(_cases(tmp_path / "more.csv", rows=300, seed=11))
    log_records(home, model, traffic, "quality", DRIFT_START, traffic["quality"].to_numpy())
    summary = build_summary(get_settings(), DRIFT_START, NOW)
    assert summary.task == "classification" and summary.text is None
    assert isinstance(summary.prediction, LabelPredictionPanel)
    assert summary.prediction.drift.code is not None and summary.prediction.sections is None
    assert summary.confidence is not None and summary.confidence.auto_coding_rate is not None
    assert isinstance(summary.quality, AccuracyPanel) and summary.quality.labelled == 150
    assert summary.quality.metrics["accuracy_top1"].value > 0.7
    features = {c.column: c for c in summary.features.columns}
    assert set(features) == {"region", "delay_days", "urgent"}
    assert features["delay_days"].null_share == pytest.approx(traffic["delay_days"].isna().mean())
    assert not summary.features.dataset_drift  # the same made-up service, another draw
    check = run_check(get_settings(), DRIFT_START, NOW, notify=False)
    assert {r.rule for r in check.results} == {
        "prediction_drift", "auto_coding_drop", "live_accuracy", "feature_drift", "error_rate"
    }  # fmt: skip
    assert check.exit_code == 0, [r.message for r in check.results]
