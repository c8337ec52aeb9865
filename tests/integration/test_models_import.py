"""``mlcycle models import``: models trained by the user's own code, through the lifecycle.

The user's code is a plain scikit-learn + MLflow script (no mlcycle in it), run as they
would run it; the model it logs is imported with the CLI, promoted through the gates,
served by a real server (ranked codes from predict_proba, feedback, the prediction
log) and retrained by ``mlcycle retrain`` running the same script as an MLproject.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.ingest import add_dataset
from mlcycle.data.writers import write_dataset
from mlcycle.tasks.text.generator import generate
from tests.conftest import cli_env, isolated, project_path, until_logged, write_project
from tests.forked_cli import run_mlcycle

TRAINER = '''\
"""The user's own training code: scikit-learn and MLflow, nothing of mlcycle."""
import argparse

import mlflow
import mlflow.sklearn
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

parser = argparse.ArgumentParser()
parser.add_argument("--data")
frame = pd.read_csv(parser.parse_args().data, dtype=str)
label = "label" if "label" in frame else "nace"  # mlcycle's export, or the first file
X, y = frame[["text"]], frame[label]
words = ColumnTransformer([("tfidf", TfidfVectorizer(strip_accents="unicode"), "text")])
# sag: the same regularised logistic regression as the default lbfgs, for a seventh of
# lbfgs's CPU on 386 classes; at tol 1e-2 it stops after about 20 passes instead of 150,
# with the same holdout accuracy (0.57).
classes = LogisticRegression(solver="sag", max_iter=300, C=10, tol=1e-2)
model = Pipeline([("words", words), ("classes", classes)])
model.fit(X, y)
with mlflow.start_run() as run:
    mlflow.log_metric("train_accuracy", model.score(X, y))
    mlflow.sklearn.log_model(model, name="model", input_example=X.head(3))
print("RUN", run.info.run_id)
'''
MLPROJECT = """\
name: byo-trainer
entry_points:
  main:
    parameters:
      data: path
    command: "python train.py --data {data}"
"""
PROJECT = """\
model:
  name: byo
  task: text-classification
  family: pyfunc
  retrain: {project: trainer, entry_point: main, parameters: {data: "{data}"}}
data: {target: nace, features: [text], nomenclature: naf-rev2, normalise_labels: true}
serve: {prediction_log: {flush_seconds: 0.2}}
registry:
  gates:
    quality: {minimums: {accuracy_top1: 0.3}}
    champion: {margin: 0.2}
    behaviour: {min_invariance: 0.9, invariance_texts: 30}
    latency: {p99_ms: 1000.0, samples: 30}
"""


def _env(home: Path) -> dict[str, str]:
    """The CLI's environment, with this interpreter's folder first on PATH (the
    MLproject's ``python``)."""
    env = cli_env(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    return env


def _cli(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_mlcycle(list(args), env=_env(home), cwd=home.parent, timeout=timeout)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _users_run(home: Path, data: Path) -> str:
    """Run the user's script as they would, against the project's store; its run id."""
    env = {
        **_env(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "byo-user",
    }
    done = subprocess.run(
        [sys.executable, "train.py", "--data", str(data)], capture_output=True, text=True,
        env=env, cwd=home.parent / "trainer", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split("RUN ")[-1].strip()


@pytest.fixture
def byo_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    write_project(home, PROJECT, on_default=False)
    trainer = tmp_path / "trainer"
    trainer.mkdir()
    (trainer / "train.py").write_text(TRAINER)
    (trainer / "MLproject").write_text(MLPROJECT)
    # 1,500 rows (386 classes): the user's logistic regression scores about 0.56 on the
    # holdout, far above the gate's 0.3, and fits in a third of the time 3,000 rows take.
    write_dataset(generate(1500, seed=21), tmp_path / "train.csv")
    write_dataset(generate(600, seed=22), tmp_path / "holdout.csv")
    with isolated(home):  # what ``data add`` runs; the test is about the model's commands
        use_tracking(get_settings())
        assert add_dataset(str(tmp_path / "train.csv"), "byo").version.ref == "byo@1"
        holdout = add_dataset(str(tmp_path / "holdout.csv"), "byo-holdout")
        assert holdout.version.ref == "byo-holdout@1"
    return home


@pytest.mark.slow
def test_an_imported_model_is_gated_served_and_retrained_by_its_mlproject(
    byo_home: Path, tmp_path: Path
) -> None:
    run_id = _users_run(byo_home, tmp_path / "train.csv")
    out = _ok(_cli(byo_home, "models", "import", f"runs:/{run_id}/model",
                   "--holdout", "byo-holdout@1", "--trained-on", "byo@1"))  # fmt: skip
    assert "Registered byo version 1" in out and "task text-classification, read from" in out
    assert "Froze byo-holdout@1 as the holdout of dataset byo-holdout." in out
    assert "The gates judge byo version 1 on the holdout of byo-holdout (version 1" in out
    promoted = _ok(_cli(byo_home, "models", "promote", "byo", "--version", "1", "--json"))
    gates = {g["name"]: g for g in json.loads(promoted)["gates"]}
    assert set(gates) == {"contract", "quality", "champion", "behaviour", "latency"}
    assert all(g["passed"] for g in gates.values()), gates
    _serve_and_give_feedback(byo_home)
    retrained = _ok(_cli(byo_home, "retrain"))
    assert "Trained version 2 on byo@2" in retrained, retrained
    assert "Retrain outcome: promoted" in retrained, retrained
    listed = json.loads(_ok(_cli(byo_home, "models", "list", "--json")))
    newest, first = listed["versions"][0], listed["versions"][-1]
    assert newest["version"] == "2" and "production" in newest["aliases"]
    assert first["dataset"] == "byo" and newest["dataset"] == "byo"  # lineage of both


def _serve_and_give_feedback(home: Path) -> None:
    """Ranked codes with probabilities from the imported model; feedback; the log."""
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen(
        [sys.executable, "-m", "mlcycle", "serve", "--model", "byo@production", "--port",
         str(port)], env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        texts = generate(60, seed=23)
        reply = httpx.post(f"{url}/predict", json={"texts": texts["text"].tolist(), "k": 3})
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        assert answer["model"] == {"name": "byo", "version": "1"}
        ranked = answer["predictions"][0]
        assert len(ranked) == 3 and ranked[0]["probability"] >= ranked[1]["probability"] > 0
        items = [
            {"request_id": answer["request_id"], "index": i, "true_code": code}
            for i, code in enumerate(texts["nace"])
        ]
        assert httpx.post(f"{url}/feedback", json=items).status_code == 200
        until_logged(home / "predictions", 60, model="byo")
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = pd.read_parquet(home / "predictions")
    assert (logged["model_name"] == "byo").sum() == 60


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never became ready")


REGRESSION = """\
model: {name: progress, task: regression, family: pyfunc}
data: {target: progression, types: {sex: categorical}}
registry:
  gates:
    contract: {fresh_process: false}
    latency: {p99_ms: 1000.0, samples: 30}
    behaviour:
      direction: [{column: bmi, increases: target, step: 1.0}]
"""


def test_a_tabular_regression_is_imported_from_a_local_folder_and_promoted(
    tmp_path: Path, project_home: Path
) -> None:
    import mlflow.sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from mlcycle.core.predictions import Values
    from mlcycle.data.examples import example_frame
    from mlcycle.registry.loading import load_served_model
    from mlcycle.registry.promotion import promote

    write_project(project_home, REGRESSION, on_default=False)
    frame = example_frame("diabetes")
    X, y = frame.drop(columns=["progression"]), frame["progression"]
    encode = ColumnTransformer([("sex", OneHotEncoder(), ["sex"])], remainder="passthrough")
    model = Pipeline([("encode", encode), ("ridge", Ridge())]).fit(X.iloc[:380], y.iloc[:380])
    mlflow.sklearn.save_model(model, tmp_path / "saved", input_example=X.head(3))
    frame.iloc[380:].to_csv(tmp_path / "unseen.csv", index=False)
    use_tracking()
    assert add_dataset(str(tmp_path / "unseen.csv"), "unseen").version.ref == "unseen@1"
    out = _ok(_cli(project_home, "models", "import", str(tmp_path / "saved"), "--holdout",
                   "unseen@1"))  # fmt: skip
    assert "task regression, read from its signature" in out
    moved = promote("progress", "1", "production")
    assert moved.moved, [(g.name, g.detail) for g in moved.gates]
    served = load_served_model("progress@production")
    assert (served.task, served.family) == ("regression", "pyfunc")
    answer = served.model.predict(X.iloc[:5])
    assert isinstance(answer, Values)
    assert answer.values == pytest.approx(model.predict(X.iloc[:5]), abs=1e-9)


@pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning")
def test_an_ambiguous_signature_asks_for_the_task(tmp_path: Path, project_home: Path) -> None:
    import mlflow.sklearn
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)  # classes 0, 1, 2: numbers
    mlflow.sklearn.save_model(model, tmp_path / "iris", input_example=X.head(3))
    done = _cli(project_home, "models", "import", str(tmp_path / "iris"), "--name", "iris")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--task" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    told = _cli(project_home, "models", "import", str(tmp_path / "iris"), "--name", "iris",
                "--task", "classification")  # fmt: skip
    assert "Registered iris version 1" in _ok(told)
    assert "use a project file that says" in told.stdout  # the project describes nace
    # The gates judge by the project's task: another task's version is refused.
    refused = _cli(project_home, "models", "promote", "iris", "--version", "1")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "solves classification, but the project file says text-classification" in (
        refused.stderr
    )


def test_the_project_file_must_agree_with_the_imported_task(
    tmp_path: Path, project_home: Path
) -> None:
    import mlflow.sklearn
    from sklearn.linear_model import Ridge

    from mlcycle.data.examples import example_frame

    frame = example_frame("diabetes").drop(columns=["sex"])
    model = Ridge().fit(frame.drop(columns=["progression"]), frame["progression"])
    mlflow.sklearn.save_model(model, tmp_path / "ridge", input_example=frame.head(2).iloc[:, :-1])
    assert project_path(project_home).exists()  # the NACE project: model nace, text
    done = _cli(project_home, "models", "import", str(tmp_path / "ridge"), "--name", "nace")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "says nace solves text-classification" in done.stderr
