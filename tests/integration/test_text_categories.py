"""A text project with categorical columns beside the text, from ``data add`` to HTTP.

The project reads the coding API's columns (``type_``, ``nature``, ``surface``,
``event``): the dataset keeps them, training feeds them to the model, the registered
pyfunc and ``mlcycle serve`` take them, each optional.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.ingest import add_dataset
from mlcycle.data.store import read_table, resolve
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.ops import set_alias
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
    """Feedback rows come from the prediction log, which has the texts alone: they join
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
