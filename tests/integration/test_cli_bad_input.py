"""Mistakes a new project makes, through the CLI: one sentence, a non-zero exit, no traceback.

A project file naming an unknown task or family, or a family that does not fit the
task; a target column missing from the data or constant; a model imported from a run
that does not exist. (A family whose import fails: tests/integration/test_plugin_family.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcycle.data.examples import example_frame
from mlcycle.data.ingest import add_dataset
from tests.conftest import isolated, one_sentence, run_cli, write_project

DIABETES = """\
model: {name: diabetes, task: regression, family: sklearn}
data: {target: progression, types: {sex: categorical}}
"""


def _home(tmp_path: Path, project: str) -> Path:
    home = tmp_path / "home"
    write_project(home, project, on_default=False)
    return home


def _added(home: Path, path: Path, name: str) -> None:
    """``data add`` done in this process: a step before the command the test is about."""
    with isolated(home):
        assert add_dataset(str(path), name).created


@pytest.mark.parametrize(
    ("project", "said"),
    [
        ("model: {name: m, task: forecasting}", "unknown task 'forecasting'"),
        ("model: {name: m, task: regression, family: xgboost}", "Unknown model family 'xgboost'"),
        (
            "model: {name: m, task: regression, family: fasttext}",
            "Model family 'fasttext' does not solve the task 'regression'",
        ),
    ],
)
def test_a_project_file_naming_what_does_not_fit_is_one_sentence(
    tmp_path: Path, project: str, said: str
) -> None:
    line = one_sentence(run_cli(_home(tmp_path, project), "train"))
    assert said in line


def test_a_regressor_for_a_classification_is_one_sentence(tmp_path: Path) -> None:
    home = _home(
        tmp_path,
        "model: {name: quality, task: classification, family: sklearn, "
        "params: {estimator: sklearn.linear_model.Ridge}}\ndata: {target: cultivar}",
    )
    example_frame("quality").to_csv(tmp_path / "quality.csv", index=False)
    _added(home, tmp_path / "quality.csv", "quality")
    line = one_sentence(run_cli(home, "train"))
    assert "Ridge" in line and "classif" in line


def test_a_target_missing_from_the_data_is_one_sentence(tmp_path: Path) -> None:
    home = _home(tmp_path, DIABETES.replace("progression", "outcome"))
    example_frame("diabetes").to_csv(tmp_path / "d.csv", index=False)
    done = run_cli(home, "data", "add", str(tmp_path / "d.csv"), "--name", "diabetes")
    assert "'outcome'" in one_sentence(done) and done.returncode == 5


def test_a_constant_target_is_one_sentence(tmp_path: Path) -> None:
    home = _home(tmp_path, DIABETES)
    frame = example_frame("diabetes").assign(progression=100.0)
    frame.to_csv(tmp_path / "d.csv", index=False)
    done = run_cli(home, "data", "add", str(tmp_path / "d.csv"), "--name", "diabetes")
    line = one_sentence(done)
    assert "'progression' has the single value 100.0 in every row" in line


def test_a_model_imported_from_a_run_that_does_not_exist_is_one_sentence(tmp_path: Path) -> None:
    home = _home(tmp_path, DIABETES)
    done = run_cli(home, "models", "import", "runs:/0123456789abcdef0123456789abcdef/model")
    line = one_sentence(done)
    assert "no run 0123456789abcdef0123456789abcdef" in line and done.returncode == 3


def test_a_model_imported_from_a_folder_without_a_model_is_one_sentence(tmp_path: Path) -> None:
    home = _home(tmp_path, DIABETES)
    done = run_cli(home, "models", "import", str(tmp_path))
    assert "no MLflow model" in one_sentence(done)


def test_a_demo_of_an_unknown_example_is_one_sentence(tmp_path: Path) -> None:
    line = one_sentence(run_cli(_home(tmp_path, DIABETES), "demo", "--example", "churn"))
    assert "no example 'churn'" in line and "diabetes" in line


@pytest.mark.parametrize(
    ("project", "said", "code"),
    [
        ("nowhere", "model.retrain.project is 'nowhere'", 2),
        ("trainer", "The MLproject entry point 'main' in", 6),
    ],
)
def test_a_retrain_whose_mlproject_is_missing_or_fails_is_one_sentence(
    tmp_path: Path, project: str, said: str, code: int
) -> None:
    trainer = tmp_path / "trainer"
    trainer.mkdir()
    (trainer / "MLproject").write_text(
        "name: broken\nentry_points:\n  main:\n    command: \"python -c 'raise SystemExit(3)'\"\n"
    )
    home = _home(
        tmp_path,
        DIABETES.replace("family: sklearn", f"family: pyfunc, retrain: {{project: {project}}}"),
    )
    example_frame("diabetes").to_csv(tmp_path / "d.csv", index=False)
    _added(home, tmp_path / "d.csv", "diabetes")
    done = run_cli(home, "retrain")
    assert said in one_sentence(done) and done.returncode == code
