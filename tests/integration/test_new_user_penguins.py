"""A file nobody here wrote, tried as a new user would: the Palmer penguins' raw data.

``penguins-raw.csv`` (palmerpenguins on PyPI, CC0; Gorman, Williams and Fraser 2014) has
what real files have: column names with spaces and units, a constant column, an
identifier, dates, free-text comments, ``NA`` for missing values in numbers and
categories. With a short project file, the CLI takes it through data add, train, the
default gates, a served API over HTTP, feedback and a drift check, as the README says.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import cli_env, run_cli, until_logged, write_project

pytestmark = pytest.mark.slow

PROJECT = """\
model:
  name: penguins
  task: classification
  family: sklearn
  params: {estimator: sklearn.ensemble.RandomForestClassifier, n_estimators: 40,
           random_state: 0}
data: {target: Species}
registry:  # timed on a shared test machine, the latency gate would decide, not the others
  gates: {latency: {enabled: false}}
"""
STARTUP_LIMIT_S = 180  # a guard against hanging, not a speed requirement
HEAVIER_G = 900  # every bird of the traffic weighs this much more than at training


def _raw() -> pd.DataFrame:
    return pd.read_csv(str(files("palmerpenguins") / "data" / "penguins-raw.csv"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("penguins") / "home"
    write_project(home, PROJECT, on_default=False)
    csv = home.parent / "penguins-raw.csv"
    _raw().to_csv(csv, index=False)
    added = run_cli(home, "data", "add", str(csv), "--name", "penguins")
    assert added.returncode == 0, added.stderr[-3000:]
    # What the file has that a user should hear about, in a sentence each.
    assert "'Region' has the single value 'Anvers'" in added.stdout + added.stderr
    assert "'Individual ID'" in added.stdout + added.stderr
    return home


@pytest.fixture(scope="module")
def promoted(home: Path) -> tuple[str, str]:
    """``train`` then ``models promote``: what each printed."""
    trained = run_cli(home, "train")
    assert trained.returncode == 0, trained.stderr[-3000:]
    promoted = run_cli(home, "models", "promote", "penguins", "--version", "1",
                       "--to", "production")  # fmt: skip
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-2000:]
    return trained.stdout + trained.stderr, promoted.stdout


def test_the_raw_file_trains_and_passes_the_default_gates(promoted: tuple[str, str]) -> None:
    trained, gates = promoted
    assert "dataset penguins@1 (344 rows)" in trained  # it says what it trained on
    assert "penguins@production -> version 1" in gates


@pytest.fixture
def server(home: Path, promoted: tuple[str, str]) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = cli_env(home)
    command = [sys.executable, "-m", "mlcycle", "serve", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=home.parent, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _until_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def _until_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url}/ready never answered 200")


def _records(features: list[str], rows: pd.DataFrame) -> list[dict[str, object]]:
    """The rows as a client sends them: null for NA, heavier birds."""
    out = []
    for row in rows.to_dict("records"):
        record = {f: None if _missing(row[f]) else row[f] for f in features}
        if record["Body Mass (g)"] is not None:
            record["Body Mass (g)"] += HEAVIER_G
        out.append(record)
    return out


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_served_feedback_and_a_drift_check_on_the_file(home: Path, server: str) -> None:
    features = httpx.get(f"{server}/").json()["features"]
    assert "Species" not in features and "Region" not in features
    rows = _raw().sample(120, random_state=5)
    records = _records(features, rows)
    assert any(value is None for record in records for value in record.values())
    answer = httpx.post(f"{server}/predict", json={"records": records, "k": 2})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert len(predictions) == 120 and all(len(ranked) == 2 for ranked in predictions)
    species = set(rows["Species"])
    assert {ranked[0]["code"] for ranked in predictions} <= species
    truths = [{"request_id": answer.json()["request_id"], "index": i, "true_code": code}
              for i, code in enumerate(rows["Species"])]  # fmt: skip
    stored = httpx.post(f"{server}/feedback", json=truths)
    assert stored.json() == {"stored": 120}, stored.text
    typo = httpx.post(f"{server}/predict", json={"records": [{**records[0], "Body Mass": 1}]})
    assert typo.status_code == 422 and "Body Mass" in typo.text
    for folder in ("predictions", "feedback"):
        until_logged(home / folder, 120)
    checked = run_cli(home, "monitor", "check")
    lines = checked.stdout.splitlines()
    drift = next(line for line in lines if "feature_drift" in line)
    assert "Body Mass (g)" in drift, checked.stdout
    live = next(line for line in lines if "live_accuracy" in line)
    assert "on 120 labelled predictions" in live, checked.stdout
