"""A registered tabular model is a plain MLflow scikit-learn model: it loads back into
mlcycle, loads with ``mlflow.pyfunc`` here, and in a fresh venv where mlcycle is not
installed it predicts what it predicted here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import ensure_experiment, use_tracking
from mlcycle.models.sklearn import SklearnModel, load_model, log_model
from mlcycle.registry.ops import register, set_alias
from tests.conftest import isolated
from tests.integration.plain_mlflow import fresh_venv, run_probe
from tests.tabular import MIXED_TYPES, mixed_frame

NAME, URI = "quality", "models:/quality@production"

_PROBE = """
import importlib.util, json, sys
assert importlib.util.find_spec("mlcycle") is None, "mlcycle must not be installed here"
import mlflow, mlflow.sklearn, pandas as pd
frame = pd.read_parquet("rows.parquet")  # exactly the rows predicted here (JSON rounds)
labels = mlflow.pyfunc.load_model("models:/quality@production").predict(frame)
proba = mlflow.sklearn.load_model("models:/quality@production").predict_proba(frame)
print(json.dumps({"labels": [str(v) for v in labels], "proba": proba.tolist()}))
"""


@pytest.fixture(scope="module")
def _registered_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SklearnModel, pd.DataFrame]]:
    """Made once for the module (the tests only read it), in a home of its own."""
    with isolated(tmp_path_factory.mktemp("sklearn-interop") / "home"):
        use_tracking(get_settings())
        frame, classes, _ = mixed_frame()
        model = SklearnModel.build(
            "HistGradientBoostingClassifier", {"max_iter": 30}, "classification", MIXED_TYPES
        ).fit(frame, classes)
        with mlflow.start_run(experiment_id=ensure_experiment(NAME)):
            info = log_model(model, "model", frame)
        set_alias(NAME, "production", register(info.model_uri, NAME).version)
        yield model, frame


@pytest.fixture
def registered(
    _registered_once: tuple[SklearnModel, pd.DataFrame],
) -> tuple[SklearnModel, pd.DataFrame]:
    """A HistGradientBoosting pipeline on every column type, logged, registered, promoted;
    settings and MLflow point at its store."""
    get_settings.cache_clear()
    use_tracking(get_settings())
    return _registered_once


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with nulls in every column (the first rows of the mixed frame have some)."""
    return frame.iloc[list(range(30))].reset_index(drop=True)


def test_loads_back_into_mlcycle_with_its_types(registered) -> None:
    model, frame = registered
    folder = Path(mlflow.artifacts.download_artifacts(URI))
    loaded = load_model(folder)
    assert loaded.types == MIXED_TYPES and loaded.kind == "classification"
    assert loaded.labels == model.labels
    rows = _rows(frame)
    np.testing.assert_array_equal(loaded.predict(rows, k=3).probs, model.predict(rows, k=3).probs)
    assert loaded.compiled() is not None  # the fast path survives the round trip
    flavor = Model.load(str(folder)).flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    requirements = (folder / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in requirements} == {
        "mlflow", "scikit-learn", "pandas", "numpy", "skops",
    }  # fmt: skip
    assert all("==" in r for r in requirements)


def test_plain_pyfunc_predicts_and_names_a_missing_column(registered) -> None:
    model, frame = registered
    rows = _rows(frame)
    pyfunc = mlflow.pyfunc.load_model(URI)
    assert list(pyfunc.predict(rows)) == list(model.pipeline.predict(rows))
    inputs = {spec.name: spec.type.name for spec in pyfunc.metadata.signature.inputs.inputs}
    assert inputs == {
        "x": "double", "z": "double", "city": "string", "smoker": "boolean", "seen": "datetime",
    }  # fmt: skip
    with pytest.raises(MlflowException, match=r"missing inputs \['city'\]"):
        pyfunc.predict(rows.drop(columns=["city"]))


@pytest.mark.slow
def test_fresh_venv_without_mlcycle_predicts_the_same(registered, tmp_path: Path) -> None:
    model, frame = registered
    rows = _rows(frame)
    rows.to_parquet(tmp_path / "rows.parquet")
    folder = Path(mlflow.artifacts.download_artifacts(URI))
    python = fresh_venv(folder / "requirements.txt", tmp_path)
    probe = run_probe(python, _PROBE, tmp_path)
    assert probe.returncode == 0, probe.stderr[-3000:]
    there = json.loads(probe.stdout.strip().splitlines()[-1])
    assert there["labels"] == list(model.pipeline.predict(rows))
    here = model.pipeline.predict_proba(rows)
    np.testing.assert_allclose(np.asarray(there["proba"]), here, rtol=0, atol=1e-9)
