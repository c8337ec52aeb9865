"""The prediction API in-process: a real app around a small fastText model trained here."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mlcycle.core.settings import ServeSettings, Settings
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.tasks.text import nace

# A few words per code are enough for a small model to tell them apart.
VOCABULARY = {
    "5610A": ["restaurant", "cuisine", "traditionnelle", "brasserie", "plats", "menu"],
    "4711D": ["supermarché", "alimentation", "épicerie", "rayons", "caisse", "produits"],
    "6201Z": ["logiciel", "développement", "programmation", "applications", "code", "web"],
    "4120A": ["construction", "maisons", "individuelles", "gros", "oeuvre", "chantier"],
    "9602A": ["coiffure", "salon", "coupe", "coloration", "mèches", "barbier"],
}
LIMITS = {"max_batch": 50, "max_text_chars": 200, "max_k": 4}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Small limits; the prediction log goes to a temporary home."""
    return Settings(home=tmp_path_factory.mktemp("home"), serve=ServeSettings(**LIMITS))


def _rows(count: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(count):
        code = rng.choice(sorted(VOCABULARY))
        words = rng.sample(VOCABULARY[code], 3)
        texts.append(" ".join(words))
        labels.append(code)
    return texts, labels


@pytest.fixture(scope="module")
def served() -> ServedModel:
    texts, labels = _rows(400, seed=1)
    classifier = FastTextClassifier(
        dim=16, epoch=20, minCount=1, bucket=5000, wordNgrams=1, thread=1, lr=0.5, seed=3
    )
    classifier.fit(texts, labels)
    return ServedModel(name="nace", version="7", model=classifier, model_uri="models:/nace/7")


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "fastapi-route"])
def client(
    request: pytest.FixtureRequest, served: ServedModel, settings: Settings
) -> Iterator[TestClient]:
    """The same checks run with and without the ASGI fast path for ``/predict``."""
    app = create_app(served, settings, fast_path=request.param)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    assert body["detail"].endswith(".")
    assert "Traceback" not in body["detail"]
    return body["detail"]


# -- good requests --------------------------------------------------------------------


def test_predict_returns_ranked_codes_with_probabilities(client: TestClient) -> None:
    texts = ["Restaurant, cuisine traditionnelle", "développement de logiciel web"]
    response = client.post("/predict", json={"texts": texts, "k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "nace", "version": "7"}
    assert len(body["predictions"]) == 2
    first, second = body["predictions"]
    assert first[0]["code"] == "5610A"
    assert first[0]["label"] == nace.label("5610A") is not None
    assert second[0]["code"] == "6201Z"
    for ranked in body["predictions"]:
        assert len(ranked) == 3
        probs = [c["probability"] for c in ranked]
        assert probs == sorted(probs, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert len({c["code"] for c in ranked}) == 3
        assert all("label" in c for c in ranked)


def test_texts_with_no_word_left_are_flagged(client: TestClient) -> None:
    texts = [
        "salon de coiffure",
        "123 !!! 45",
        "le la les de",
        "x ?",
    ]  # digits, stop words, one letter
    response = client.post("/predict", json={"texts": texts})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["empty_after_cleaning"] == [1, 2, 3]
    assert len(body["predictions"]) == 4  # still answered: the client decides
    ok = client.post("/predict", json={"texts": ["salon de coiffure"]}).json()
    assert ok["empty_after_cleaning"] == []


def test_k_defaults_to_one(client: TestClient) -> None:
    response = client.post("/predict", json={"texts": ["salon de coiffure"]})
    assert response.status_code == 200
    [ranked] = response.json()["predictions"]
    assert [c["code"] for c in ranked] == ["9602A"]


def test_k_is_capped_at_the_number_of_codes(served: ServedModel, tmp_path) -> None:
    settings = Settings(home=tmp_path, serve=ServeSettings(max_k=20))
    with TestClient(create_app(served, settings)) as client:
        response = client.post("/predict", json={"texts": ["chantier"], "k": 20})
    assert response.status_code == 200
    [ranked] = response.json()["predictions"]
    assert len(ranked) == len(VOCABULARY)
    assert {c["code"] for c in ranked} == set(VOCABULARY)


def test_a_batch_above_the_inline_size_is_answered_in_order(client: TestClient) -> None:
    texts, labels = _rows(50, seed=9)
    response = client.post("/predict", json={"texts": texts, "k": 1})
    assert response.status_code == 200
    predicted = [ranked[0]["code"] for ranked in response.json()["predictions"]]
    assert sum(p == y for p, y in zip(predicted, labels, strict=True)) >= 45


def test_charset_in_content_type_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/predict",
        content='{"texts": ["supermarché"]}'.encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


# -- bad requests (a bad text in a good request is answered: test_serve_answers) -------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"texts": []}, 422, "'texts' is empty"),
        ({"texts": ["ok"] * 51}, 413, "51 items, more than the limit of 50"),
        ({"texts": "restaurant"}, 422, "'texts' must be a list of strings, not a string"),
        ({"text": ["restaurant"]}, 422, "Unknown field 'text'"),
        ({"k": 2}, 422, "no 'texts'"),
        ({"texts": ["ok"], "k": "3"}, 422, "'k' must be an integer from 1 to 4, not a string"),
        ({"texts": ["ok"], "k": 2.5}, 422, "'k' must be an integer from 1 to 4, not a number"),
        ({"texts": ["ok"], "k": True}, 422, "not a boolean"),
        ({"texts": ["ok"], "k": 0}, 422, "'k' must be from 1 to 4, got 0"),
        ({"texts": ["ok"], "k": 5}, 422, "'k' must be from 1 to 4, got 5"),
        (["restaurant"], 422, "must be a JSON object"),
        ("restaurant", 422, "must be a JSON object"),
    ],
)
def test_bad_bodies_get_one_clear_sentence(
    client: TestClient, body: object, status: int, words: str
) -> None:
    response = client.post("/predict", json=body)
    code = "too_large" if status == 413 else "invalid_input"
    assert words in _error(response, status, code)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"   ", b'{"texts": ["a"]', b"\xff\xfe"])
def test_malformed_json_is_refused(client: TestClient, raw: bytes) -> None:
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    _error(response, 422, "invalid_input")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/predict", content=b'{"texts": ["a"]}', headers=headers)
    assert "application/json" in _error(response, 415, "unsupported_media_type")


def test_a_body_over_the_byte_limit_is_refused_before_parsing(client: TestClient) -> None:
    raw = b'{"texts": ["' + b"x" * 200_000 + b'"]}'
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert "over the limit" in _error(response, 413, "too_large")


def test_a_chunked_body_over_the_byte_limit_is_refused(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"texts": ["'
        for _ in range(40):
            yield b"y" * 5000
        yield b'"]}'

    response = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    _error(response, 413, "too_large")


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    assert "/nowhere" in _error(client.get("/nowhere"), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("GET", "/predict"), ("DELETE", "/health")])
def test_wrong_method_is_a_json_405(client: TestClient, method: str, path: str) -> None:
    detail = _error(client.request(method, path), 405, "method_not_allowed")
    assert method in detail


def test_the_server_keeps_answering_after_bad_requests(client: TestClient) -> None:
    client.post("/predict", content=b"{", headers={"content-type": "application/json"})
    client.post("/predict", json={"texts": [1]})
    response = client.post("/predict", json={"texts": ["brasserie"]})
    assert response.status_code == 200


def test_an_unexpected_error_is_a_500_without_traceback(
    served: ServedModel, settings: Settings
) -> None:
    app = create_app(served, settings)

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode")
    detail = _error(response, 500, "internal_error")
    assert "secret" not in response.text and "RuntimeError" not in detail


# -- probes, info and docs ------------------------------------------------------------


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "alive"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_root_describes_the_model(client: TestClient) -> None:
    assert client.get("/").json() == {
        "name": "nace",
        "version": "7",
        "labels": len(VOCABULARY),
        "model_uri": "models:/nace/7",
        "auto_coding_threshold": 0.8,  # the project's: this model carries none
    }


def test_docs_document_the_predict_contract(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    request = predict["requestBody"]["content"]["application/json"]["schema"]
    assert set(request["properties"]) == {"texts", "k"}
    answer = predict["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/PredictResponse")
    assert {"413", "415", "422", "503"} <= set(predict["responses"])
    assert "Candidate" in spec["components"]["schemas"]


# -- loading from the registry --------------------------------------------------------


@pytest.fixture
def app_without_model(tmp_path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings(home=tmp_path / "home", serve=ServeSettings(model="absent@production"))
    return create_app(settings=settings)


def test_a_missing_model_keeps_health_up_and_ready_503(app_without_model: FastAPI) -> None:
    with TestClient(app_without_model) as client:
        assert client.get("/health").status_code == 200
        app_without_model.state.holder.loading.join()
        detail = _error(client.get("/ready"), 503, "unavailable")
        assert "absent" in detail
        _error(client.post("/predict", json={"texts": ["a"]}), 503, "unavailable")
        _error(client.get("/"), 503, "unavailable")
