"""Production features in-process: request ids, the log, feedback, keys, metrics."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlcycle.core.settings import Settings
from mlcycle.core.settings.serve import ApiKey
from mlcycle.data import predlog
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.metrics import forget_dead_processes
from tests.unit.test_serve_app import _rows

KEY = "k-0123456789abcdef-secret"
OTHER_KEY = "k-fedcba9876543210-other"
KEYS = {
    "batch-client": hashlib.sha256(KEY.encode()).hexdigest(),
    "other": hashlib.sha256(OTHER_KEY.encode()).hexdigest(),
}
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def served() -> ServedModel:
    texts, labels = _rows(400, seed=1)
    classifier = FastTextClassifier(
        dim=16, epoch=20, minCount=1, bucket=5000, wordNgrams=1, thread=1, lr=0.5, seed=3
    )
    classifier.fit(texts, labels)
    return ServedModel(name="nace", version="7", model=classifier, model_uri="models:/nace/7")


def _settings(home: Path, **serve: object) -> Settings:
    return Settings(home=home, serve={"max_batch": 100, **serve})


@pytest.fixture
def client(served: ServedModel, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(served, _settings(tmp_path))) as test_client:
        yield test_client


def _predict(client: TestClient, texts: list[str], **headers: str) -> dict:
    response = client.post("/predict", json={"texts": texts, "k": 2}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- request ids and the prediction log -----------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "fastapi-route"])
def test_each_answer_has_a_request_id_in_body_and_header(
    served: ServedModel, tmp_path: Path, fast_path: bool
) -> None:
    with TestClient(create_app(served, _settings(tmp_path), fast_path=fast_path)) as client:
        response = client.post("/predict", json={"texts": ["brasserie"]})
        again = client.post("/predict", json={"texts": ["brasserie"]})
        refused = client.post("/predict", json={"texts": []})
    rid = response.json()["request_id"]
    assert response.headers["x-request-id"] == rid
    assert uuid.UUID(rid).version == 7
    assert again.json()["request_id"] != rid
    assert refused.status_code == 422 and "x-request-id" in refused.headers
    assert "request_id" not in refused.json()  # error bodies keep their two fields
    rows = predlog.read_log(tmp_path / "predictions")
    assert rows.column("request_id").to_pylist() == [rid, again.json()["request_id"]]


def test_every_answered_text_is_logged_on_shutdown(served: ServedModel, tmp_path: Path) -> None:
    settings = _settings(tmp_path, auth={"enabled": True, "keys": KEYS})
    with TestClient(create_app(served, settings)) as client:
        single = _predict(client, ["salon de coiffure"], **BEARER)
        batch = _predict(client, [f"restaurant menu {i}" for i in range(70)], **{"X-API-Key": KEY})
    rows = predlog.read_log(tmp_path / "predictions").to_pylist()
    assert len(rows) == 71
    first = next(r for r in rows if r["request_id"] == single["request_id"])
    assert first["text"] == "salon de coiffure" and first["api_key"] == "batch-client"
    assert first["codes"] == [c["code"] for c in single["predictions"][0]]
    assert first["model_name"] == "nace" and first["model_version"] == "7"
    assert first["latency_ms"] > 0
    batch_rows = [r for r in rows if r["request_id"] == batch["request_id"]]
    assert sorted(r["index"] for r in batch_rows) == list(range(70))
    assert {r["batch_size"] for r in batch_rows} == {70}
    raw = b"".join(p.read_bytes() for p in (tmp_path / "predictions").rglob("*.parquet"))
    assert KEY.encode() not in raw


def test_log_text_false_stores_a_salted_hash(served: ServedModel, tmp_path: Path) -> None:
    log = {"log_text": False, "salt": "a-salt-of-enough-characters"}
    with TestClient(create_app(served, _settings(tmp_path, prediction_log=log))) as client:
        _predict(client, ["épicerie fine"])
    [row] = predlog.read_log(tmp_path / "predictions").to_pylist()
    assert row["text"] is None and len(row["text_hash"]) == 64
    raw = b"".join(p.read_bytes() for p in (tmp_path / "predictions").rglob("*.parquet"))
    assert "épicerie".encode() not in raw


def test_the_log_can_be_turned_off(served: ServedModel, tmp_path: Path) -> None:
    log = {"enabled": False}
    with TestClient(create_app(served, _settings(tmp_path, prediction_log=log))) as client:
        answer = _predict(client, ["taxi"])
        feedback = client.post(
            "/feedback", json={"request_id": answer["request_id"], "true_code": "4932Z"}
        )
    assert not (tmp_path / "predictions").exists()
    assert feedback.status_code == 409 and "prediction_log.enabled" in feedback.json()["detail"]


def test_a_full_log_queue_never_fails_a_prediction(served: ServedModel, tmp_path: Path) -> None:
    log = {"max_queue": 5, "flush_seconds": 300}
    with TestClient(create_app(served, _settings(tmp_path, prediction_log=log))) as client:
        for _ in range(4):
            _predict(client, ["chantier", "maisons"])
        text = client.get("/metrics").text
    assert 'mlcycle_prediction_log_records_total{outcome="dropped"} 4.0' in text
    assert predlog.read_log(tmp_path / "predictions").num_rows == 4


# -- feedback -------------------------------------------------------------------------


def test_feedback_single_and_batch_is_stored(client: TestClient, tmp_path: Path) -> None:
    one = _predict(client, ["brasserie, plats du jour"])
    two = _predict(client, ["logiciel web", "salon coupe"])
    stored = client.post("/feedback", json={"request_id": one["request_id"], "true_code": "56.10a"})
    assert stored.status_code == 200 and stored.json() == {"stored": 1}
    items = [
        {"request_id": two["request_id"], "index": 0, "true_code": "6201Z"},
        {"request_id": two["request_id"], "index": 1, "true_code": "9602 A"},
    ]
    assert client.post("/feedback", json=items).json() == {"stored": 2}
    client.__exit__(None, None, None)  # shut down: the writer flushes
    rows = predlog.read_log(tmp_path / "feedback", predlog.FEEDBACK_SCHEMA).to_pylist()
    assert [(r["index"], r["true_code"]) for r in rows] == [
        (0, "5610A"),
        (0, "6201Z"),
        (1, "9602A"),
    ]
    assert rows[0]["predicted_code"] == one["predictions"][0][0]["code"]
    assert rows[1]["model_version"] == "7"


@pytest.mark.parametrize(
    ("item", "status", "words"),
    [
        ({"true_code": "5610A"}, 422, "request_id must be the request_id of an answer"),
        ({"request_id": "abc", "true_code": "5610A"}, 422, 'not "abc"'),
        ({"request_id": "RID", "true_code": "56.1"}, 422, "true_code must be a naf-rev2 code"),
        ({"request_id": "RID", "true_code": 5610}, 422, "not 5610"),
        ({"request_id": "RID", "true_code": "5610A", "index": 2}, 422, "had 2 input(s)"),
        ({"request_id": "RID", "true_code": "5610A"}, 422, "has no 'index'"),
        ({"request_id": "RID", "true_code": "5610A", "index": -1}, 422, "integer from 0"),
        # Past the batch limit no request can hold it: refused before any look-up.
        ({"request_id": "OLD", "true_code": "5610A", "index": 10**6}, 422, "integer from 0 to"),
        ({"request_id": "RID", "true_code": "5610A", "why": 1}, 422, "unknown field 'why'"),
        ({"request_id": "OLD", "true_code": "5610A"}, 404, "No logged prediction"),
    ],
)
def test_bad_feedback_gets_one_clear_sentence(
    client: TestClient, item: dict, status: int, words: str
) -> None:
    rid = _predict(client, ["code web", "salon"])["request_id"]
    old = predlog.new_request_id(time.time_ns() // 1_000_000 - 3_600_000)
    body = {k: {"RID": rid, "OLD": old}.get(v, v) for k, v in item.items()}  # type: ignore[call-overload]
    response = client.post("/feedback", json=[body])
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert client.post("/feedback", content=b"{", headers={"content-type": "application/json"}
                       ).status_code == 422  # fmt: skip


def test_feedback_finds_ids_written_before_a_restart(served: ServedModel, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with TestClient(create_app(served, settings)) as client:
        rid = _predict(client, ["supermarché"])["request_id"]
    with TestClient(create_app(served, settings)) as client:
        response = client.post("/feedback", json={"request_id": rid, "true_code": "4711D"})
    assert response.status_code == 200, response.text


# -- API keys -------------------------------------------------------------------------


def test_keys_401_without_403_wrong_200_right(
    served: ServedModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, auth={"enabled": True, "keys": KEYS})
    body = {"texts": ["coiffure"]}
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(served, settings)) as client:
        missing = client.post("/predict", json=body)
        wrong = client.post("/predict", json=body, headers={"X-API-Key": "nope" * 5})
        malformed = client.post("/predict", json=body, headers={"Authorization": f"Basic {KEY}"})
        other = client.post("/predict", json=body, headers={"Authorization": f"bearer {OTHER_KEY}"})
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/").status_code == 401
        assert client.post("/admin/reload").status_code == 401
        assert client.post("/feedback", json={}).status_code == 401
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    assert wrong.status_code == 403 and wrong.json()["error"] == "forbidden"
    assert malformed.status_code == 401 and "Bearer KEY" in malformed.json()["detail"]
    assert other.status_code == 200
    [row] = predlog.read_log(tmp_path / "predictions").to_pylist()
    assert row["api_key"] == "other"
    assert KEY not in caplog.text and OTHER_KEY not in caplog.text


def test_admin_routes_need_a_key_with_the_admin_role(served: ServedModel, tmp_path: Path) -> None:
    admin_key = "k-0123456789abcdef-admin"
    keys = {**KEYS, "ops": {"digest": hashlib.sha256(admin_key.encode()).hexdigest(),
                            "role": "admin"}}  # fmt: skip
    settings = _settings(tmp_path, auth={"enabled": True, "keys": keys})
    with TestClient(create_app(served, settings)) as client:
        as_client = client.post("/admin/reload", headers=BEARER)
        as_admin = client.post("/admin/reload", headers={"X-API-Key": admin_key})
        assert _predict(client, ["taxi"], **{"X-API-Key": admin_key})["request_id"]
        assert client.post("/predict", json={"texts": ["taxi"]}, headers=BEARER).status_code == 200
    assert as_client.status_code == 403 and as_client.json() == {
        "error": "forbidden",
        "detail": "/admin/reload needs a key with the admin role; this one is a client key.",
    }
    assert as_admin.status_code == 409  # past the key check: a fixed model has no reload


def test_a_key_is_a_bare_digest_or_a_digest_with_a_role() -> None:
    digest = KEYS["other"]
    both = {"a": digest, "b": {"digest": KEYS["batch-client"], "role": "admin"}}
    keys = Settings(serve={"auth": {"keys": both}}).serve.auth.keys
    assert (keys["a"].digest, keys["a"].role) == (digest, "client")  # the first form still works
    assert keys["b"].role == "admin"
    for wrong in ({"digest": digest, "role": "root"}, {"digest": digest, "roles": ["admin"]}):
        with pytest.raises(ValueError, match="role"):
            Settings(serve={"auth": {"keys": {"a": wrong}}})


def test_open_paths_are_configurable(served: ServedModel, tmp_path: Path) -> None:
    settings = _settings(tmp_path, auth={"enabled": True, "keys": KEYS, "open_paths": []})
    with TestClient(create_app(served, settings)) as client:
        assert client.get("/health").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=BEARER).status_code == 200


def test_openapi_declares_the_key_schemes(served: ServedModel, tmp_path: Path) -> None:
    settings = _settings(tmp_path, auth={"enabled": True, "keys": KEYS})
    with TestClient(create_app(served, settings)) as client:
        spec = client.get("/openapi.json", headers=BEARER).json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert spec["paths"]["/predict"]["post"]["security"]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_the_docs_page_loads_its_schema_without_a_key(served: ServedModel, tmp_path: Path) -> None:
    """What a browser does: open /docs, then the page fetches /openapi.json, no key."""
    settings = _settings(tmp_path, auth={"enabled": True, "keys": KEYS})
    with TestClient(create_app(served, settings)) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "/openapi.json" in page.text
        schema = client.get("/openapi.json")
        assert schema.status_code == 200 and "/predict" in schema.json()["paths"]
        assert client.get("/redoc").status_code == 200
        assert client.post("/predict", json={"texts": ["taxi"]}).status_code == 401
        assert client.get("/").status_code == 401
    hidden = _settings(tmp_path, auth={"enabled": True, "keys": KEYS, "open_paths": ["/health"]})
    with TestClient(create_app(served, hidden)) as client:
        assert client.get("/openapi.json").status_code == 401  # docs left out: closed


@pytest.mark.parametrize(
    ("auth", "words"),
    [
        ({"enabled": True}, "no keys are configured"),
        ({"keys": {"ci": KEY}}, "sha256 hex digest of the key"),
        ({"keys": {"a b": KEYS["other"]}}, "letters, digits"),
        ({"open_paths": ["/admin/reload"]}, "cannot be open"),
    ],
)
def test_bad_key_settings_are_refused(auth: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Settings(serve={"auth": auth})


def test_a_body_deadline_must_end_before_the_shutdown_grace() -> None:
    with pytest.raises(ValueError, match="must be shorter than shutdown_grace_s"):
        Settings(serve={"body_timeout_s": 30, "shutdown_grace_s": 20})
    assert Settings(serve={"body_timeout_s": 30, "shutdown_grace_s": 40}).serve.body_timeout_s


def test_hashing_a_text_log_needs_a_salt() -> None:
    with pytest.raises(ValueError, match="salt must be a secret"):
        Settings(serve={"prediction_log": {"log_text": False}})


# -- metrics --------------------------------------------------------------------------


def _sample(text: str, line_start: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(line_start))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_count_requests_predictions_and_the_model(client: TestClient) -> None:
    _predict(client, ["salon de coiffure", "coupe barbier", "brasserie"])
    _predict(client, ["logiciel"])
    client.post("/predict", json={"texts": []})
    client.get("/nowhere/at/all")
    text = client.get("/metrics").text
    assert _sample(text, 'mlcycle_http_requests_total{route="/predict",status="200"}') == 2
    assert _sample(text, 'mlcycle_http_requests_total{route="/predict",status="422"}') == 1
    assert _sample(text, 'mlcycle_http_requests_total{route="other",status="404"}') == 1
    assert _sample(text, 'mlcycle_predictions_total{code="9602A"}') == 2
    assert _sample(text, 'mlcycle_predictions_total{code="5610A"}') == 1
    assert _sample(text, "mlcycle_prediction_top1_probability_count") == 4
    assert _sample(text, 'mlcycle_prediction_texts_per_request_bucket{le="2.0"}') == 1
    assert _sample(text, 'mlcycle_prediction_texts_per_request_bucket{le="5.0"}') == 2
    assert _sample(text, 'mlcycle_http_request_duration_seconds_count{route="/predict"}') == 3
    assert _sample(text, 'mlcycle_model_info{name="nace",version="7"}') == 1
    assert _sample(text, "mlcycle_http_requests_in_flight") == 1  # this scrape
    assert "mlcycle_prediction_log_records_total" in text


@pytest.mark.parametrize("threshold", [0.0, 0.5, 1.0])
def test_the_auto_codable_counter_counts_what_answers_said(
    served: ServedModel, tmp_path: Path, threshold: float
) -> None:
    settings = Settings(home=tmp_path, monitor={"auto_coding_threshold": threshold})
    texts = ["salon de coiffure", "coupe barbier", "brasserie", "logiciel", "123 !!!"]
    with TestClient(create_app(served, settings)) as client:
        flags = [flag for text in texts for flag in _predict(client, [text])["auto_codable"]]
        counted = _sample(client.get("/metrics").text, "mlcycle_predictions_auto_codable_total")
    assert counted == sum(flags)
    # Threshold 0: every text with words is auto-codable, the one left empty is not.
    assert threshold > 0 or flags == [True, True, True, True, False]
    assert threshold < 1 or not any(flags)


def test_bulk_histogram_updates_match_one_by_one() -> None:
    import numpy as np
    import prometheus_client as pc

    from mlcycle.serve.metrics import observe_many

    registry = pc.CollectorRegistry()
    one = pc.Histogram("one", "h", buckets=(0.1, 0.5, 1.0), registry=registry)
    bulk = pc.Histogram("bulk", "h", buckets=(0.1, 0.5, 1.0), registry=registry)
    values = np.array([0.05, 0.1, 0.1000001, 0.5, 0.7, 1.0, 3.0])
    for value in values:
        one.observe(float(value))
    observe_many(bulk, values)
    text = pc.generate_latest(registry).decode()
    for suffix in ('_bucket{le="0.1"}', '_bucket{le="0.5"}', '_bucket{le="+Inf"}', "_sum"):
        assert _sample(text, "one" + suffix) == _sample(text, "bulk" + suffix)


def test_metrics_forget_the_live_gauges_of_dead_processes(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid, live_pid = int(dead.stdout), os.getpid()
    names = [f"gauge_liveall_{dead_pid}.db", f"gauge_livesum_{dead_pid}.db",
             f"counter_{dead_pid}.db", f"gauge_liveall_{live_pid}.db"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_bytes(b"")
    forget_dead_processes(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def test_metrics_can_be_turned_off(served: ServedModel, tmp_path: Path) -> None:
    with TestClient(create_app(served, _settings(tmp_path, metrics=False))) as client:
        _predict(client, ["taxi"])
        assert client.get("/metrics").status_code == 404


def test_the_production_example_turns_keys_and_the_log_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlcycle.core.settings import get_settings

    example = Path(__file__).parents[2] / "examples" / "production" / "mlcycle.yaml"
    monkeypatch.setenv("MLCYCLE_PROJECT", str(example))
    get_settings.cache_clear()
    try:
        serve = get_settings().serve
    finally:
        get_settings.cache_clear()
    assert serve.auth.enabled and serve.auth.keys and serve.prediction_log.enabled
    assert serve.metrics and serve.workers == 2
    assert serve.host == "127.0.0.1"  # exposed on purpose, with --host
    assert {"/docs", "/openapi.json"} <= set(serve.auth.open_paths)
    assert Settings.model_fields["serve"].default_factory().auth.enabled is False


def test_hash_key_prints_the_settings_entry() -> None:
    import yaml
    from typer.testing import CliRunner

    from mlcycle.cli.main import app
    from mlcycle.core.errors import InvalidInput

    runner = CliRunner()
    done = runner.invoke(app, ["serve", "hash-key", "--name", "ci"], input=f"{KEY}\n")
    assert done.exit_code == 0, done.output
    assert KEY not in done.output
    [key] = Settings(**yaml.safe_load(done.output)).serve.auth.keys.items()
    assert key == ("ci", ApiKey(digest=KEYS["batch-client"], role="client"))
    admin = runner.invoke(app, ["serve", "hash-key", "--role", "admin"], input=f"{KEY}\n")
    assert Settings(**yaml.safe_load(admin.output)).serve.auth.keys["client"].role == "admin"
    fresh = runner.invoke(app, ["serve", "hash-key", "--generate"])
    key = fresh.output.split("shown once): ")[1].split()[0]
    assert hashlib.sha256(key.encode()).hexdigest() in fresh.output and len(key) >= 32
    short = runner.invoke(app, ["serve", "hash-key"], input="short\n")
    assert isinstance(short.exception, InvalidInput) and "at least 16" in short.exception.message
    wrong = runner.invoke(app, ["serve", "hash-key", "--role", "root"], input=f"{KEY}\n")
    assert isinstance(wrong.exception, InvalidInput)
    assert "use client or admin" in wrong.exception.message


def test_the_log_and_feedback_can_live_on_object_storage(
    served: ServedModel, tmp_path: Path
) -> None:
    bucket = f"memory://bucket-{uuid.uuid4().hex}"
    log = {"dir": f"{bucket}/predictions", "feedback_dir": f"{bucket}/feedback"}
    settings = _settings(tmp_path, prediction_log=log)
    with TestClient(create_app(served, settings)) as client:
        rid = _predict(client, ["menu brasserie"])["request_id"]
    with TestClient(create_app(served, settings)) as client:  # found in storage, not memory
        response = client.post("/feedback", json={"request_id": rid, "true_code": "5610A"})
    assert response.status_code == 200, response.text
    assert predlog.read_log(f"{bucket}/predictions").num_rows == 1
    assert predlog.read_log(f"{bucket}/feedback", predlog.FEEDBACK_SCHEMA).num_rows == 1
    assert not (tmp_path / "predictions").exists()
