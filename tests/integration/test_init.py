"""``mlcycle init``: the project it writes passes its own tests on a fresh clone.

For each task, the project is written with ``--no-input``, committed with git, cloned
into another folder and tested there with ``make test`` (the Python of this venv first
on PATH, nothing of this test's mlcycle or MLflow environment): data expectations on
the committed sample, the behaviour cases against a model trained on it, a real
``mlcycle serve`` answering over HTTP. Every refused input is one sentence.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from importlib.resources import files
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from mlcycle.core.settings import behaviour_cases, get_settings, load_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.examples import example_frame
from tests.conftest import one_sentence, run_cli

pytestmark = pytest.mark.slow

PENGUINS = Path(str(files("palmerpenguins") / "data" / "penguins-raw.csv"))
BIN = Path(sys.executable).parent
COLUMNS = (
    "'studyName', 'Sample Number', 'Species', 'Region', 'Island', 'Stage', 'Individual ID', "
    "'Clutch Completion', 'Date Egg', 'Culmen Length (mm)', 'Culmen Depth (mm)', "
    "'Flipper Length (mm)', 'Body Mass (g)', 'Sex', 'Delta 15 N (o/oo)', "
    "'Delta 13 C (o/oo)', 'Comments'"
)


def _init(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, "init", *args, "--no-input")


def _diabetes_csv(folder: Path) -> Path:
    path = folder / "diabetes.csv"
    example_frame("diabetes").to_csv(path, index=False)
    return path


def _clean_env() -> dict[str, str]:
    """This machine's environment without this test's mlcycle, MLflow and pytest
    settings, this venv's bin first on PATH (as CI runs make test)."""
    prefixes = ("MLCYCLE_", "MLFLOW_", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _git(folder: Path, *args: str) -> None:
    identity = ["-c", "user.name=init test", "-c", "user.email=init@example.com"]
    done = subprocess.run(["git", *identity, *args], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _pushed_and_cloned(project: Path, tmp: Path) -> Path:
    """The project committed as a team would (after local data and a home appeared in
    it), then cloned into a fresh folder."""
    (project / "data").mkdir()
    (project / "data" / "mine.csv").write_text("a,b\n1,2\n")
    (project / ".mlcycle").mkdir()
    (project / ".mlcycle" / "mlflow.db").write_text("")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "mlcycle init")
    clone = tmp / "clone"
    _git(tmp, "clone", "-q", str(project), str(clone))
    return clone


def _passes_make_test(clone: Path) -> None:
    done = subprocess.run(
        ["make", "test"], cwd=clone, env=_clean_env(), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout, done.stdout[-3000:]
    assert not (clone / "data").exists() and not (clone / ".mlcycle").exists()


def _loads_cleanly(project: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("MLCYCLE_PROJECT", str(project / "mlcycle.yaml"))
    get_settings.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = load_settings()
    assert behaviour_cases(settings)
    return settings


def _workflow_lints(project: Path) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    done = subprocess.run([str(BIN / "actionlint"), str(workflow)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "make test" in workflow.read_text()


@pytest.mark.parametrize("task", ["text-classification", "classification", "regression"])
def test_each_task_passes_its_own_tests_on_a_fresh_clone(
    task: str, project_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "churn-model"
    data = {
        "text-classification": [],  # the text task's generated data
        "classification": ["--data", str(PENGUINS), "--target", "Species"],
        "regression": ["--data", str(_diabetes_csv(tmp_path)), "--target", "progression"],
    }[task]
    done = _init(project_home, str(project), "--task", task, *data)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Wrote project churn-model" in done.stdout
    settings = _loads_cleanly(project, monkeypatch)
    assert settings.model.name == "churn-model" and settings.model.task == task  # type: ignore[attr-defined]
    if task == "classification":
        assert settings.data.target == "Species"  # type: ignore[attr-defined]
        assert settings.data.types["Body Mass (g)"] == "numeric"  # type: ignore[attr-defined]
        assert "Region" not in settings.data.features  # type: ignore[attr-defined]  # constant
    rendered = (project / "deploy/kubernetes/overlays/prod/kustomization.yaml").read_text()
    assert "churn-model@production" in rendered
    _workflow_lints(project)
    _passes_make_test(_pushed_and_cloned(project, tmp_path))


def _logged_classifier(folder: Path) -> tuple[str, Path]:
    """A scikit-learn model logged with plain MLflow in the test's store, and its data."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    use_tracking(get_settings())
    frame = example_frame("quality").dropna()
    data = folder / "wines.csv"
    frame.to_csv(data, index=False)
    inputs = frame.drop(columns="cultivar").select_dtypes("number")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(inputs, frame["cultivar"])
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model", input_example=inputs.head(3))
    return f"runs:/{run.info.run_id}/model", data


def test_from_model_wraps_a_logged_model(
    project_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, data = _logged_classifier(tmp_path)
    project = tmp_path / "wines"
    said = one_sentence(_init(project_home, str(project), "--from-model", uri))
    assert said == (
        "Error: --from-model needs --data FILE: rows with the model's input columns and the "
        "target, for the project's sample and tests."
    )
    done = _init(project_home, str(project), "--from-model", uri, "--data", str(data),
                 "--target", "cultivar")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(classification)" in done.stdout  # read from the model's signature
    assert (project / "model" / "MLmodel").is_file()
    settings = _loads_cleanly(project, monkeypatch)
    assert settings.model.family == "pyfunc"  # type: ignore[attr-defined]
    assert "models import model" in (project / "README.md").read_text()
    _passes_make_test(_pushed_and_cloned(project, tmp_path))


def test_bad_input_is_one_sentence(project_home: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    said = one_sentence(_init(project_home, str(taken), "--task", "regression"))
    assert said == (
        f"Error: {taken} is not empty; init a project into a new or empty folder, or pass "
        "--force to write over the files there."
    )
    new = str(tmp_path / "new")
    said = one_sentence(_init(project_home, new, "--task", "clustering"))
    assert said == (
        "Error: Unknown task 'clustering'; the tasks are text-classification, "
        "classification, regression."
    )
    said = one_sentence(_init(project_home, new, "--task", "classification", "--data",
                              str(PENGUINS)))  # fmt: skip
    assert said == (
        "Error: Say which column of penguins-raw.csv to predict with --target COLUMN "
        f"(its columns: {COLUMNS})."
    )
    said = one_sentence(_init(project_home, new, "--task", "classification", "--data",
                              str(PENGUINS), "--target", "species"))  # fmt: skip
    assert said == f"Error: penguins-raw.csv has no column 'species'; its columns are {COLUMNS}."
    said = one_sentence(_init(project_home, new, "--task", "text-classification", "--data",
                              str(PENGUINS), "--target", "Species"))  # fmt: skip
    assert said == (
        "Error: Say which column of penguins-raw.csv holds the text with --text COLUMN "
        f"(its columns: {COLUMNS})."
    )
    said = one_sentence(_init(project_home, new, "--task", "text-classification", "--data",
                              str(PENGUINS), "--target", "Species", "--text", "Notes"))  # fmt: skip
    assert said == f"Error: penguins-raw.csv has no column 'Notes'; its columns are {COLUMNS}."
    assert not Path(new).exists()  # nothing written on a refusal


def test_unreadable_data_and_unknown_models_are_one_sentence(
    project_home: Path, tmp_path: Path
) -> None:
    new = str(tmp_path / "new")
    binary = tmp_path / "rows.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    said = one_sentence(_init(project_home, new, "--task", "regression", "--data", str(binary),
                              "--target", "y"))  # fmt: skip
    assert said.startswith(f"Error: {binary} is binary data, not CSV text;"), said
    missing = tmp_path / "nope.csv"
    said = one_sentence(_init(project_home, new, "--task", "regression", "--data", str(missing)))
    assert said == f"Error: Data file {missing} does not exist; check the path."
    said = one_sentence(_init(project_home, new, "--from-model", "runs:/0123abcd/model"))
    assert said.startswith("Error: There is no run 0123abcd in the tracking store "), said
    said = one_sentence(_init(project_home, new, "--from-model", "models:/nothing/1"))
    assert said == (
        "Error: There is no registered model 'nothing' with version 1; see mlcycle models "
        "list nothing."
    )
    assert not Path(new).exists()


def test_force_writes_over_a_folder(project_home: Path, tmp_path: Path) -> None:
    project = tmp_path / "again"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    done = _init(project_home, str(project), "--task", "regression", "--force", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (project / "notes.txt").read_text() == "mine"
    sample = pd.read_csv(project / "tests" / "data" / "sample.csv")
    assert len(sample) == 300 and "progression" in sample
    assert yaml.safe_load((project / "behaviour.yaml").read_text())[0]["expect_between"]
