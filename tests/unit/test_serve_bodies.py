"""MLflow's scoring bodies: parsed into the same requests as ours, for text and tabular
models, so a client of ``mlflow models serve`` switches without a change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlcycle.core.errors import InvalidInput, MlcycleError
from mlcycle.core.settings import ServeSettings, Settings
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.bodies import Inputs, record_inputs, text_inputs
from mlcycle.serve.components import model_holder
from mlcycle.serve.faults import Fault
from mlcycle.serve.validation import Limits
from tests.unit.test_serve_app import _rows

LIMITS = Limits.from_settings(ServeSettings(max_batch=3, max_k=4))
ROW = {"age": 52, "city": "Lyon"}


def _body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "payload",
    [
        {"records": [ROW, ROW], "k": 2},
        {"dataframe_records": [ROW, ROW], "params": {"k": 2}},
        {"dataframe_split": {"columns": ["age", "city"], "data": [[52, "Lyon"]] * 2}},
        {"dataframe_split": {"index": [7, 8], "columns": ["age", "city"],
                             "data": [[52, "Lyon"]] * 2}},
        {"inputs": [ROW, ROW]},
        {"inputs": {"age": [52, 52], "city": ["Lyon", "Lyon"]}},
        {"instances": [ROW, ROW], "params": {"k": 2}},
        {"instances": {"age": [52, 52], "city": ["Lyon", "Lyon"]}},
    ],
)  # fmt: skip
def test_every_form_gives_the_same_records(payload: dict[str, Any]) -> None:
    parsed = record_inputs(_body(payload), LIMITS)
    assert parsed.items == [ROW, ROW]
    assert parsed.k == (2 if "k" in json.dumps(payload) else 1)
    assert parsed.mlflow == ("records" not in payload)


@pytest.mark.parametrize(
    ("payload", "error", "words"),
    [
        ({"records": [ROW] * 4}, MlcycleError, "'records' has 4 items, more than the limit of 3"),
        ({"dataframe_records": [ROW] * 4}, MlcycleError, "'dataframe_records' has 4 items"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1]] * 4}}, MlcycleError,
         "'dataframe_split.data' has 4 items"),
        ({"inputs": {"a": [1] * 4}}, MlcycleError, "'inputs' has 4 items"),
        ({"dataframe_split": [[1]]}, InvalidInput, "must be an object with 'columns' and 'data'"),
        ({"dataframe_split": {"columns": ["a", "a"], "data": []}}, InvalidInput,
         "names a column twice"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1]], "dtypes": {}}}, InvalidInput,
         "unknown field 'dtypes'"),
        ({"dataframe_split": {"columns": [1], "data": [[1]]}}, InvalidInput,
         "'dataframe_split.columns' must be a list of column names"),
        ({"inputs": {"a": 1}}, InvalidInput, "'inputs.a' must be a list of values"),
        ({"inputs": "a"}, InvalidInput, "'inputs' must be a list of records, not a string"),
        ({"inputs": [ROW], "params": [2]}, InvalidInput, "'params' must be an object"),
        ({"inputs": [ROW], "params": {"k": 9}}, InvalidInput, "'params.k' must be from 1 to 4"),
        ({"records": ROW}, InvalidInput, "'records' must be a list of objects, not an object"),
        ({"k": 2}, InvalidInput, "The request has no 'records'"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_one_sentence(
    payload: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=None) as caught:
        record_inputs(_body(payload), LIMITS)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "payload",
    [
        {"inputs": ["un restaurant", "une boulangerie"], "params": {"k": 2}},
        {"dataframe_records": [{"text": "un restaurant"}, {"text": "une boulangerie"}],
         "params": {"k": 2}},
        {"dataframe_split": {"columns": ["text"], "data": [["un restaurant"], ["une boulangerie"]]},
         "params": {"k": 2}},
        {"inputs": {"text": ["un restaurant", "une boulangerie"]}, "params": {"k": 2}},
    ],
)  # fmt: skip
def test_a_text_model_reads_mlflow_bodies_by_their_text_column(payload: dict[str, Any]) -> None:
    assert text_inputs(_body(payload), LIMITS) == Inputs(
        ["un restaurant", "une boulangerie"], 2, True
    )


def test_a_text_record_must_hold_only_its_text() -> None:
    with pytest.raises(InvalidInput, match="Record 1 must have one column, 'text'"):
        text_inputs(_body({"dataframe_records": [{"text": "a"}, {"texte": "b"}]}), LIMITS)
    # a value that is no text is that text's fault, not the request's
    inputs = text_inputs(_body({"inputs": [3, "b"]}), LIMITS)
    assert inputs.items == ["b"]
    assert inputs.faults == (Fault(0, "not_a_string", "inputs[0] must be a string, not a number."),)


@pytest.fixture(scope="module")
def text_served() -> ServedModel:
    texts, labels = _rows(300, seed=6)
    model = FastTextClassifier(dim=8, epoch=10, minCount=1, bucket=2000, wordNgrams=1, thread=1)
    return ServedModel("nace", "3", model.fit(texts, labels), "models:/nace/3")


@pytest.fixture(scope="module")
def text_client(
    text_served: ServedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    home: Path = tmp_path_factory.mktemp("home")
    with TestClient(create_app(text_served, Settings(home=home))) as client:
        yield client


def test_a_shadow_scores_the_lists_the_answer_holds_without_its_body(
    text_served: ServedModel, tmp_path: Path
) -> None:
    predictor = model_holder(
        Settings(home=tmp_path), "nace@challenger", served=text_served
    ).predictor
    assert predictor is not None
    body = _body({"texts": ["salon de coiffure", 3, "boulangerie, pain"], "k": 3})
    inputs = predictor.parse(body, LIMITS)
    answer = asyncio.run(predictor.respond(inputs, "id-1"))
    scored = predictor.score_inputs(inputs)
    assert (scored.codes, scored.probs, scored.faults) == (
        answer.codes,
        answer.probs,
        answer.faults,
    )
    assert len(scored.codes) == 2 and len(scored.faults) == 1 and scored.body == b""


def test_a_text_model_answers_an_mlflow_body_as_it_answers_texts(text_client: TestClient) -> None:
    ours = text_client.post("/predict", json={"texts": ["salon de coiffure"], "k": 2}).json()
    theirs = text_client.post(
        "/predict", json={"dataframe_records": [{"text": "salon de coiffure"}], "params": {"k": 2}}
    ).json()
    assert theirs["predictions"] == ours["predictions"]  # what mlflow's pyfunc answers, and more
    assert set(theirs) == set(ours)
