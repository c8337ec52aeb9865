"""Robustness: schemathesis against the API's own OpenAPI, body limits and deadlines."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import random
import socket
import string
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from mlcycle.core.errors import InvalidInput, MlcycleError, Unavailable
from mlcycle.core.settings import Settings
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.loadtest import Target, run_loadtest
from mlcycle.serve.predict import body_chunks
from mlcycle.serve.responses import HttpError
from mlcycle.serve.validation import Limits, parse_predict, read_body
from tests.tabular import served_tabular, tabular_settings
from tests.unit.test_serve_app import _rows

KEY = "schemathesis-key-0123456789"
HEADERS = {"Authorization": f"Bearer {KEY}"}
HEADERS_RAW = [(b"authorization", f"Bearer {KEY}".encode())]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    texts, labels = _rows(300, seed=4)
    classifier = FastTextClassifier(dim=8, epoch=10, minCount=1, bucket=2000, wordNgrams=1)
    served = ServedModel("nace", "2", classifier.fit(texts, labels), "models:/nace/2")
    auth = {"enabled": True, "keys": {"fuzzer": hashlib.sha256(KEY.encode()).hexdigest()}}
    home = tmp_path_factory.mktemp("home")
    return create_app(served, Settings(home=home, serve={"max_batch": 20, "auth": auth}))


# A body the schema forbids is refused as malformed (422) or too large (413), never
# looked up (404) or stored; a mangled key header is refused as such (401, 403).
REFUSED = {"checks": {"negative_data_rejection": {"expected-statuses": [401, 403, 413, 422]}}}


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    config = SchemathesisConfig.from_dict(REFUSED)
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=HEADERS, config=config)


OPERATIONS = [
    ("POST", "/predict"), ("POST", "/feedback"), ("POST", "/admin/reload"), ("GET", "/metrics"),
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/"),
]  # fmt: skip


def test_every_operation_is_covered(api_schema: Any) -> None:
    documented = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


# schemathesis's own pytest plugin (``from_fixture``) does not run under pytest 9, so
# its strategies drive plain Hypothesis tests here, one per operation and mode.
# Operations without a body or parameters have no way to break the schema.
CASES = [(*op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    ("POST", "/predict", GenerationMode.NEGATIVE), ("POST", "/feedback", GenerationMode.NEGATIVE),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_generated_request_gets_a_5xx(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    """Requests that fit the schema and requests that break it: never a server error."""
    operation = api_schema[path][method]
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def check(case: Any) -> None:
        for headers in (HEADERS, None):  # with the key, then without
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{method} {path} {case.body!r}: {response.text}"

    check()
    needs_key = path not in ("/health", "/ready", "/metrics")
    assert statuses and (401 in statuses) == needs_key  # the key was checked where needed


@pytest.mark.parametrize("path", ["/predict", "/feedback"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_server_accepts_what_its_schema_allows_and_refuses_the_rest(
    api_schema: Any, path: str, mode: GenerationMode
) -> None:
    """The published schema says what the server does: no valid body gets a 413/415/422
    (an unknown request id is still a 404), no invalid one gets past validation."""
    operation = api_schema[path]["POST"]
    check = positive_data_acceptance if mode is GenerationMode.POSITIVE else negative_data_rejection

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=60, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def conforms(case: Any) -> None:
        case.validate_response(case.call(headers=HEADERS), checks=[check], headers=HEADERS)

    conforms()


# -- a tabular model's records, held to the schema made from its columns and classes ------


@pytest.fixture(scope="module", params=["classification", "regression"])
def tabular_schema(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tabular app (numbers, a category, a flag; dates are left out: the calendar a
    date must be on is checked by the model, not by the schema) and its OpenAPI."""
    auth = {"enabled": True, "keys": {"fuzzer": hashlib.sha256(KEY.encode()).hexdigest()}}
    settings = tabular_settings(tmp_path_factory.mktemp("home"), request.param, max_batch=20,
                                auth=auth, max_value_chars=40)  # fmt: skip
    app = create_app(served_tabular(request.param, dates=False), settings)
    config = SchemathesisConfig.from_dict(REFUSED)
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=HEADERS, config=config)


@pytest.mark.parametrize("path", ["/predict", "/feedback"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_a_tabular_server_accepts_what_its_schema_allows_and_refuses_the_rest(
    tabular_schema: Any, path: str, mode: GenerationMode
) -> None:
    operation = tabular_schema[path]["POST"]
    check = positive_data_acceptance if mode is GenerationMode.POSITIVE else negative_data_rejection

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=60, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def conforms(case: Any) -> None:
        response = case.call(headers=HEADERS)
        assert response.status_code < 500, f"{path} {case.body!r}: {response.text}"
        case.validate_response(response, checks=[check], headers=HEADERS)

    conforms()


def test_the_tabular_schema_types_every_column(tabular_schema: Any) -> None:
    body = tabular_schema.raw_schema["paths"]["/predict"]["post"]["requestBody"]
    ours = body["content"]["application/json"]["schema"]["anyOf"][0]
    record = ours["properties"]["records"]["items"]
    assert record["required"] == ["x", "z", "city", "smoker"]
    assert record["additionalProperties"] is False
    assert record["properties"]["smoker"]["anyOf"][0] == {"type": ["boolean", "null"]}
    assert ours["properties"]["records"]["maxItems"] == 20


def test_the_schema_says_what_a_text_is_and_that_ids_are_checked(api_schema: Any) -> None:
    """A text is non-blank (anything else is answered with an error, not refused)."""
    bodies = api_schema.raw_schema["paths"]
    text = bodies["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    item = bodies["/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    texts = text["properties"]["texts"]
    valid = texts["items"]["anyOf"][0]
    assert valid["minLength"] == 1 and valid["pattern"] == r"\S"
    assert texts["maxItems"] == 20  # this server's batch limit
    request_id = item["anyOf"][0]["properties"]["request_id"]
    assert request_id["pattern"].startswith("^[0-9a-f]{8}-")


def test_a_declared_oversized_body_is_413_before_any_route_reads_it(app: Any) -> None:
    with TestClient(app) as client:
        for path in ("/predict", "/feedback"):
            response = client.post(
                path,
                content=b"[]",  # what is declared is checked, not what arrives
                headers={**HEADERS, "content-type": "application/json",
                         "content-length": str(10**9)},
            )  # fmt: skip
            assert response.status_code == 413, path
            assert response.json()["error"] == "too_large"


def test_a_body_trickling_past_the_deadline_is_a_408() -> None:
    async def trickle() -> bytes:
        sent = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            sent += 1
            if sent > 1:
                await asyncio.sleep(0.2)
            return {"type": "http.request", "body": b"x", "more_body": True}

        limits = Limits(max_batch=1, max_text_chars=1, max_k=1, max_body_bytes=100,
                        body_timeout_s=0.5)  # fmt: skip
        return await read_body(body_chunks(receive, limits.body_timeout_s), limits)

    with pytest.raises(HttpError) as caught:
        asyncio.run(trickle())
    assert caught.value.status == 408
    assert b"did not arrive within 0.5 seconds" in caught.value.body


def test_a_body_in_several_chunks_within_the_deadline_is_read_whole() -> None:
    async def chunks() -> bytes:
        parts = [b'{"texts": ', b'["a"]', b"}"]

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(0.01)
            body = parts.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(parts)}

        limits = Limits(max_batch=1, max_text_chars=1, max_k=1, max_body_bytes=100)
        return await read_body(body_chunks(receive, 5.0), limits)

    assert asyncio.run(chunks()) == b'{"texts": ["a"]}'


def _read(body: bytes, limits: Limits) -> bytes:
    async def chunks() -> Any:
        yield body

    return asyncio.run(read_body(chunks(), limits))


def test_millions_of_tiny_items_are_refused_before_they_are_parsed() -> None:
    """Four million empty lists fit in 12 MB; parsed, they took 355 MB and a second."""
    limits = Limits.from_settings(Settings().serve)
    items = (limits.max_body_bytes - 100) // 3
    for unit in (b"[],", b"{},", b"0,", b'"",'):
        body = b'{"texts": [' + unit * items + b"0]}"
        assert len(body) <= limits.max_body_bytes
        tracemalloc.start()
        try:
            with pytest.raises(MlcycleError) as caught:
                _read(body, limits)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 2 * len(body), unit  # a copy of the body at most, no object per item
        assert caught.value.http_status == 413
        detail = str(caught.value)
        assert "1000 texts" in detail and detail.count(".") == 1, detail


@pytest.mark.parametrize(
    "texts",
    [
        ['é, [x] {y}: "q" \\ ' * 60] * 1000,  # escapes, brackets and commas in texts
        ["brasserie, menu"] * 1000,
    ],
)
def test_large_valid_bodies_pass_the_value_count(texts: list[str]) -> None:
    limits = Limits.from_settings(Settings().serve)
    for ensure_ascii in (True, False):
        body = json.dumps({"texts": texts, "k": 3}, ensure_ascii=ensure_ascii, indent=2)
        assert parse_predict(_read(body.encode(), limits), limits) == (texts, 3)
    feedback = [{"request_id": "0" * 36, "index": i, "true_code": "5610A"} for i in range(1000)]
    assert _read(json.dumps(feedback).encode(), limits)
    too_many = _read(json.dumps({"texts": texts + texts[:20]}).encode(), limits)
    with pytest.raises(MlcycleError, match="'texts' has 1020 items, more than the limit"):
        parse_predict(too_many, limits)


def test_feedback_bodies_are_held_to_the_same_value_count(app: Any) -> None:
    with TestClient(app) as client:
        response = client.post(
            "/feedback", content=b"[" + b"{}," * 60_000 + b"{}]",
            headers={**HEADERS, "content-type": "application/json"},
        )  # fmt: skip
    assert response.status_code == 413, response.text
    assert "more JSON values than 20 items need" in response.json()["detail"]


def test_a_refused_large_body_is_freed_without_a_garbage_collection(app: Any) -> None:
    """The server collects garbage rarely (settle_garbage_collector): what a refused
    request held must go with reference counting alone."""
    from mlcycle.serve.holder import ModelHolder
    from mlcycle.serve.predict import PredictService
    from mlcycle.serve.recorder import Recorder

    limits = Limits.from_settings(Settings().serve)
    served = app.state.holder.require().served
    service = PredictService(ModelHolder("nace/2", served), limits, Recorder(None, None))
    refused = [
        b'{"texts": [' + b"[]," * 1_000_000 + b"[]]}",  # by the value count
        json.dumps({"texts": ["brasserie " * 100] * 2000}).encode(),  # by the parser
    ]

    async def refuse(body: bytes) -> int:
        async def chunks() -> Any:
            yield body

        status, *_ = await service.respond("application/json", None, chunks())
        return status

    for body in refused:
        gc.disable()
        tracemalloc.start()
        try:
            statuses = [asyncio.run(refuse(body)) for _ in range(4)]
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            gc.enable()
        assert statuses == [413] * 4
        assert held < len(body)


def test_a_large_body_is_parsed_while_the_event_loop_answers_others(app: Any) -> None:
    """Without a clock: a /health sent once the big body is in is answered first."""
    big = b'{"texts": [' + b"[]," * 60_000 + b"[]]}"  # under this app's byte limit
    answered: list[tuple[str, int]] = []

    def call(path: str, body: bytes, on_body: Any = None) -> Any:
        method = "POST" if body else "GET"
        headers = [(b"content-type", b"application/json"), *HEADERS_RAW]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip

        async def receive() -> dict[str, Any]:
            if on_body is not None:
                on_body()
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered.append((path, message["status"]))

        return app(scope, receive, send)

    async def both() -> None:
        health: list[asyncio.Task[None]] = []
        await call("/predict", big, lambda: health.append(asyncio.create_task(
            call("/health", b""))))  # fmt: skip
        await health[0]

    asyncio.run(both())
    assert answered == [("/health", 200), ("/predict", 413)]


# -- the load-test library's own checks -------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", Target("127.0.0.1", 8000, "/predict", False)),
        ("127.0.0.1:9000/predict", Target("127.0.0.1", 9000, "/predict", False)),
        ("https://api.example/v1/predict", Target("api.example", 443, "/v1/predict", True)),
    ],
)
def test_load_test_targets(url: str, expected: Target) -> None:
    assert Target.parse(url) == expected


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"concurrency": 0}, "--concurrency"),
        ({"duration": 0}, "--duration"),
        ({"duration": 10_000}, "--duration"),
        ({"batch": 0}, "--batch"),
        ({"max_requests": 0}, "--max-requests"),
    ],
)
def test_load_test_limits(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        run_loadtest("http://127.0.0.1:1", texts=["x"], **kwargs)


def test_load_test_refuses_a_non_http_url() -> None:
    with pytest.raises(InvalidInput, match="not an http"):
        run_loadtest("ftp://127.0.0.1/", texts=["x"])


def test_load_test_says_when_nothing_answers(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unavailable, match="Nothing answers"):
        run_loadtest(f"http://127.0.0.1:{port}", duration=1, texts=["x"])


def _random_texts(rng: random.Random, count: int) -> list[str]:
    """Words never seen before, so every one goes through the stemmer."""
    letters = string.ascii_lowercase
    return [
        " ".join("".join(rng.choices(letters, k=rng.randint(6, 14))) for _ in range(10))
        for _ in range(count)
    ]


def test_concurrent_batches_and_single_texts_never_collide(app: Any) -> None:
    """Big batches run in worker threads while small ones run on the loop: the model
    (whose text cleaner is not thread-safe) must see one call at a time."""
    from mlcycle.serve.holder import ModelHolder
    from mlcycle.serve.predict import PredictService
    from mlcycle.serve.recorder import Recorder

    served = app.state.holder.require().served
    limits = Limits(max_batch=500, max_text_chars=500, max_k=3, max_body_bytes=10**7)
    service = PredictService(ModelHolder("nace/2", served), limits, Recorder(None, None))
    rng = random.Random(3)

    async def one(size: int) -> int:
        body = json.dumps({"texts": _random_texts(rng, size), "k": 3}).encode()

        async def chunks() -> Any:
            yield body

        status, answer, _, _ = await service.respond("application/json", None, chunks())
        assert status == 200, answer
        return status

    async def many() -> list[int]:
        return await asyncio.gather(*(one(200 if i % 2 else 3) for i in range(40)))

    assert asyncio.run(many()) == [200] * 40


def test_a_predictor_is_safe_to_share_between_threads(app: Any) -> None:
    predictor = app.state.holder.require()
    rng = random.Random(5)
    batches = [_random_texts(rng, 100) for _ in range(16)]
    errors: list[str] = []

    def work(texts: list[str]) -> None:
        try:
            predictor.answer(texts, 2, "rid")
        except Exception as exc:  # the failure this guards against is an IndexError
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
