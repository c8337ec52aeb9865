"""Retraining a tabular project on its latest data plus feedback-labelled production records.

The shipped examples' project files, a real MLflow store; the production records and
their feedback are written as the server writes them (``mlcycle.data.predlog``: the
input record as JSON, the true value or class in the feedback).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.data.examples import example_frame
from mlcycle.data.ingest import add_dataset
from mlcycle.data.predlog import (
    FEEDBACK_SCHEMA,
    PREDICTION_SCHEMA,
    new_request_id,
    write_partitioned,
)
from mlcycle.data.store import read_metadata, read_table, resolve
from mlcycle.loop.examples import example
from mlcycle.registry.ops import set_alias
from mlcycle.train.pipeline import Reporter, train_model
from tests.conftest import _isolate, project_path

FAST_GATES = {"contract": {"fresh_process": False}, "latency": {"p99_ms": 1000.0, "samples": 30}}


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """A home whose project is the shipped example ``name`` (quicker contract and latency)."""
    import yaml

    home = tmp_path / "home"
    project = yaml.safe_load(example(name).project.read_text())
    project["registry"]["gates"].update(FAST_GATES)
    project_path(home).parent.mkdir(parents=True, exist_ok=True)
    project_path(home).write_text(yaml.safe_dump(project))
    _isolate(home, monkeypatch)
    return home


def _log_production(home: Path, rows: pd.DataFrame, target: str, regression: bool) -> None:
    """Predictions of ``rows`` with their records, and feedback with their truth."""
    start = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
    ms = start + np.arange(len(rows)) * 1000
    ids = [new_request_id(int(m)) for m in ms]
    records = [
        json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()})
        for r in rows.drop(columns=[target]).to_dict("records")
    ]
    n = len(rows)
    predictions = {
        "request_id": ids, "index": [0] * n, "batch_size": [1] * n,
        "timestamp": pa.array(ms, pa.int64()).cast(PREDICTION_SCHEMA.field("timestamp").type),
        "model_name": [get_settings().model.name] * n, "model_version": ["1"] * n,
        "text": [None] * n, "text_hash": [None] * n, "text_chars": [None] * n,
        "codes": [[] if regression else ["x"]] * n,
        "probabilities": [[] if regression else [1.0]] * n,
        "latency_ms": [1.0] * n, "api_key": [None] * n, "record": records,
        "value": [0.0 if regression else None] * n, "first_of_request": [True] * n,
        "arm": [None] * n,
    }  # fmt: skip
    write_partitioned(home / "predictions", pa.Table.from_pydict(predictions, PREDICTION_SCHEMA))
    truth = rows[target].tolist()
    feedback = {
        "request_id": ids, "index": [0] * n,
        "timestamp": pa.array(ms + 500, pa.int64()).cast(FEEDBACK_SCHEMA.field("timestamp").type),
        "true_code": [None if regression else str(t) for t in truth],
        "predicted_code": [None] * n, "model_name": ["x"] * n, "model_version": ["1"] * n,
        "api_key": [None] * n, "true_value": [float(t) if regression else None for t in truth],
    }  # fmt: skip
    write_partitioned(home / "feedback", pa.Table.from_pydict(feedback, FEEDBACK_SCHEMA))


def _first_version(home: Path, name: str, drift_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The example's rows below the drift column's top 30% as dataset version 1, a model
    trained on it in production; returns those rows and the held-back ones."""
    frame = example_frame(name)
    high = frame[drift_column] > frame[drift_column].quantile(0.7)
    first, held = frame[~high], frame[high]
    first.to_csv(home.parent / "first.csv", index=False)
    add_dataset(str(home.parent / "first.csv"), name)
    trained = train_model()
    set_alias(name, "production", trained.version)
    return first, held


def test_a_regression_retrains_on_its_data_plus_feedback_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The steps of retrain() after its monitoring decision (monitoring of regressions
    # comes with the monitoring work; the classification below goes through retrain()).
    from mlcycle.loop.retrain import PROMOTED, promote_through, train_challenger
    from mlcycle.loop.training_set import build_training_set

    home = _home(tmp_path, monkeypatch, "diabetes")
    first, held = _first_version(home, "diabetes", "bmi")
    labelled = held.iloc[:60]
    _log_production(home, labelled, "progression", regression=True)
    _log_production(home, first.iloc[:20], "progression", regression=True)  # already known
    settings = get_settings()
    dataset, added = build_training_set(settings, "diabetes@1", datetime.now(UTC))
    assert (dataset, added) == ("diabetes@2", 60)
    stored = read_table(resolve("diabetes@2")).to_pandas()
    assert len(stored) == len(first) + 60
    # The new rows are the production records with their true values, typed as before.
    assert set(stored["bmi"].round(3)) >= set(labelled["bmi"].round(3))
    assert set(stored["progression"]) >= set(labelled["progression"])
    assert read_metadata(resolve("diabetes@2"))["feature_types"]["sex"] == "categorical"
    assert stored["sex"].dropna().isin(["1", "2"]).all()
    trained = train_challenger(settings, dataset, Reporter())
    outcome, promotions = promote_through(settings, trained, "manual")
    assert trained.version == "2" and outcome == PROMOTED, promotions


def test_a_classification_retrains_on_feedback_with_gaps_and_categories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcycle.loop.retrain import retrain

    home = _home(tmp_path, monkeypatch, "quality")
    first, held = _first_version(home, "quality", "alcohol")
    _log_production(home, held, "cultivar", regression=False)
    result = retrain(get_settings())
    assert result.dataset == "quality@2" and result.feedback_rows == len(held)
    stored = read_table(resolve("quality@2")).to_pandas()
    assert stored["cultivar"].value_counts().to_dict() == (
        pd.concat([first, held])["cultivar"].value_counts().to_dict()
    )
    assert stored["colour"].isna().sum() == pd.concat([first, held])["colour"].isna().sum()
    assert result.version == "2" and result.outcome == "promoted", result.promotions


def test_no_feedback_trains_on_the_latest_version_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcycle.loop.training_set import build_training_set

    _home(tmp_path, monkeypatch, "diabetes")
    frame = example_frame("diabetes")
    frame.to_csv(tmp_path / "all.csv", index=False)
    add_dataset(str(tmp_path / "all.csv"), "diabetes")
    assert build_training_set(get_settings(), "diabetes@1", datetime.now(UTC)) == ("diabetes@1", 0)
