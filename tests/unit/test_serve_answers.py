"""What one ``/predict`` answer says per text: its ranked codes with each code's label and
parents, or its own error, while the other texts of the batch are answered."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlcycle.core.settings import Settings
from mlcycle.data import predlog
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.monitor import aggregates
from mlcycle.monitor.logstore import LogStore
from mlcycle.serve import faults
from mlcycle.serve.app import create_app
from mlcycle.serve.text import Predictor
from mlcycle.tasks.text import nace
from tests.unit.test_serve_app import VOCABULARY, _rows

LIMITS = {"max_batch": 20, "max_text_chars": 50, "max_k": 3}
# A project's own code beside NAF ones: it has no label and no parents.
OWN_CODE = "AUTRE"


@pytest.fixture(scope="module")
def served() -> ServedModel:
    texts, labels = _rows(300, seed=2)
    texts += ["parapente vol libre", "ballon montgolfière vol"] * 20
    labels += [OWN_CODE] * 40
    model = FastTextClassifier(dim=8, epoch=15, minCount=1, bucket=2000, wordNgrams=1, thread=1)
    return ServedModel("nace", "4", model.fit(texts, labels), "models:/nace/4")


@pytest.fixture(params=[True, False], ids=["fast-path", "fastapi-route"])
def client(
    request: pytest.FixtureRequest, served: ServedModel, tmp_path: Path
) -> Iterator[TestClient]:
    """The same checks with and without the ASGI fast path, on a fresh home each."""
    settings = Settings(home=tmp_path, serve=LIMITS)
    with TestClient(create_app(served, settings, fast_path=request.param)) as test_client:
        yield test_client


MIXED = ["salon de coiffure", "", 3, "   \t", "x" * 51, None, "logiciel web", {"text": "a"}]
FAULTS = [
    (1, "blank", "texts[1] is empty or blank; send a description."),
    (2, "not_a_string", "texts[2] must be a string, not a number."),
    (3, "blank", "texts[3] is empty or blank; send a description."),
    (4, "too_long", "texts[4] has 51 characters, more than the limit of 50; shorten it."),
    (5, "not_a_string", "texts[5] must be a string, not null."),
    (7, "not_a_string", "texts[7] must be a string, not an object."),
]


def _errors(faults: list[tuple[int, str, str]]) -> list[dict[str, object]]:
    return [{"index": i, "error": error, "message": message} for i, error, message in faults]


# -- per-text errors ------------------------------------------------------------------


def test_each_bad_text_gets_its_own_error_and_the_others_are_answered(client: TestClient) -> None:
    response = client.post("/predict", json={"texts": MIXED, "k": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] == _errors(FAULTS)
    predictions = body["predictions"]
    assert len(predictions) == len(MIXED)
    assert [i for i, ranked in enumerate(predictions) if ranked is None] == [i for i, *_ in FAULTS]
    assert predictions[0][0]["code"] == "9602A" and len(predictions[0]) == 2
    assert predictions[6][0]["code"] == "6201Z"


def test_a_batch_of_good_texts_has_no_errors(client: TestClient) -> None:
    body = client.post("/predict", json={"texts": ["salon de coiffure"]}).json()
    assert body["errors"] == [] and body["predictions"][0] is not None


def test_a_batch_of_bad_texts_is_answered_with_an_error_each(client: TestClient) -> None:
    response = client.post("/predict", json={"texts": ["", 7]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == [None, None]
    assert [e["error"] for e in body["errors"]] == ["blank", "not_a_string"]
    assert body["empty_after_cleaning"] == []


def test_texts_empty_after_cleaning_keep_their_position_in_the_request(client: TestClient) -> None:
    body = client.post("/predict", json={"texts": ["", "salon de coiffure", "123 !!!"]}).json()
    assert body["empty_after_cleaning"] == [2]
    assert body["predictions"][0] is None and body["predictions"][2] is not None


def test_an_mlflow_body_gets_per_text_errors_named_by_its_field(client: TestClient) -> None:
    body = client.post("/predict", json={"inputs": ["salon de coiffure", " "]}).json()
    assert body["errors"] == _errors(
        [(1, "blank", "inputs[1] is empty or blank; send a description.")]
    )
    assert body["predictions"][0][0]["code"] == "9602A"


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"texts": []}, 422, "'texts' is empty"),
        ({"texts": "coiffure"}, 422, "'texts' must be a list of strings, not a string"),
        ({"texts": [""] * 21}, 413, "21 items, more than the limit of 20"),
        ({"texts": [""], "k": 9}, 422, "'k' must be from 1 to 3, got 9"),
        ({"texts": [""], "extra": 1}, 422, "Unknown field 'extra'"),
    ],
)
def test_a_malformed_request_still_fails_whole(
    client: TestClient, payload: object, status: int, words: str
) -> None:
    response = client.post("/predict", json=payload)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "detail"} and words in response.json()["detail"]


# -- the log, feedback and metrics ----------------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "fastapi-route"])
def test_bad_texts_are_not_logged_and_good_ones_keep_their_index(
    served: ServedModel, tmp_path: Path, fast_path: bool
) -> None:
    app = create_app(served, Settings(home=tmp_path, serve=LIMITS), fast_path=fast_path)
    with TestClient(app) as client:  # the log is written when the server stops
        rid = client.post("/predict", json={"texts": MIXED}).json()["request_id"]
        late = client.post("/predict", json={"texts": [" ", "brasserie", "menu"]}).json()
        client.post("/predict", json={"texts": [""]})  # nothing answered: nothing logged
    rows = predlog.read_log(tmp_path / "predictions").to_pylist()
    assert [(r["request_id"], r["index"], r["text"], r["first_of_request"]) for r in rows] == [
        (rid, 0, "salon de coiffure", True),
        (rid, 6, "logiciel web", False),
        (late["request_id"], 1, "brasserie", True),
        (late["request_id"], 2, "menu", False),
    ]
    assert [r["batch_size"] for r in rows] == [len(MIXED)] * 2 + [3] * 2
    # monitoring counts both requests, the one whose first text had an error too
    store = LogStore(tmp_path / "predictions", tmp_path / "feedback")
    with store.open_window(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)) as window:
        totals = aggregates.totals(window)
        latency = aggregates.latency_quantiles(window)
    assert (totals.predictions, totals.requests) == (4, 2)
    assert latency is not None


def test_feedback_on_a_text_answered_with_an_error_is_refused(client: TestClient) -> None:
    rid = client.post("/predict", json={"texts": ["salon de coiffure", ""]}).json()["request_id"]
    refused = client.post("/feedback", json={"request_id": rid, "index": 1, "true_code": "9602A"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        f"feedback[0]: text 1 of request '{rid}' was answered with an error, not a "
        "prediction; there is nothing to correct."
    )
    stored = client.post("/feedback", json={"request_id": rid, "index": 0, "true_code": "9602A"})
    assert stored.json() == {"stored": 1}


def test_metrics_count_bad_texts_by_error(client: TestClient) -> None:
    client.post("/predict", json={"texts": MIXED})
    metrics = client.get("/metrics").text
    assert 'mlcycle_prediction_input_errors_total{error="blank"} 2.0' in metrics
    assert 'mlcycle_prediction_input_errors_total{error="not_a_string"} 3.0' in metrics
    assert 'mlcycle_prediction_input_errors_total{error="too_long"} 1.0' in metrics
    # the request held 8 texts, of which 2 were predicted
    assert "mlcycle_prediction_texts_per_request_sum 8.0" in metrics
    assert "mlcycle_prediction_top1_probability_count 2.0" in metrics


# -- labels and parents ---------------------------------------------------------------


def _parents(code: str) -> dict[str, dict[str, str]]:
    return {level: {"code": p.code, "label": p.label} for level, p in nace.parents(code).items()}


def test_every_code_carries_its_label_and_parents(client: TestClient) -> None:
    body = client.post("/predict", json={"texts": ["brasserie cuisine"], "k": 3}).json()
    for candidate in body["predictions"][0]:
        code = candidate["code"]
        if code == OWN_CODE:
            continue
        assert candidate["label"] == nace.label(code) is not None
        assert candidate["parents"] == _parents(code)
        assert list(candidate["parents"]) == ["section", "division", "group", "class"]
    top = body["predictions"][0][0]
    assert top["code"] == "5610A"
    assert top["parents"]["section"] == {"code": "I", "label": "Hébergement et restauration"}
    assert top["parents"]["class"]["code"] == "5610"


def test_a_code_outside_the_nomenclature_has_no_label_and_no_parents(client: TestClient) -> None:
    body = client.post("/predict", json={"texts": ["parapente vol libre"]}).json()
    assert body["predictions"][0] == [
        {"code": OWN_CODE, "probability": body["predictions"][0][0]["probability"],
         "label": None, "parents": {}}
    ]  # fmt: skip


def test_a_project_without_a_nomenclature_answers_codes_without_parents(
    served: ServedModel, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, data={"nomenclature": None})
    with TestClient(create_app(served, settings)) as client:
        body = client.post("/predict", json={"texts": ["salon de coiffure"]}).json()
    [[candidate]] = body["predictions"]
    assert candidate["code"] == "9602A" and candidate["label"] is None
    assert candidate["parents"] == {}


class CountingBook:
    """The labels of NAF rev.2, counting how often a code is looked up."""

    def __init__(self) -> None:
        self.lookups = 0

    def label_name(self, label: str) -> str | None:
        self.lookups += 1
        return nace.label(label)

    def label_parents(self, label: str) -> Mapping[str, tuple[str, str]]:
        return nace.parents(label)


def test_labels_and_parents_are_looked_up_once_per_loaded_model(served: ServedModel) -> None:
    book = CountingBook()
    predictor = Predictor(served, book)
    loaded = book.lookups
    assert loaded == len(VOCABULARY) + 1  # each code of the model, once
    for _ in range(3):
        predictor.answer(["salon de coiffure", "brasserie"], 3, "rid")
    assert book.lookups == loaded


# -- the published contract -----------------------------------------------------------


def test_the_schema_documents_texts_errors_and_parents(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    request = predict["requestBody"]["content"]["application/json"]["schema"]
    text, other = request["properties"]["texts"]["items"]["anyOf"]
    assert text["type"] == "string" and text["maxLength"] == 50 and text["pattern"] == r"\S"
    assert "errors" in other["description"]
    schemas = spec["components"]["schemas"]
    answer = schemas["PredictResponse"]["properties"]
    assert {"type": "null"} in answer["predictions"]["items"]["anyOf"]
    assert answer["errors"]["items"]["$ref"].endswith("/TextError")
    assert set(schemas["TextError"]["properties"]) == {"index", "error", "message"}
    assert set(schemas["TextError"]["properties"]["error"]["enum"]) == set(faults.ERRORS)
    assert "parents" in schemas["Candidate"]["properties"]
