"""A text project with categorical columns beside the text, from ``data add`` to HTTP.

The project reads the coding API's columns (``type_``, ``nature``, ``surface``,
``event``): the dataset keeps them, training feeds them to the model, the registered
pyfunc and ``mlcycle serve`` take them, each optional.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data import predlog
from mlcycle.data.ingest import add_dataset
from mlcycle.data.store import read_table, resolve
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.ops import set_alias
from mlcycle.serve.app import create_app
from mlcycle.serve.journal import journal_folder
from mlcycle.tasks.text.activity_columns import NAMES
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import TrainResult, train_model
from tests.conftest import project_path, write_project

MLCYCLE = str(Path(sys.executable).with_name("mlcycle"))
SMALL = {"dim": 24, "epoch": 10, "bucket": 20_000, "thread": 1}
COLUMNS = list(NAMES)
STARTUP_LIMIT_S = 120  # a guard against hanging, not a speed requirement


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("categories") / "home"
    write_project(home, f"data: {{features: [text, {', '.join(COLUMNS)}]}}")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("MLCYCLE_HOME", str(home))
        mp.setenv("MLCYCLE_PROJECT", str(project_path(home)))
        get_settings.cache_clear()
        yield home
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def trained(home: Path) -> TrainResult:
    frame = generate(3000, seed=5, extra_columns=True)
    frame.loc[:9, "nature"] = "  "  # blank: missing, as the model reads it
    data = home.parent / "register.csv"
    frame.to_csv(data, index=False)
    add_dataset(str(data), "nace")
    result = train_model(None, SMALL)
    set_alias(result.name, "production", result.version)
    return result


def _use(home: Path) -> None:
    get_settings.cache_clear()
    use_tracking(get_settings())


def test_the_dataset_keeps_the_columns_as_text(home: Path, trained: TrainResult) -> None:
    _use(home)
    table = read_table(resolve("nace"), None, get_settings())
    assert set(COLUMNS) <= set(table.column_names)
    surface = table.column("surface").to_pylist()
    assert set(surface) <= {"1", "2", "3", "4", None} and None in surface
    assert table.column("nature").to_pylist()[:10] == [None] * 10


def test_the_registered_model_reads_the_columns(home: Path, trained: TrainResult) -> None:
    _use(home)
    served = load_served_model("nace@production")
    assert served.model.categories.columns == tuple(COLUMNS)
    pyfunc = mlflow.pyfunc.load_model("models:/nace@production")
    inputs = pyfunc.metadata.signature.inputs
    assert inputs.input_names() == ["text", *COLUMNS]
    assert [spec.required for spec in inputs.inputs] == [True, False, False, False, False]
    assert len(pyfunc.predict(pyfunc.input_example)) == 3  # what the contract gate runs
    rows = generate(40, seed=9, extra_columns=True)
    full = pyfunc.predict(rows[["text", *COLUMNS]].astype(object), params={"k": 3})
    alone = pyfunc.predict(rows[["text"]], params={"k": 3})
    assert len(full) == len(alone) == 40 and all(len(r) == 3 for r in full)
    mine = served.model.predict(rows[["text", *COLUMNS]], k=3)
    assert [r[0]["code"] for r in full] == mine.codes[:, 0].tolist()
    assert [r[0]["code"] for r in alone] == served.model.predict(rows["text"].tolist()).codes[
        :, 0
    ].tolist()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(home: Path, trained: TrainResult) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "MLFLOW_"))}
    env.update(MLCYCLE_HOME=str(home), MLCYCLE_PROJECT=str(project_path(home)))
    process = subprocess.Popen(
        [MLCYCLE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=home.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(f"the server did not start:\n{process.communicate()[1]}")
    yield url
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)


def test_the_api_takes_columns_beside_the_texts(server: str, trained: TrainResult) -> None:
    rows = generate(5, seed=21, extra_columns=True)
    texts = rows["text"].tolist()
    values = {name: rows[name].astype(object).where(rows[name].notna(), None).tolist()
              for name in COLUMNS}  # fmt: skip
    values["surface"] = [None if v is None else int(v) for v in values["surface"]]  # numbers too
    served = load_served_model("nace@production").model
    expected = served.predict(rows[["text", *COLUMNS]], k=2).codes.tolist()
    ours = httpx.post(f"{server}/predict", json={"texts": texts, "k": 2, **values})
    assert ours.status_code == 200, ours.text
    assert [[c["code"] for c in r] for r in ours.json()["predictions"]] == expected
    records = [{"text": t, **{n: values[n][i] for n in COLUMNS}} for i, t in enumerate(texts)]
    mlflow_form = httpx.post(
        f"{server}/predict", json={"dataframe_records": records, "params": {"k": 2}}
    )
    assert mlflow_form.status_code == 200, mlflow_form.text
    some = httpx.post(f"{server}/predict", json={"texts": texts, "type_": values["type_"]})
    alone = httpx.post(f"{server}/predict", json={"texts": texts})
    assert some.status_code == alone.status_code == 200
    assert httpx.get(f"{server}/").json()["features"] == COLUMNS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"texts": ["a", "b"], "type_": ["X"]}, "'type_' has 1 values for 2 texts"),
        ({"texts": ["a"], "type_": "X"}, "'type_' must be a list of values"),
        ({"texts": ["a"], "type_": [{"x": 1}]}, "'type_[0]' must be a string, a number or null"),
        ({"texts": ["a"], "canal": ["x"]}, "Unknown field 'canal'"),
        ({"dataframe_records": [{"text": "a", "canal": "x"}]}, "this model's columns"),
    ],
)
def test_bad_columns_are_one_sentence(server: str, body: dict, message: str) -> None:
    response = httpx.post(f"{server}/predict", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_columns_carry_what_the_texts_do_not(trained: TrainResult, home: Path) -> None:
    """On generated rows, the model with the columns ranks better with them than
    without them: it uses them."""
    _use(home)
    model = load_served_model("nace@production").model
    rows = generate(2000, seed=33, extra_columns=True)
    truth = rows["nace"].to_numpy()
    with_columns = np.mean(model.predict(rows[["text", *COLUMNS]], k=5).codes == truth[:, None])
    without = np.mean(model.predict(rows["text"].tolist(), k=5).codes == truth[:, None])
    assert with_columns > without


def test_a_retrain_with_feedback_keeps_the_columns(home: Path, trained: TrainResult) -> None:
    """Feedback rows logged with the texts alone (before the columns were logged) join
    the data with unknown columns, and the new version keeps the columns."""
    from mlcycle.loop.training_set import new_rows, store_version
    from mlcycle.tasks import task_of
    from mlcycle.train.pipeline import load_training_data

    _use(home)
    settings = get_settings()
    base = load_training_data(None, settings)
    feedback = pd.DataFrame({"text": ["coiffure a domicile"], "label": ["9602B"]})
    combined = pd.concat([base.frame, new_rows(base.frame, feedback)], ignore_index=True)
    ref = store_version(combined, task_of(settings), base, settings)
    table = read_table(resolve(ref), None, settings)
    assert table.num_rows == len(base.frame) + 1
    assert table.select(COLUMNS).slice(table.num_rows - 1).to_pylist() == [dict.fromkeys(COLUMNS)]


# -- the prediction log, retraining and monitoring see the columns -------------------------

SALT = "a-salt-of-sixteen-or-more"


class Logged(NamedTuple):
    """What a served model with columns logged, and the feedback it was given."""

    rows: list[dict[str, Any]]  # the log's rows of the requests below, by id and index
    ours: str  # the request ids: {"texts": ..., column: [...]} with a blank text
    mlflow: str  # an MLflow record with two of the columns
    alone: str  # texts without any column
    texts: list[str]
    values: dict[str, list[Any]]  # the columns as sent in ``ours`` (the blank's left out)


def _wire(rows: pd.DataFrame) -> dict[str, list[Any]]:
    """The columns of generated rows as a client sends them (surface as numbers)."""
    values = {name: rows[name].astype(object).where(rows[name].notna(), None).tolist()
              for name in COLUMNS}  # fmt: skip
    values["surface"] = [None if v is None else int(v) for v in values["surface"]]
    return values


def _log_rows(root: Path, ids: set[str]) -> list[dict[str, Any]]:
    rows = predlog.read_log(root, predlog.PREDICTION_SCHEMA).to_pylist()
    return sorted((r for r in rows if r["request_id"] in ids),
                  key=lambda r: (r["request_id"], r["index"]))  # fmt: skip


@pytest.fixture(scope="module")
def logged(home: Path, trained: TrainResult) -> Logged:
    """Requests in every form to the served model, each text given a true code."""
    _use(home)
    rows = generate(3, seed=41, extra_columns=True)
    # A word the training rows never hold: a retrain cannot take them for known rows.
    texts = [f"{text} zorglub" for text in rows["text"]]
    values = _wire(rows)
    values["type_"][1] = None  # a null stays null
    blank = {name: [*v[:1], "BLANK", *v[1:]] for name, v in values.items()}  # fmt: skip
    served = load_served_model("nace@production")
    codes = list(served.model.labels[:3])
    with TestClient(create_app(served, get_settings())) as client:
        ours = client.post("/predict", json={"texts": [texts[0], " ", *texts[1:]], **blank})
        record = {"text": texts[0], "type_": "M", "surface": 2.0}
        mlflow_form = client.post("/predict", json={"dataframe_records": [record]})
        alone = client.post("/predict", json={"texts": texts[:1]})
        ids = [r.json()["request_id"] for r in (ours, mlflow_form, alone)]
        feedback = [{"request_id": ids[0], "index": i, "true_code": c}
                    for i, c in zip((0, 2, 3), codes, strict=True)]  # fmt: skip
        feedback += [{"request_id": rid, "true_code": codes[0]} for rid in ids[1:]]
        assert client.post("/feedback", json=feedback).status_code == 200
    # Leaving the client stops the server: its writer flushes the log.
    found = _log_rows(home / "predictions", set(ids))
    return Logged(found, *ids, texts, values)


def test_the_log_keeps_each_texts_columns_beside_it(logged: Logged) -> None:
    by_request = {rid: [r for r in logged.rows if r["request_id"] == rid]
                  for rid in (logged.ours, logged.mlflow, logged.alone)}  # fmt: skip
    ours = by_request[logged.ours]
    assert [r["index"] for r in ours] == [0, 2, 3]  # the blank text is not logged
    assert [r["text"] for r in ours] == logged.texts
    expected = [{name: logged.values[name][i] for name in COLUMNS} for i in range(3)]
    assert [json.loads(r["record"]) for r in ours] == expected
    assert json.loads(ours[1]["record"])["type_"] is None
    [mlflow_row] = by_request[logged.mlflow]
    assert json.loads(mlflow_row["record"]) == {"type_": "M", "surface": 2.0}
    [alone] = by_request[logged.alone]
    assert alone["text"] == logged.texts[0] and json.loads(alone["record"]) == {}


def test_a_retrain_trains_on_the_logged_columns(home: Path, logged: Logged) -> None:
    from mlcycle.loop.training_set import build_training_set

    _use(home)
    settings = get_settings()
    before = resolve("nace").ref
    ref, added = build_training_set(settings, before, datetime.now(UTC) + timedelta(minutes=1))
    table = read_table(resolve(ref), None, settings).to_pandas()
    fed = table[table["text"].isin(logged.texts)][["text", *COLUMNS]]
    found = Counter(tuple(None if pd.isna(v) else v for v in row) for row in fed.to_numpy())
    # Values as the model compares them (2.0 is "2"); a column not sent is unknown.
    sent = {name: [None if v is None else str(v) for v in vs] for name, vs in logged.values.items()}
    expected = Counter(
        [(text, *(sent[name][i] for name in COLUMNS)) for i, text in enumerate(logged.texts)]
        + [(logged.texts[0], *({"type_": "M", "surface": "2"}.get(n) for n in COLUMNS))]
        + [(logged.texts[0], *[None] * len(COLUMNS))]
    )
    assert added == 5 and found == expected


def test_monitoring_compares_the_columns_with_the_training_data(home: Path, logged: Logged) -> None:
    from mlcycle.monitor.summary import build_summary

    _use(home)
    now = datetime.now(UTC)
    summary = build_summary(get_settings(), now - timedelta(hours=1), now + timedelta(minutes=1))
    features = summary.features
    assert features is not None and features.available, features
    assert [c.column for c in features.columns] == COLUMNS
    assert features.records >= len(logged.rows)
    assert {c.column: c for c in features.columns}["type_"].result is not None


def test_without_log_text_no_raw_value_reaches_the_log(
    home: Path, trained: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts are kept as their HMAC and the columns dropped, in the journal too."""
    hashed = home.parent / "hashed"
    for name, value in {
        "LOG_TEXT": "false",
        "SALT": SALT,
        "DIR": str(hashed / "p"),
        "FEEDBACK_DIR": str(hashed / "f"),
        "FLUSH_SECONDS": "300",
    }.items():
        monkeypatch.setenv(f"MLCYCLE_SERVE__PREDICTION_LOG__{name}", value)  # fmt: skip
    _use(home)
    settings = get_settings()
    body = {"texts": ["boulangerie secretissime"], "type_": ["SECRETTYPE"], "nature": ["SECRETNAT"]}
    with TestClient(create_app(load_served_model("nace@production"), settings)) as client:
        rid = client.post("/predict", json=body).json()["request_id"]
        journal = journal_folder(settings.home, hashed / "p")
        spooled = b"".join(path.read_bytes() for path in journal.glob("*.journal"))
        assert rid.encode() in spooled
    [row] = _log_rows(hashed / "p", {rid})
    digest = hmac.new(SALT.encode(), body["texts"][0].encode(), hashlib.sha256).hexdigest()
    assert row["text"] is None and row["record"] is None and row["text_hash"] == digest
    for raw in (b"secretissime", b"SECRETTYPE", b"SECRETNAT"):
        assert raw not in spooled and raw.decode() not in json.dumps(row, default=str)
