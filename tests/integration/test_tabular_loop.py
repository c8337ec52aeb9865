"""Tabular projects through the loop: data add, train, gates, load by the family.

Regression on scikit-learn's bundled diabetes data, classification on a frame with
categorical columns and missing values; both in a real MLflow store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.core.predictions import Prediction, Values
from mlcycle.data.ingest import add_dataset
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.promotion import promote
from mlcycle.train.pipeline import train_model
from tests.conftest import _isolate, write_project

REGRESSION = """\
model:
  name: diabetes
  task: regression
  family: sklearn
  params: {estimator: sklearn.linear_model.Ridge, alpha: 1.0}
data: {target: progression}
registry:
  gates:
    contract: {fresh_process: false}
    latency: {enabled: false}  # timed on a shared machine it would decide, not the others
    behaviour:
      invariance: [{column: sex, tolerance: 1000}]
      direction: [{column: bmi, increases: target, step: 1.0}]
"""

CLASSIFICATION = """\
model:
  name: quality
  task: classification
  family: sklearn
  params: {estimator: HistGradientBoostingClassifier, max_iter: 60}
data: {target: quality}
registry:
  gates:
    contract: {fresh_process: false}
"""


def _diabetes(path: Path) -> Path:
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].map({1.0: "F", 2.0: "M"})
    frame.to_csv(path, index=False)
    return path


def _cases(path: Path, rows: int = 600, seed: int = 3) -> Path:
    """Cases of a made-up service: a category, a number with gaps, a flag, a quality."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["nord", "sud", "est", "ouest"], rows)
    delay = rng.gamma(2.0, 5.0, rows)
    urgent = rng.random(rows) < 0.3
    good = (delay < 8) | (urgent & (region == "sud"))
    frame = pd.DataFrame(
        {
            "region": region,
            "delay_days": np.where(rng.random(rows) < 0.1, np.nan, delay.round(1)),
            "urgent": np.where(urgent, "oui", "non"),
            "quality": np.where(good, "good", "poor"),
        }
    )
    frame.loc[::17, "region"] = None  # missing categories too
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def regression_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    write_project(home, REGRESSION, on_default=False)
    _isolate(home, monkeypatch)
    yield home


def test_a_regression_goes_from_file_to_production_and_loads_by_its_family(
    regression_home: Path, tmp_path: Path
) -> None:
    added = add_dataset(str(_diabetes(tmp_path / "diabetes.csv")), "diabetes")
    assert added.created and added.version.rows == 442
    trained = train_model()
    assert set(trained.metrics) == {"rmse", "mae", "r2"} and trained.metrics["r2"] > 0.3
    assert trained.params["estimator"] == "sklearn.linear_model._ridge.Ridge"
    moved = promote("diabetes", trained.version, "production", reason="first")
    gates = {g.name: g for g in moved.gates}
    assert moved.moved, [(g.name, g.detail) for g in moved.gates]
    # A linear model on bmi rises with it: every direction check holds.
    assert gates["behaviour"].passed and "direction 1.000 (" in gates["behaviour"].figure
    # No case is written: the gate says so instead of a perfect share of nothing.
    assert "functionality none" in gates["behaviour"].figure
    assert "no functionality check is written" in gates["behaviour"].detail
    assert "r2" in gates["quality"].figure  # the task's default floor
    served = load_served_model("diabetes@production")
    assert (served.task, served.family) == ("regression", "sklearn")
    record = pd.DataFrame([{"age": 50, "sex": "F", "bmi": 30.0, "bp": 90, "s1": 180,
                            "s2": 100, "s3": 50, "s4": 4, "s5": 4.5, "s6": 90}])  # fmt: skip
    assert isinstance(served.model.predict(record), Values)


def test_a_weaker_regression_is_refused_by_the_champion_gate(
    regression_home: Path, tmp_path: Path
) -> None:
    add_dataset(str(_diabetes(tmp_path / "diabetes.csv")), "diabetes")
    first = train_model()
    promote("diabetes", first.version, "production", reason="first")
    worse = train_model(overrides={"alpha": 1e7})  # shrunk to the mean
    refused = promote("diabetes", worse.version, "production")
    assert not refused.moved and "champion" in refused.failed_gates


def test_a_classification_with_categories_and_gaps_trains_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write_project(home, CLASSIFICATION, on_default=False)
    _isolate(home, monkeypatch)
    added = add_dataset(str(_cases(tmp_path / "cases.csv")), "quality")
    assert added.created
    trained = train_model()
    assert {"accuracy", "f1_macro", "roc_auc", "log_loss"} <= set(trained.metrics)
    assert trained.metrics["accuracy"] > 0.8
    served = load_served_model(f"quality/{trained.version}")
    unseen = pd.DataFrame([{"region": "centre", "delay_days": None, "urgent": "oui"}])
    answer = served.model.predict(unseen, k=2)
    assert isinstance(answer, Prediction) and set(answer.codes[0]) == {"good", "poor"}


def test_tabular_mistakes_are_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    write_project(
        home, CLASSIFICATION.replace("{target: quality}", "{target: verdict}"), on_default=False
    )
    _isolate(home, monkeypatch)
    with pytest.raises(DataError, match="verdict"):
        add_dataset(str(_cases(tmp_path / "cases.csv")), "quality")
    ridge = CLASSIFICATION.replace("HistGradientBoostingClassifier", "Ridge")
    write_project(home, ridge, on_default=False)
    add_dataset(str(_cases(tmp_path / "cases.csv")), "quality")
    with pytest.raises(InvalidInput, match="Ridge"):
        train_model()
