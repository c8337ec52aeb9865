"""``/predict`` for tabular models in-process: records in every body form, answers equal to
the model's own, bad records named, micro-batching, the task check and hot swaps."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlcycle.core.errors import ModelError
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.predict import PredictService
from mlcycle.serve.predictors import predictor_factory
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.tabular import TabularPredictor
from mlcycle.serve.validation import Limits
from mlcycle.tasks import task_of
from tests.tabular import RECORD, one_thread, served_tabular, tabular_settings, wire_records

pytestmark = pytest.mark.usefixtures("one_thread")
__all__ = ["one_thread"]


@pytest.fixture(scope="module")
def classifier() -> ServedModel:
    return served_tabular("classification")


@pytest.fixture(scope="module")
def regressor() -> ServedModel:
    return served_tabular("regression")


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "fastapi-route"])
def client(
    request: pytest.FixtureRequest,
    classifier: ServedModel,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    settings = tabular_settings(tmp_path_factory.mktemp("home"), "classification", max_batch=20)
    app = create_app(classifier, settings, fast_path=request.param)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def values_client(
    regressor: ServedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = tabular_settings(tmp_path_factory.mktemp("home"), "regression")
    with TestClient(create_app(regressor, settings)) as test_client:
        yield test_client


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records)


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["detail"].endswith(".")
    assert body["detail"].replace("e.g. ", "").count(". ") == 0  # one sentence
    return body["detail"]


# -- answers equal to the model's own -------------------------------------------------


def test_classes_and_probabilities_are_the_pipelines_to_1e_9(
    client: TestClient, classifier: ServedModel
) -> None:
    records = wire_records(20, seed=8)
    response = client.post("/predict", json={"records": records, "k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "cases", "version": "1"}
    pipeline = classifier.model.pipeline
    expected = pipeline.predict_proba(_frame(records))
    classes = list(pipeline.classes_)
    for ranked, row in zip(body["predictions"], expected, strict=True):
        assert [c["code"] for c in ranked] == [classes[i] for i in np.argsort(-row)[:3]]
        for candidate in ranked:
            assert abs(candidate["probability"] - row[classes.index(candidate["code"])]) <= 1e-9
            assert candidate["label"] is None


def test_a_regression_answers_values_equal_to_the_pipelines(
    values_client: TestClient, regressor: ServedModel
) -> None:
    records = [RECORD, {**RECORD, "x": None, "city": "rome", "smoker": None, "seen": None}]
    response = values_client.post("/predict", json={"records": records})
    assert response.status_code == 200, response.text
    answered = [p["value"] for p in response.json()["predictions"]]
    expected = regressor.model.pipeline.predict(_frame(records))
    assert np.allclose(answered, expected, rtol=0, atol=1e-9)


SPLIT = {"columns": list(RECORD), "data": [list(RECORD.values())] * 2, "index": [4, 5]}
MLFLOW_BODIES = {
    "dataframe_records": {"dataframe_records": [RECORD, RECORD]},
    "dataframe_split": {"dataframe_split": SPLIT},
    "inputs as records": {"inputs": [RECORD, RECORD]},
    "inputs as columns": {"inputs": {k: [v, v] for k, v in RECORD.items()}},
    "instances": {"instances": [RECORD, RECORD], "params": {"k": 2}},
}


@pytest.mark.parametrize("body", MLFLOW_BODIES.values(), ids=MLFLOW_BODIES)
def test_every_mlflow_body_is_answered_as_mlflow_answers_it(
    client: TestClient, values_client: TestClient, classifier: ServedModel,
    regressor: ServedModel, body: dict[str, Any],
) -> None:  # fmt: skip
    classes = client.post("/predict", json=body)
    assert classes.status_code == 200, classes.text
    expected = classifier.model.pipeline.predict(_frame([RECORD, RECORD])).tolist()
    assert classes.json()["predictions"] == expected  # the class, as mlflow's answer
    assert set(classes.json()) == {"request_id", "model", "predictions"}
    values = values_client.post("/predict", json=body).json()["predictions"]
    assert np.allclose(values, regressor.model.pipeline.predict(_frame([RECORD, RECORD])))


def test_a_nan_from_pythons_json_is_a_missing_value(client: TestClient) -> None:
    """``json.dumps`` writes NaN for a missing number, as MLflow's Python clients send."""
    body = json.dumps({"dataframe_records": [{**RECORD, "x": float("nan")}]})
    nan = client.post("/predict", content=body, headers={"content-type": "application/json"})
    null = client.post("/predict", json={"dataframe_records": [{**RECORD, "x": None}]})
    assert nan.status_code == 200, nan.text
    assert nan.json()["predictions"] == null.json()["predictions"]


def test_unknown_categories_and_nulls_are_left_to_the_model(client: TestClient) -> None:
    odd = {"x": None, "z": None, "city": "tokyo", "smoker": None, "seen": None}
    response = client.post("/predict", json={"records": [odd], "k": 5})
    assert response.status_code == 200, response.text
    [ranked] = response.json()["predictions"]
    assert len(ranked) == 3  # k is capped at the three classes
    assert abs(sum(c["probability"] for c in ranked) - 1.0) < 1e-9


def test_yes_no_words_are_read_as_data_add_reads_them(client: TestClient) -> None:
    """A boolean column learnt from "oui"/"non" in a file takes the same words in a
    record, as the model's true and false."""
    words = client.post("/predict", json={"records": [_with(smoker="OUI"), _with(smoker=" non ")]})
    flags = client.post("/predict", json={"records": [_with(smoker=True), _with(smoker=False)]})
    assert words.status_code == 200, words.text
    assert words.json()["predictions"] == flags.json()["predictions"]


def test_the_root_names_the_task_and_the_features(client: TestClient) -> None:
    assert client.get("/").json() == {
        "name": "cases", "version": "1", "labels": 3, "model_uri": "models:/cases/1",
        "task": "classification", "features": list(RECORD),
    }  # fmt: skip


# -- bad records: one sentence naming the record and the column --------------------------


def _with(**changes: Any) -> dict[str, Any]:
    return {**RECORD, **changes}


BAD = [
    ({"records": [RECORD, _with(x="abc")]}, 422, "Record 1, column 'x': \"abc\" is not a number"),
    ({"records": [{k: v for k, v in RECORD.items() if k != "z"}]}, 422,
     "Record 0 has no column 'z', which the model was trained with"),
    ({"records": [_with(target=1)]}, 422, "Record 0 has a column 'target' the model does not use"),
    ({"records": [RECORD, "paris"]}, 422, "Record 1 must be an object of column values"),
    ({"records": [RECORD] * 21}, 413, "'records' has 21 items, more than the limit of 20"),
    ({"records": []}, 422, "'records' is empty; send between 1 and 20 records"),
    ({"records": [_with(smoker="maybe")]}, 422, "column 'smoker': \"maybe\" is not true, false"),
    ({"records": [_with(city=["paris"])]}, 422, "Record 0, column 'city': [\"paris\"] is not one"),
    ({"records": [_with(x=2**63 + 1)]}, 422, "column 'x': 9223372036854775809 is out of range"),
    ({"records": [_with(city=-1e300)]}, 422, "Record 0, column 'city': -1e+300 is out of range"),
    ({"records": [_with(seen=20210601)]}, 422, "Record 0, column 'seen': 20210601 is not a date"),
    ({"records": [_with(seen="June the first")]}, 422, "Record 0, column 'seen':"),
    ({"records": [_with(city="x" * 300)]}, 422, "the text has 300 characters, more than the limit"),
    ({"records": [RECORD], "k": 0}, 422, "'k' must be from 1 to 20, got 0"),
    ({"texts": ["a restaurant"]}, 422, "Unknown field 'texts'; a request has 'records' and 'k'"),
    ({"inputs": [RECORD], "records": [RECORD]}, 422, "Unknown field 'records' beside 'inputs'"),
    ({"inputs": [RECORD], "instances": [RECORD]}, 422, "has both 'inputs' and 'instances'"),
    ({"inputs": [RECORD], "params": {"top": 2}}, 422, "Unknown parameter 'top' in 'params'"),
    ({"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}}, 422,
     "'dataframe_split.data[0]' must be a list of 1 values"),
    ({"dataframe_split": {"columns": list(RECORD)[:4], "data": [[1, 2, "paris", True]]}}, 422,
     "Record 0 has no column 'seen'"),
    ({"inputs": {"x": [1, 2], "z": [1]}}, 422, "The columns of 'inputs' have different lengths"),
    ({"dataframe_records": {"x": 1}}, 422, "'dataframe_records' must be a list of records"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "words"), BAD)
def test_bad_records_get_one_sentence_naming_the_record_and_the_column(
    client: TestClient, body: Any, status: int, words: str
) -> None:
    assert words in _error(client.post("/predict", json=body), status)


def test_a_body_over_the_records_byte_limit_is_413(client: TestClient) -> None:
    record = _with(city="é" * 256)  # the longest text a value may be, escaped: 6 bytes a letter
    body = json.dumps({"records": [record] * 20}, ensure_ascii=True).encode()
    assert client.post("/predict", content=body,
                       headers={"content-type": "application/json"}).status_code == 200  # fmt: skip
    too_big = body[:-2] + b" " * 400_000 + b"]}"  # over the text limit too (244 kB here)
    response = client.post(
        "/predict", content=too_big, headers={"content-type": "application/json"}
    )
    assert "send fewer or shorter records" in _error(response, 413)


@pytest.mark.parametrize(
    "body",
    [
        b'{"records": [' + b"{}," * 60_000 + b"{}]}",
        b'{"dataframe_split": {"columns": ["x"], "data": [[' + b"0," * 90_000 + b"0]]}}",
    ],
)
def test_bodies_of_many_tiny_values_are_refused_before_they_are_parsed(
    client: TestClient, body: bytes
) -> None:
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert "more JSON values than 20 items need; send at most 20 records" in _error(response, 413)


def test_the_value_count_follows_the_columns() -> None:
    limits = Limits.from_settings(tabular_settings(Path("."), "regression").serve)
    wide = limits.for_records([f"column_{i}" for i in range(40)])
    assert wide.values_per_item == 3 * 40 + 2 and wide.max_body_bytes > limits.max_body_bytes
    assert wide.unit == "records"


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_shadow_scores_the_lists_the_answer_holds_without_its_body(
    task: str, classifier: ServedModel, regressor: ServedModel, tmp_path: Path
) -> None:
    served = classifier if task == "classification" else regressor
    settings = tabular_settings(tmp_path, task)
    predictor = ModelHolder(
        "cases/1", served, make=predictor_factory(task_of(settings), 256)
    ).predictor
    assert predictor is not None
    body = json.dumps({"records": wire_records(5, seed=4), "k": 2}).encode()
    inputs = predictor.parse(body, predictor.request_limits(Limits.from_settings(settings.serve)))
    answer = asyncio.run(predictor.respond(inputs, "id-1"))
    scored = predictor.score_inputs(inputs)
    assert scored._replace(body=answer.body) == answer and scored.body == b""


# -- micro-batching ---------------------------------------------------------------------


def _service(served: ServedModel, tmp_path: Path) -> PredictService:
    settings = tabular_settings(tmp_path, served.task)
    holder = ModelHolder("cases/1", served, make=predictor_factory(task_of(settings), 256))
    return PredictService(holder, Limits.from_settings(settings.serve), Recorder(None, None))


async def _post(service: PredictService, body: dict[str, Any]) -> tuple[int, Any]:
    async def chunks() -> Any:
        yield json.dumps(body).encode()

    status, answer, _, _ = await service.respond("application/json", None, chunks())
    return status, json.loads(answer)


def test_concurrent_requests_are_predicted_together_and_answered_apart(
    classifier: ServedModel, tmp_path: Path
) -> None:
    service = _service(classifier, tmp_path)
    records = wire_records(12, seed=3)
    bodies = [{"records": [r], "k": 1 + i % 3} for i, r in enumerate(records)]
    bodies.insert(5, {"records": [_with(x="not a number")]})  # a bad one among them

    async def all_at_once() -> list[tuple[int, Any]]:
        return await asyncio.gather(*(_post(service, body) for body in bodies))

    results = asyncio.run(all_at_once())
    predictor = service.holder.require()
    assert isinstance(predictor, TabularPredictor)
    assert predictor.batcher.parts == 12 and predictor.batcher.flushes < 12
    assert results[5][0] == 422 and "Record 0, column 'x'" in results[5][1]["detail"]
    expected = classifier.model.pipeline.predict_proba(_frame(records))
    classes = list(classifier.model.pipeline.classes_)
    for (status, body), sent, row in zip(results[:5] + results[6:], bodies[:5] + bodies[6:],
                                          expected, strict=True):  # fmt: skip
        assert status == 200
        [ranked] = body["predictions"]
        assert len(ranked) == sent["k"]
        assert [c["code"] for c in ranked] == [classes[i] for i in np.argsort(-row)[: sent["k"]]]
        assert abs(ranked[0]["probability"] - row.max()) <= 1e-9


def test_a_large_request_is_answered_in_a_thread_with_the_same_values(
    regressor: ServedModel, tmp_path: Path
) -> None:
    service = _service(regressor, tmp_path)
    records = [_with(x=float(i)) for i in range(200)]
    status, body = asyncio.run(_post(service, {"records": records}))
    assert status == 200
    expected = regressor.model.pipeline.predict(_frame(records))
    assert np.allclose([p["value"] for p in body["predictions"]], expected, rtol=0, atol=1e-9)


# -- the task check and hot swaps ---------------------------------------------------------


def test_a_model_of_another_task_is_refused_at_load(regressor: ServedModel, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is a regression model, but this project's task is "
                                         "classification"):  # fmt: skip
        create_app(regressor, tabular_settings(tmp_path, "classification"))
    text_project = tabular_settings(tmp_path, "classification").model_copy(
        update={"model": tabular_settings(tmp_path, "classification").model.model_copy(
            update={"task": "text-classification"})})  # fmt: skip
    with pytest.raises(ModelError, match="text-classification"):
        create_app(regressor, text_project)


class Broken:
    """A tabular model that loads but predicts nonsense, as a corrupt artifact might."""

    labels: list[str] = []  # noqa: RUF012
    types = {"x": "numeric"}  # noqa: RUF012

    def predict(self, frame: pd.DataFrame, k: int = 1) -> Any:
        from mlcycle.core.predictions import Values

        return Values(np.array([np.nan]))


def test_a_hot_swap_between_tabular_versions_checks_the_new_one(
    regressor: ServedModel, tmp_path: Path
) -> None:
    settings = tabular_settings(tmp_path, "regression")
    app = create_app(regressor, settings)
    newer = served_tabular("regression", version="2", max_iter=5, seed=4)
    broken = ServedModel("cases", "3", Broken(), "models:/cases/3", "regression", "sklearn")
    other_task = served_tabular("classification", version="4")
    with TestClient(app) as client:
        first = client.post("/predict", json={"records": [RECORD]}).json()
        holder = app.state.holder
        holder.swap(newer)
        second = client.post("/predict", json={"records": [RECORD]}).json()
        assert (first["model"]["version"], second["model"]["version"]) == ("1", "2")
        assert second["predictions"][0]["value"] == pytest.approx(
            newer.model.pipeline.predict(_frame([RECORD]))[0], abs=1e-9)  # fmt: skip
        for bad, words in ((broken, "malformed answer to a smoke record"),
                           (other_task, "is a classification model")):  # fmt: skip
            with pytest.raises(ModelError, match=words):
                holder.swap(bad)
            assert holder.version == "2"  # the current one keeps answering
        spec = client.get("/openapi.json").json()
        body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["anyOf"][0]["properties"]["records"]["items"]["required"] == list(
            RECORD
        )


def test_the_smoke_record_is_the_logged_input_example_when_there_is_one(
    classifier: ServedModel,
) -> None:
    model = copy.copy(classifier.model)
    model.example = [{**RECORD, "city": "lille"}]
    served = ServedModel("cases", "5", model, "models:/cases/5", "classification", "sklearn")
    predictor = TabularPredictor(served)
    assert predictor.smoke_record()["city"] == "lille"
    predictor.smoke_test()
    plain = TabularPredictor(classifier).smoke_record()
    assert plain == {"x": 0.0, "z": 0.0, "city": None, "smoker": None, "seen": None}


def test_a_worker_runs_blas_and_openmp_on_one_thread() -> None:
    """HistGradientBoosting's OpenMP threads spin on every one-record call: a serving
    worker runs them on one thread, as it runs BLAS, in every thread of the process and
    whatever the environment says, though scikit-learn's OpenMP runtime loads only with
    the model, after the worker has started."""
    probe = """
import json, threading
from mlcycle.serve import runner
runner.create_app = lambda: None
runner.app_factory()
import sklearn.ensemble  # the model's load brings OpenMP in
from threadpoolctl import threadpool_info
seen = []
thread = threading.Thread(target=lambda: seen.append(threadpool_info()))
thread.start()
thread.join()
print(json.dumps({lib["user_api"]: lib["num_threads"] for lib in seen[0]}))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    pools = json.loads(done.stdout.strip().splitlines()[-1])
    assert pools.get("openmp") == 1 and pools.get("blas") == 1, pools
