"""``tune`` on tabular projects (the sklearn family), through the real training pipeline.

scikit-learn's bundled data (wine: classification, diabetes: regression), a real MLflow
store and a real journal: a TPE search maximising macro F1, one minimising RMSE over an
estimator's default space, the source material's grid over a random forest run by the
command with two worker processes, and spaces refused before any trial.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_diabetes, load_wine

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.registry.ops import resolve
from mlcycle.train.tune import TuneOptions, tune
from tests.conftest import _isolate, cli_env, write_project

WINE = """\
model:
  name: wine
  task: classification
  family: sklearn
  params: {estimator: RandomForestClassifier, n_estimators: 10, random_state: 0}
data: {target: cultivar}
tune:
  metric: f1_macro
  trials: 5
  pruner_startup_trials: 2
  space:
    n_estimators: {low: 5, high: 30, step: 5}
    max_depth: [2, 4, null]
    min_samples_leaf: {low: 1, high: 5}
"""

DIABETES = """\
model:
  name: diabetes
  task: regression
  family: sklearn
  params: {estimator: Ridge}
data: {target: progression}
"""


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    home = tmp_path / "home"
    write_project(home, text, on_default=False)
    _isolate(home, monkeypatch)
    return home


@pytest.fixture(scope="module")
def wine_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = load_wine(as_frame=True)
    frame = data.data.assign(cultivar=np.asarray(data.target_names)[data.target])
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def diabetes_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = load_diabetes(as_frame=True, scaled=False).frame
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.csv"
    frame.rename(columns={"target": "progression"}).to_csv(path, index=False)
    return path


@pytest.fixture
def wine_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield _project(tmp_path, monkeypatch, WINE)
    get_settings.cache_clear()


def _children(parent_run_id: str) -> list:
    client = MlflowClient()
    experiment = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent_run_id}'")


def test_tpe_maximises_macro_f1_and_registers_the_best_forest(
    wine_home: Path, wine_file: Path
) -> None:
    result = tune(TuneOptions(data=str(wine_file), seed=3, register=True))
    assert (result.metric, result.direction) == ("f1_macro", "maximize")
    assert result.ran == 5 and sum(result.counts.values()) == 5
    children = _children(result.run_id)
    assert len(children) == 5
    # Pruning's proxy fit (a fit on fewer rows) ran in every trial, whatever the family.
    assert all("proxy_f1_macro" in child.data.metrics for child in children)
    complete = [c for c in children if c.data.tags["mlcycle.trial_state"] == "COMPLETE"]
    assert max(c.data.metrics["f1_macro"] for c in complete) == pytest.approx(result.best["value"])
    best = result.best["params"]
    assert best["estimator"] == "RandomForestClassifier" and best["max_depth"] in (2, 4, None)
    assert 5 <= best["n_estimators"] <= 30 and best["n_estimators"] % 5 == 0

    registered = resolve("wine@challenger")
    assert registered.version == result.registered["version"]
    run = MlflowClient().get_run(registered.run_id)
    assert run.data.tags["mlcycle.family"] == "sklearn"
    assert run.data.tags["mlcycle.tune_run"] == result.run_id
    assert int(run.data.params["n_estimators"]) == best["n_estimators"]
    assert run.data.params["max_depth"] == str(best["max_depth"])


def test_tpe_minimises_rmse_over_the_estimators_default_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, diabetes_file: Path
) -> None:
    _project(tmp_path, monkeypatch, DIABETES)
    result = tune(TuneOptions(data=str(diabetes_file), trials=4, seed=5))
    assert (result.metric, result.direction) == ("rmse", "minimize")
    complete = [c for c in _children(result.run_id) if "rmse" in c.data.metrics]
    assert min(c.data.metrics["rmse"] for c in complete) == pytest.approx(result.best["value"])
    assert 1e-4 <= result.best["params"]["alpha"] <= 100.0  # Ridge's default space
    parent = MlflowClient().get_run(result.run_id)
    assert parent.data.params["direction"] == "minimize"
    assert parent.data.metrics["best_rmse"] == pytest.approx(result.best["value"])


@pytest.mark.slow
def test_the_grid_over_a_random_forest_runs_each_point_once_in_two_processes(
    wine_home: Path, wine_file: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("n_estimators: [10, 30]\nmax_depth: [2, 4]\n")
    argv = [sys.executable, "-m", "mlcycle", "tune", "--grid", str(grid), "--workers", "2"]
    argv += ["--data", str(wine_file), "--register", "--json"]
    done = subprocess.run(argv, env=cli_env(wine_home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ran"] == 4 and result["counts"] == {"complete": 4}
    use_tracking(get_settings())
    children = _children(result["run_id"])
    points = sorted((c.data.params["n_estimators"], c.data.params["max_depth"]) for c in children)
    assert points == [("10", "2"), ("10", "4"), ("30", "2"), ("30", "4")]
    assert MlflowClient().get_run(result["run_id"]).data.params["sampler"] == "grid (trial queue)"
    assert resolve("wine@challenger").version == result["registered"]["version"]


@pytest.mark.parametrize(
    ("space", "fragment"),
    [
        (
            "n_estimator: {low: 5, high: 30}",
            "The project file's tune.space, parameter 'n_estimator' at 5: RandomForestClassifier "
            "has no parameter 'n_estimator' (did you mean 'n_estimators'?)",
        ),
        (
            "n_estimators: {low: 5.0, high: 30.0}",
            "The project file's tune.space, parameter 'n_estimators' at 5.0: The 'n_estimators' "
            "parameter of RandomForestClassifier must be an int in the range [1, inf). Got 5.0",
        ),
        (
            "max_features: [sqrt, cube]",
            "parameter 'max_features' at 'cube': The 'max_features' parameter of "
            "RandomForestClassifier must be",
        ),
    ],
)
def test_a_bad_space_is_refused_before_any_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wine_file: Path, space: str, fragment: str
) -> None:
    home = _project(tmp_path, monkeypatch, WINE.split("  space:")[0] + f"  space: {{{space}}}\n")
    with pytest.raises(InvalidInput) as caught:
        tune(TuneOptions(data=str(wine_file)))
    assert fragment in caught.value.message and "\n" not in caught.value.message
    # Nothing ran: no study storage, no MLflow experiment.
    assert not (home / "tune" / "optuna.journal").exists()
    use_tracking(get_settings())
    assert MlflowClient().get_experiment_by_name(get_settings().experiment_name) is None


def test_an_estimator_with_no_default_space_asks_for_tune_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wine_file: Path
) -> None:
    bayes = WINE.split("tune:")[0].replace(
        "RandomForestClassifier, n_estimators: 10, random_state: 0", "GaussianNB"
    )
    _project(tmp_path, monkeypatch, bayes)
    with pytest.raises(InvalidInput) as caught:
        tune(TuneOptions(data=str(wine_file), trials=1))
    assert caught.value.message.startswith(
        "mlcycle has no default search space for GaussianNB; give one as tune.space in the "
        "project file"
    )
