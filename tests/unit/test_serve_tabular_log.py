"""The prediction log and ``POST /feedback`` for tabular models: a row per record with the
record as JSON and the value, hashed records without raw values, the journal, and the
truths each task accepts."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from mlcycle.data import predlog
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.journal import decode, encode
from mlcycle.serve.logrecords import LogRecord, prediction_table
from tests.tabular import RECORD, one_thread, served_tabular, tabular_settings

pytestmark = pytest.mark.usefixtures("one_thread")
__all__ = ["one_thread"]
SALT = "a-salt-of-sixteen-or-more"


@pytest.fixture(scope="module")
def served() -> dict[str, ServedModel]:
    return {task: served_tabular(task) for task in ("classification", "regression")}


def _app(served: ServedModel, home: Path, **log: Any) -> Any:
    settings = tabular_settings(home, served.task, prediction_log={"flush_seconds": 300, **log})
    return create_app(served, settings)


def _rows(home: Path) -> list[dict[str, Any]]:
    return predlog.read_log(home / "predictions", predlog.PREDICTION_SCHEMA).to_pylist()


def _feedback_rows(home: Path) -> list[dict[str, Any]]:
    return predlog.read_log(home / "feedback", predlog.FEEDBACK_SCHEMA).to_pylist()


def test_a_regression_logs_each_record_as_json_with_its_value(
    served: dict[str, ServedModel], tmp_path: Path
) -> None:
    records = [RECORD, {**RECORD, "x": None, "city": "rome"}]
    with TestClient(_app(served["regression"], tmp_path)) as client:
        answer = client.post("/predict", json={"records": records}).json()
    rows = sorted(_rows(tmp_path), key=lambda row: row["index"])
    assert [row["request_id"] for row in rows] == [answer["request_id"]] * 2
    assert [json.loads(row["record"]) for row in rows] == records
    assert [row["value"] for row in rows] == [p["value"] for p in answer["predictions"]]
    assert all(row["codes"] == [] and row["probabilities"] == [] for row in rows)
    assert all(row["text"] is None and row["text_chars"] is None for row in rows)
    assert [row["batch_size"] for row in rows] == [2, 2]


def test_a_classification_logs_records_with_their_ranked_classes(
    served: dict[str, ServedModel], tmp_path: Path
) -> None:
    with TestClient(_app(served["classification"], tmp_path)) as client:
        answer = client.post("/predict", json={"dataframe_records": [RECORD]}).json()
    [row] = _rows(tmp_path)
    assert json.loads(row["record"]) == RECORD and row["value"] is None
    assert row["codes"] == answer["predictions"]  # an MLflow body: k=1, the class


def test_without_log_text_a_record_is_kept_only_as_its_hmac(
    served: dict[str, ServedModel], tmp_path: Path
) -> None:
    with TestClient(_app(served["regression"], tmp_path, log_text=False, salt=SALT)) as client:
        client.post("/predict", json={"records": [RECORD]})
    [row] = _rows(tmp_path)
    digest = hmac.new(SALT.encode(), orjson.dumps(RECORD), hashlib.sha256).hexdigest()
    assert row["record"] is None and row["text"] is None and row["text_hash"] == digest
    assert row["value"] is not None  # the prediction is kept; no raw input is
    assert "paris" not in json.dumps(row, default=str)


def test_tabular_records_survive_the_journal() -> None:
    record = LogRecord("rid", 1_700_000_000_000, "cases", "1", [json.dumps(RECORD)], [[]],
                       [[]], 1.5, None, None, [151.25], True)  # fmt: skip
    old = LogRecord("tid", 1_700_000_000_000, "nace", "1", ["menu"], [["5610A"]], [[0.9]], 1.0,
                    None)  # fmt: skip
    lines = encode(record) + encode(old)[:-1] + b"\n"  # an old text line beside it
    decoded, skipped = decode(lines)
    assert skipped == 0 and decoded == [record, old]
    rows = prediction_table(decoded).to_pylist()
    assert (rows[0]["record"], rows[0]["value"], rows[0]["text"]) == (json.dumps(RECORD), 151.25,
                                                                      None)  # fmt: skip
    assert (rows[1]["record"], rows[1]["value"], rows[1]["text"]) == (None, None, "menu")


# -- feedback -------------------------------------------------------------------------------


@pytest.fixture
def regression_client(served: dict[str, ServedModel], tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(_app(served["regression"], tmp_path)) as client:
        yield client


def _predict(client: TestClient, count: int = 1) -> str:
    return client.post("/predict", json={"records": [RECORD] * count}).json()["request_id"]


def test_a_regression_takes_true_values(regression_client: TestClient, tmp_path: Path) -> None:
    rid = _predict(regression_client, 2)
    body = [{"request_id": rid, "index": 0, "true_value": 151},
            {"request_id": rid, "index": 1, "true_value": -2.5}]  # fmt: skip
    stored = regression_client.post("/feedback", json=body)
    assert stored.json() == {"stored": 2}, stored.text
    regression_client.__exit__(None, None, None)  # shut down: the writer flushes
    rows = sorted(_feedback_rows(tmp_path), key=lambda row: row["index"])
    assert [(row["true_value"], row["true_code"]) for row in rows] == [(151.0, None), (-2.5, None)]
    assert all(row["model_version"] == "1" for row in rows)


@pytest.mark.parametrize(
    ("truth", "words"),
    [
        ('"151"', 'in size, not "151"'),
        ("true", "in size, not true"),
        ("null", "in size, not missing"),
        ("1e19", "true_value must be a finite number, at most 9.223e+18 in size, not 1e+19"),
        (str(2**63 + 1), "not 9223372036854775809"),
        ("NaN", "not valid JSON"),
        ("1e400", "not valid JSON"),
    ],
)
def test_a_regression_refuses_truths_that_are_not_finite_numbers(
    regression_client: TestClient, truth: str, words: str
) -> None:
    rid = _predict(regression_client)
    body = f'{{"request_id": "{rid}", "true_value": {truth}}}'.encode()
    response = regression_client.post(
        "/feedback", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and words in response.json()["detail"], response.text


def test_a_regression_says_its_truth_is_a_value(regression_client: TestClient) -> None:
    rid = _predict(regression_client)
    response = regression_client.post("/feedback", json={"request_id": rid, "true_code": "a"})
    assert response.status_code == 422
    assert (
        "unknown field 'true_code'; an item has only request_id, index and true_value"
        in (response.json()["detail"])
    )


def test_a_classification_takes_the_classes_the_model_knows(
    served: dict[str, ServedModel], tmp_path: Path
) -> None:
    with TestClient(_app(served["classification"], tmp_path)) as client:
        rid = _predict(client)
        refused = client.post("/feedback", json={"request_id": rid, "true_code": "medium"})
        assert refused.status_code == 422
        assert (
            "must be one of the model's classes ('high', 'low', 'mid'), not \"medium\""
            in (refused.json()["detail"])
        )
        assert (
            client.post("/feedback", json={"request_id": rid, "true_code": "low"}).status_code
            == 200
        )
    [row] = _feedback_rows(tmp_path)
    assert (row["true_code"], row["true_value"]) == ("low", None)
    assert row["predicted_code"] in {"high", "low", "mid"}
