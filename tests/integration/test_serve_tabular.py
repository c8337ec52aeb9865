"""``mlcycle serve`` answering registered scikit-learn models over HTTP: a regression on
the diabetes data and a classification with categories and gaps, each trained into a
real MLflow store, served by a real uvicorn process, stopped with SIGTERM."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data import predlog
from mlcycle.data.ingest import add_dataset
from mlcycle.registry.ops import set_alias
from mlcycle.train.pipeline import train_model
from tests.conftest import _isolate, write_project
from tests.integration.test_serve_process import (
    MLCYCLE,
    STARTUP_LIMIT_S,
    Server,
    _env,
    _free_port,
    _start,
    _stop,
)
from tests.integration.test_tabular_loop import CLASSIFICATION, REGRESSION, _cases, _diabetes

PATIENT = {"age": 50, "sex": "F", "bmi": 30.0, "bp": 90, "s1": 180, "s2": 100, "s3": 50,
           "s4": 4, "s5": 4.5, "s6": 90}  # fmt: skip
CASE = {"region": "sud", "delay_days": None, "urgent": "oui"}


@dataclass(frozen=True)
class Store:
    """One project home (one MLflow store, one prediction log) and two project files."""

    home: Path
    projects: dict[str, Path]  # model name -> its project file


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """``diabetes`` versions 1 and 2 (production: 1) and ``quality`` version 1 (production),
    each trained with its own project file into the same store."""
    root = tmp_path_factory.mktemp("tabular")
    home = root / "home"
    projects = {}
    made = {"diabetes": (REGRESSION, _diabetes), "quality": (CLASSIFICATION, _cases)}
    with pytest.MonkeyPatch.context() as patch:
        for name, (project, data) in made.items():
            written = write_project(home, project, on_default=False)
            projects[name] = Path(shutil.copy(written, root / f"{name}.yaml"))
            _isolate(home, patch)
            add_dataset(str(data(root / f"{name}.csv")), name)
            set_alias(name, "production", train_model().version)
            if name == "diabetes":
                train_model(overrides={"alpha": 50.0})  # version 2, for the hot swap
    get_settings.cache_clear()
    yield Store(home, projects)


def _use_store(store: Store) -> None:
    """Point MLflow at the store (MLflow keeps it; the environment is left as it was)."""
    with pytest.MonkeyPatch.context() as patch:
        _isolate(store.home, patch)  # drops the MLFLOW_TRACKING_URI of another test
        use_tracking(get_settings())
    get_settings.cache_clear()


def _serve(store: Store, project: str, model: str) -> Server:
    return _start(store.home, "--model", model, MLCYCLE_PROJECT=str(store.projects[project]))


def _pipeline(store: Store, uri: str) -> Any:
    _use_store(store)
    return mlflow.sklearn.load_model(uri)


def _rows(store: Store, schema: Any, folder: str) -> dict[str, dict[str, Any]]:
    table = predlog.read_log(store.home / folder, schema).to_pylist()
    return {row["request_id"]: row for row in table}


@pytest.fixture(scope="module")
def regression(store: Store) -> Iterator[Server]:
    server = _serve(store, "diabetes", "diabetes@production")
    yield server
    if server.process.poll() is None:
        _stop(server)


def test_a_regression_answers_records_with_the_registered_models_values(
    regression: Server, store: Store
) -> None:
    records = [PATIENT, {**PATIENT, "bmi": "35.5", "sex": None}]
    response = httpx.post(f"{regression.url}/predict", json={"records": records})
    assert response.status_code == 200, response.text
    pipeline = _pipeline(store, "models:/diabetes/1")
    expected = pipeline.predict(pd.DataFrame([PATIENT, {**PATIENT, "bmi": 35.5, "sex": None}]))
    assert np.allclose([p["value"] for p in response.json()["predictions"]], expected, atol=1e-9)
    split = {"columns": list(PATIENT), "data": [list(PATIENT.values())]}
    theirs = httpx.post(f"{regression.url}/predict", json={"dataframe_split": split}).json()
    assert theirs["predictions"] == pytest.approx([expected[0]], abs=1e-9)  # mlflow's shape


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({**PATIENT, "bmi": "heavy"}, "Record 0, column 'bmi': \"heavy\" is not a number"),
        ({k: v for k, v in PATIENT.items() if k != "s5"}, "Record 0 has no column 's5'"),
    ],
)
def test_a_record_the_model_cannot_read_is_a_422_naming_the_column(
    regression: Server, record: dict[str, object], words: str
) -> None:
    response = httpx.post(f"{regression.url}/predict", json={"records": [record]})
    assert response.status_code == 422 and words in response.json()["detail"], response.text


def test_feedback_values_and_a_hot_swap_reach_the_log(regression: Server, store: Store) -> None:
    url = regression.url
    first = httpx.post(f"{url}/predict", json={"records": [PATIENT]}).json()
    stored = httpx.post(f"{url}/feedback", json={"request_id": first["request_id"],
                                                 "true_value": 175.0})  # fmt: skip
    assert stored.json() == {"stored": 1}, stored.text
    refused = httpx.post(f"{url}/feedback", json={"request_id": first["request_id"],
                                                  "true_value": "175"})  # fmt: skip
    assert refused.status_code == 422
    _use_store(store)
    set_alias("diabetes", "production", "2")
    reload = httpx.post(f"{url}/admin/reload", timeout=120).json()
    assert reload == {"previous": "1", "current": "2", "swapped": True}
    second = httpx.post(f"{url}/predict", json={"records": [PATIENT]}).json()
    assert second["model"]["version"] == "2"
    newer = _pipeline(store, "models:/diabetes/2").predict(pd.DataFrame([PATIENT]))
    assert second["predictions"][0]["value"] == pytest.approx(newer[0], abs=1e-9)
    code, _ = _stop(regression)
    assert code == 0
    logged = _rows(store, predlog.PREDICTION_SCHEMA, "predictions")
    for answer in (first, second):
        row = logged[answer["request_id"]]
        assert json.loads(row["record"]) == PATIENT
        assert row["value"] == answer["predictions"][0]["value"]
        assert row["model_version"] == answer["model"]["version"]
    feedback = _rows(store, predlog.FEEDBACK_SCHEMA, "feedback")[first["request_id"]]
    assert (feedback["true_value"], feedback["true_code"]) == (175.0, None)


@pytest.fixture(scope="module")
def classification(store: Store) -> Iterator[Server]:
    server = _serve(store, "quality", "quality@production")
    yield server
    if server.process.poll() is None:
        _stop(server)


def test_a_classification_answers_ranked_classes_with_the_models_probabilities(
    classification: Server, store: Store
) -> None:
    unseen = {"region": "centre", "delay_days": "3.5", "urgent": "non"}
    response = httpx.post(f"{classification.url}/predict", json={"records": [CASE, unseen],
                                                                "k": 2})  # fmt: skip
    assert response.status_code == 200, response.text
    pipeline = _pipeline(store, "models:/quality/1")
    # What data add made of the file's yes/no words, as the model learnt them.
    frame = pd.DataFrame([{**CASE, "urgent": True}, {**unseen, "delay_days": 3.5, "urgent": False}])
    expected = pipeline.predict_proba(frame)
    classes = list(pipeline.classes_)
    for ranked, row in zip(response.json()["predictions"], expected, strict=True):
        assert [c["code"] for c in ranked] == [classes[i] for i in np.argsort(-row)]
        for candidate in ranked:
            assert abs(candidate["probability"] - row[classes.index(candidate["code"])]) <= 1e-9
    theirs = httpx.post(f"{classification.url}/predict", json={"dataframe_records": [CASE]})
    assert theirs.json()["predictions"] == pipeline.predict(frame.iloc[:1]).tolist()
    rid = response.json()["request_id"]
    good = httpx.post(f"{classification.url}/feedback",
                      json={"request_id": rid, "index": 1, "true_code": "good"})  # fmt: skip
    assert good.json() == {"stored": 1}, good.text
    wrong = {"request_id": rid, "index": 0, "true_code": "excellent"}
    unknown = httpx.post(f"{classification.url}/feedback", json=wrong)
    assert unknown.status_code == 422 and "one of the model's classes" in unknown.text


def test_a_server_pointed_at_a_model_of_another_task_refuses_it_at_load(store: Store) -> None:
    """The quality project (a classification) told to serve the diabetes regression: the
    server starts, says why it is not ready, and answers no prediction."""
    port = _free_port()
    command = [MLCYCLE, "serve", "--host", "127.0.0.1", "--port", str(port),
               "--model", "diabetes@production"]  # fmt: skip
    env = _env(store.home, MLCYCLE_PROJECT=str(store.projects["quality"]))
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        ready = _until_answered(f"{server.url}/ready")
        assert ready.status_code == 503
        assert (
            "is a regression model, but this project's task is classification"
            in (ready.json()["detail"])
        )
        refused = httpx.post(f"{server.url}/predict", json={"records": [CASE]})
        assert refused.status_code == 503
    finally:
        _stop(server)


def _until_answered(url: str) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


def test_a_shadow_challenger_scores_records_beside_the_champion(
    store: Store, tmp_path: Path
) -> None:
    # At normal priority: at idle, beside other test workers, the challenger can be
    # starved until the server stops it (it scored 5 of 20 requests in one suite run).
    experiment = {"MODE": "shadow", "CHALLENGER": "diabetes/2", "SHADOW_PRIORITY": "normal"}
    server = _start(
        store.home, "--model", "diabetes/1", MLCYCLE_PROJECT=str(store.projects["diabetes"]),
        MLCYCLE_SERVE__PREDICTION_LOG__DIR=str(tmp_path / "log"),
        MLCYCLE_SERVE__PREDICTION_LOG__SHADOW_DIR=str(tmp_path / "shadow"),
        **{f"MLCYCLE_SERVE__EXPERIMENT__{k}": v for k, v in experiment.items()},
    )  # fmt: skip
    try:
        records = [PATIENT, {**PATIENT, "bmi": 22.0}]
        answers = [
            httpx.post(f"{server.url}/predict", json={"records": records}).json() for _ in range(20)
        ]
    finally:
        code, err = _stop(server)
    assert code == 0, err
    assert {answer["model"]["version"] for answer in answers} == {"1"}
    newer = _pipeline(store, "models:/diabetes/2").predict(pd.DataFrame(records))
    champion = predlog.read_log(tmp_path / "log").to_pylist()
    shadow = predlog.read_log(tmp_path / "shadow").to_pylist()
    assert len(champion) == len(shadow) == 40
    assert {(r["model_version"], r["arm"]) for r in champion} == {("1", "champion")}
    assert {(r["model_version"], r["arm"]) for r in shadow} == {("2", "shadow")}
    ours = {(r["request_id"], r["index"]): r for r in shadow}
    for answer in answers:
        for index, expected in enumerate(newer):
            row = ours[answer["request_id"], index]
            assert row["value"] == pytest.approx(expected, abs=1e-9)
            assert json.loads(row["record"]) == records[index]
