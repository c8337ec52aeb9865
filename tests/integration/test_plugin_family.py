"""A model family from another package plugs in through the ``mlcycle.families`` entry point.

The test makes a tiny installed distribution in a temporary folder (a package and its
``.dist-info`` with ``entry_points.txt``), puts the folder on the path the way an
installed package is, and trains with its family through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlcycle.data.examples import example_frame
from tests.conftest import one_sentence, run_cli, write_project

PACKAGE = '''\
"""A family that predicts the mean of the training targets (regression)."""
import json

import mlflow.pyfunc
import numpy as np
import pandas as pd

from mlcycle.core.predictions import Values
from mlcycle.models.families import ModelFamily


class MeanModel:
    labels = []

    def __init__(self, mean=None):
        self.mean = mean

    def fit(self, inputs, targets, progress=None):
        self.mean = float(np.mean(np.asarray(targets, dtype=float)))
        return self

    def predict(self, inputs, k=1):
        return Values(np.full(len(inputs), self.mean))


class MeanPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["mean"]) as handle:
            self.mean = json.load(handle)["mean"]

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return np.full(len(model_input), self.mean)


class MeanFamily(ModelFamily):
    name = "mean"
    tasks = frozenset({"regression"})

    def build(self, params, task, types=None):
        return MeanModel()

    def log_model(self, model, name, example, workdir):
        path = workdir / "mean.json"
        path.write_text(json.dumps({"mean": model.mean}))
        return mlflow.pyfunc.log_model(
            name=name, python_model=MeanPyfunc(), artifacts={"mean": str(path)},
            input_example=example,
        )

    def load(self, path):
        return MeanModel(json.loads((path / "artifacts" / "mean.json").read_text())["mean"])
'''
ENTRY_POINTS = """\
[mlcycle.families]
mean = tinymean:MeanFamily
gone = tinymean_extras.family:ExtraFamily
"""
PROJECT = """\
model: {name: diabetes, task: regression, family: mean}
data: {target: progression, types: {sex: categorical}}
"""


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A folder holding the ``tinymean`` distribution, as site-packages would."""
    site = tmp_path / "site"
    (site / "tinymean").mkdir(parents=True)
    (site / "tinymean" / "__init__.py").write_text(PACKAGE)
    info = site / "tinymean-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinymean\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def test_a_plugin_family_trains_registers_and_loads(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write_project(home, PROJECT, on_default=False)
    frame = example_frame("diabetes")
    frame.to_csv(tmp_path / "diabetes.csv", index=False)
    path = {"PYTHONPATH": str(installed)}
    added = run_cli(home, "data", "add", str(tmp_path / "diabetes.csv"), "--name", "diabetes")
    assert added.returncode == 0, added.stderr
    done = run_cli(home, "train", "--json", extra_env=path)
    assert done.returncode == 0, done.stderr[-3000:]
    trained = json.loads(done.stdout)
    assert trained["version"] == "1" and trained["metrics"]["r2"] <= 0.0  # the mean: no skill

    from mlcycle.core.settings import get_settings
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.loading import load_served_model
    from tests.conftest import _isolate

    monkeypatch.syspath_prepend(str(installed))
    _isolate(home, monkeypatch)
    use_tracking(get_settings())
    served = load_served_model("diabetes/1")
    assert served.family == "mean"
    answer = served.model.predict(frame.drop(columns=["progression"]).head(3)).values
    assert np.all(answer == answer[0]) and 100 < answer[0] < 200


def test_a_plugin_that_fails_to_import_names_the_package_to_install(
    installed: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_project(home, PROJECT.replace("family: mean", "family: gone"), on_default=False)
    done = run_cli(home, "train", extra_env={"PYTHONPATH": str(installed)})
    line = one_sentence(done)
    assert "pip install tinymean_extras" in line and done.returncode == 2
