"""``POST /feedback`` hardened: whose requests a key may label, duplicates, ids that were
never issued, log files a crash cut short, and bodies that are not JSON."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlcycle.core.settings import Settings
from mlcycle.data import predlog
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.registry.loading import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.logrecords import LogRecord, prediction_table
from tests.unit.test_serve_app import _rows

KEY, OTHER_KEY, ADMIN_KEY = (f"{name}-key-0123456789abcdef" for name in ("client", "other", "ops"))
KEYS = {
    "client": hashlib.sha256(KEY.encode()).hexdigest(),  # a bare digest: role client
    "other": {"digest": hashlib.sha256(OTHER_KEY.encode()).hexdigest(), "role": "client"},
    "ops": {"digest": hashlib.sha256(ADMIN_KEY.encode()).hexdigest(), "role": "admin"},
}
AS_CLIENT, AS_OTHER, AS_ADMIN = ({"X-API-Key": k} for k in (KEY, OTHER_KEY, ADMIN_KEY))
HOUR_AGO = time.time_ns() // 1_000_000 - 3_600_000


@pytest.fixture(scope="module")
def served() -> ServedModel:
    texts, labels = _rows(300, seed=5)
    classifier = FastTextClassifier(dim=8, epoch=10, minCount=1, bucket=2000, wordNgrams=1)
    return ServedModel("nace", "4", classifier.fit(texts, labels), "models:/nace/4")


def _settings(home: Path, auth: bool = True) -> Settings:
    return Settings(home=home, serve={"auth": {"enabled": auth, "keys": KEYS}})


@pytest.fixture
def client(served: ServedModel, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(served, _settings(tmp_path))) as test_client:
        yield test_client


def _logged(home: Path, ms: int, key: str | None, texts: int = 1) -> str:
    """A request answered an hour ago (so no lookup waits for it), in its own file."""
    rid = predlog.new_request_id(ms)
    record = LogRecord(rid, ms, "nace", "4", ["menu"] * texts, [["5610A"]] * texts,
                       [[0.9]] * texts, 2.0, key)  # fmt: skip
    predlog.write_partitioned(home / "predictions", prediction_table([record], None))
    return rid


def _feedback(client: TestClient, body: object, headers: dict[str, str]) -> tuple[int, str]:
    response = client.post("/feedback", json=body, headers=headers)
    return response.status_code, response.json().get("detail", "")


def _stored(client: TestClient, home: Path) -> list[tuple[str, str]]:
    client.__exit__(None, None, None)  # shut down: the writer flushes
    rows = predlog.read_log(home / "feedback", predlog.FEEDBACK_SCHEMA).to_pylist()
    return [(row["api_key"], row["true_code"]) for row in rows]


# -- whose requests a key may label ----------------------------------------------------


def test_a_key_labels_only_its_own_requests(client: TestClient, tmp_path: Path) -> None:
    rid = _logged(tmp_path, HOUR_AGO, "client")
    item = {"request_id": rid, "true_code": "5610A"}
    status, detail = _feedback(client, item, AS_OTHER)
    assert status == 404  # the same answer as for an id never issued: nothing leaks
    assert detail == (
        f"No logged prediction made with this API key has request id '{rid}'; send the "
        "request_id of an answer to a request made with the same key (records dropped when "
        "the log queue was full cannot be found)."
    )
    assert _feedback(client, item, AS_CLIENT)[0] == 200
    assert _feedback(client, {**item, "true_code": "4711D"}, AS_ADMIN)[0] == 200
    assert _stored(client, tmp_path) == [("client", "5610A"), ("ops", "4711D")]


def test_a_request_made_by_one_key_is_refused_to_another_live(client: TestClient) -> None:
    answer = client.post("/predict", json={"texts": ["brasserie"]}, headers=AS_CLIENT).json()
    other = client.post("/predict", json={"texts": ["taxi"]}, headers=AS_OTHER).json()
    items = [
        {"request_id": answer["request_id"], "true_code": "5610A"},
        {"request_id": other["request_id"], "true_code": "4932Z"},
    ]
    assert _feedback(client, items, AS_ADMIN) == (200, "")  # an admin labels any request
    assert _feedback(client, items[:1], AS_CLIENT)[0] == 200


def test_a_request_logged_without_a_key_is_labelled_by_admins_only(
    client: TestClient, tmp_path: Path
) -> None:
    rid = _logged(tmp_path, HOUR_AGO, None)  # answered while keys were off
    item = {"request_id": rid, "true_code": "5610A"}
    assert _feedback(client, item, AS_CLIENT)[0] == 404
    assert _feedback(client, item, AS_ADMIN)[0] == 200


def test_without_keys_anyone_labels_any_request(served: ServedModel, tmp_path: Path) -> None:
    rid = _logged(tmp_path, HOUR_AGO, "client")
    with TestClient(create_app(served, _settings(tmp_path, auth=False))) as client:
        assert _feedback(client, {"request_id": rid, "true_code": "5610A"}, {})[0] == 200


# -- one true code per text --------------------------------------------------------------


def test_a_text_named_twice_in_one_body_is_refused(client: TestClient, tmp_path: Path) -> None:
    batch = _logged(tmp_path, HOUR_AGO, "client", texts=3)
    single = _logged(tmp_path, HOUR_AGO + 1, "client")
    items = [
        {"request_id": batch, "index": 1, "true_code": "5610A"},
        {"request_id": batch, "index": 2, "true_code": "5610A"},
        {"request_id": batch, "index": 1, "true_code": "4711D"},
    ]
    status, detail = _feedback(client, items, AS_CLIENT)
    assert status == 422
    assert detail.startswith(f"feedback[0] and feedback[2] both give the truth of input 1 "
                             f"of request '{batch}'")  # fmt: skip
    same = [{"request_id": single, "true_code": "5610A"},
            {"request_id": single, "index": 0, "true_code": "5610A"}]  # fmt: skip
    assert _feedback(client, same, AS_CLIENT)[1].startswith("feedback[0] and feedback[1]")
    assert _stored(client, tmp_path) == []  # nothing of a refused body is kept


def test_a_later_label_is_stored_beside_the_first_and_read_as_the_latest(
    client: TestClient, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from mlcycle.monitor.logstore import LogStore
    from mlcycle.monitor.policy import labelled_texts

    rid = _logged(tmp_path, HOUR_AGO, "client")
    for code in ("4711D", "5610A"):
        assert _feedback(client, {"request_id": rid, "true_code": code}, AS_CLIENT)[0] == 200
        time.sleep(0.002)  # two feedback times, so "latest" has one meaning
    assert _stored(client, tmp_path) == [("client", "4711D"), ("client", "5610A")]
    store = LogStore(tmp_path / "predictions", tmp_path / "feedback")
    now = datetime.now(UTC)
    labels = labelled_texts(store, now - timedelta(days=1), now + timedelta(minutes=1))
    assert labels.column("label").to_pylist() == ["5610A"]


# -- ids that were never issued ----------------------------------------------------------


def test_an_id_dated_in_the_future_is_a_404_at_once(client: TestClient) -> None:
    # Half a minute ahead: more than clocks differ, so never issued; no wait for it.
    rid = predlog.new_request_id(time.time_ns() // 1_000_000 + 30_000)
    status, detail = _feedback(client, {"request_id": rid, "true_code": "5610A"}, AS_CLIENT)
    assert status == 404 and "its time is in the future" in detail


# -- log files a crash cut short -------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 0.5], ids=["empty", "cut-short"])
def test_an_unreadable_log_file_is_skipped_and_named(
    client: TestClient, tmp_path: Path, cut: float, caplog: pytest.LogCaptureFixture
) -> None:
    lost = _logged(tmp_path, HOUR_AGO, "client")
    kept = _logged(tmp_path, HOUR_AGO + 5, "client")
    [victim] = (tmp_path / "predictions").rglob(f"part-{HOUR_AGO}-{HOUR_AGO}-*.parquet")
    data = victim.read_bytes()
    victim.write_bytes(data[: int(len(data) * cut)])
    # A file whose time range covers both requests, empty as a crash can leave it.
    (victim.parent / f"part-{HOUR_AGO}-{HOUR_AGO + 5}-0bad.parquet").write_bytes(b"")
    caplog.set_level(logging.WARNING, logger="mlcycle.serve.feedback")
    assert _feedback(client, {"request_id": kept, "true_code": "5610A"}, AS_CLIENT) == (200, "")
    status, _ = _feedback(client, {"request_id": lost, "true_code": "5610A"}, AS_CLIENT)
    assert status == 404  # its only file is unreadable
    named = [r.getMessage() for r in caplog.records if str(victim) in r.getMessage()]
    assert len(named) == 1 and "cut short" in named[0]  # said once, not on every request


# -- bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}],
)
def test_feedback_that_is_not_json_is_a_415_like_predict(
    client: TestClient, tmp_path: Path, headers: dict[str, str]
) -> None:
    rid = _logged(tmp_path, HOUR_AGO, "client")
    body = f'{{"request_id": "{rid}", "true_code": "5610A"}}'.encode()
    for path in ("/feedback", "/predict"):
        response = client.post(path, content=body, headers={**AS_CLIENT, **headers})
        assert response.status_code == 415, (path, response.text)
        assert response.json()["error"] == "unsupported_media_type"


def test_a_whole_float_is_an_integer_as_in_the_schema(client: TestClient, tmp_path: Path) -> None:
    rid = _logged(tmp_path, HOUR_AGO, "client", texts=2)
    item = {"request_id": rid, "index": 1.0, "true_code": "5610A"}  # JSON Schema: an integer
    assert _feedback(client, item, AS_CLIENT) == (200, "")
    assert _feedback(client, {**item, "index": 0.5}, AS_CLIENT)[0] == 422
    answer = client.post("/predict", json={"texts": ["taxi"], "k": 2.0}, headers=AS_CLIENT)
    assert answer.status_code == 200 and len(answer.json()["predictions"][0]) == 2
