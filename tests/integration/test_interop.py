"""A registered version works with plain MLflow: a fresh venv without mlcycle, and
``mlflow models serve``; a quantized one (``quantize: true``) as well."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mlflow
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.registry.ops import set_alias
from mlcycle.train.pipeline import TrainResult, train_model
from tests.integration.conftest import SMALL
from tests.integration.plain_mlflow import fresh_venv, run_probe, tracking_env

pytestmark = pytest.mark.slow

MODELS = ("models:/nace@production", "models:/nace_q@production")
TEXTS = ["COIFFEUR", "vendeur d'huitres"]
_PROBE = f"""
import importlib.util, json, sys
assert importlib.util.find_spec("mlcycle") is None, "mlcycle must not be installed here"
import mlflow
out = [mlflow.pyfunc.load_model(uri).predict({TEXTS!r}, params={{"k": 3}}) for uri in {MODELS!r}]
import mlcycle
print(json.dumps({{"out": out, "mlcycle": mlcycle.__file__}}))
"""


@pytest.fixture
def quantized(registered: TrainResult, session_home: Path) -> TrainResult:
    """``nace_q``: the registered model's data and parameters with ``quantize: true``."""
    settings = get_settings()
    own = settings.model_copy(
        update={"model": settings.model.model_copy(update={"name": "nace_q"})}
    )
    data = session_home.parent / "train.csv"  # written by the registered model's fixture
    result = train_model(str(data), {**SMALL, "quantize": True}, settings=own)
    set_alias(result.name, "production", result.version)
    return result


def test_loads_in_fresh_venv_with_only_recorded_requirements(quantized: TrainResult, tmp_path):
    model_dir = Path(mlflow.artifacts.download_artifacts(MODELS[0]))
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert not any(r.startswith("mlcycle") for r in requirements)
    quantized_dir = Path(mlflow.artifacts.download_artifacts(MODELS[1]))
    assert (quantized_dir / "requirements.txt").read_text().split() == requirements
    assert (quantized_dir / "artifacts" / "fasttext" / "codes.npy").exists()
    python = fresh_venv(model_dir / "requirements.txt", tmp_path)
    probe = run_probe(python, _PROBE, tmp_path)
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert "/code/mlcycle/" in result["mlcycle"]  # the copy shipped with the model
    for uri, plain in zip(MODELS, result["out"], strict=True):
        here = mlflow.pyfunc.load_model(uri).predict(TEXTS, params={"k": 3})
        assert [[e["code"] for e in row] for row in plain] == [
            [e["code"] for e in row] for row in here
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serves_with_mlflow_models_serve(registered: TrainResult, tmp_path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            "models:/nace@production",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=tracking_env(),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        body = {"inputs": ["COIFFEUR", "boulanger"], "params": {"k": 5}}
        answer = httpx.post(f"{url}/invocations", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert len(predictions) == 2 and all(len(row) == 5 for row in predictions)
        assert {"code", "probability"} == set(predictions[0][0])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_mlflow_run_trains_and_registers(tmp_path: Path) -> None:
    """`mlflow run . -P dim=25 --env-manager local` from the repository root."""
    root = Path(__file__).resolve().parents[2]
    env = tracking_env()
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env["MLCYCLE_HOME"] = str(tmp_path / "home")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow",
            "run",
            str(root),
            "-P",
            "dim=25",
            "-P",
            "epoch=2",
            "-P",
            "bucket=20000",
            "--env-manager",
            "local",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    uri = env["MLFLOW_TRACKING_URI"]
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version_by_alias("nace", "challenger")
    assert client.get_run(version.run_id).data.params["dim"] == "25"
