"""Integrity of stored models on a real MLflow store: manifests, refusals, a clean process.

Loading runs the model's code, so a version whose stored files differ from the manifest
recorded at registration must not load anywhere (serving, hot swap, gates, copy), and
loading must leave the process and the artifact store as they were. Every test that
tampers works on a version of its own (its own stored files).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest

import mlcycle
from mlcycle.core.errors import ModelError
from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import ensure_experiment
from mlcycle.registry.copy import copy_version
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.ops import register, set_alias
from mlcycle.registry.promotion import promote
from mlcycle.train.pipeline import train_model
from tests.conftest import cli_env, isolated, write_project
from tests.forked_cli import run_mlcycle
from tests.integration.test_serve_process import (
    MLCYCLE,
    SMALL_MODEL,
    Server,
    _free_port,
    _stop,
    _wait_ready,
)
from tests.unit.test_serve_app import _rows

NAME = "integ"
TEXTS = ["brasserie menu", "salon coiffure", "logiciel web", "épicerie caisse"]
PROJECT = f"""\
model: {{name: {NAME}}}
registry:
  environments:
    - {{name: qa, gates: [contract]}}
serve:
  reload_seconds: 0
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project whose registry holds ``integ`` version 1, trained small, at ``live``."""
    home = tmp_path_factory.mktemp("integrity") / "home"
    write_project(home, PROJECT)
    texts, labels = _rows(400, seed=3)
    data = home.parent / "train.csv"
    pd.DataFrame({"text": texts, "nace": labels}).to_csv(data, index=False)
    with isolated(home), pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        set_alias(NAME, "live", train_model(str(data), SMALL_MODEL).version)
        yield home


def _new_version(home: Path) -> str:
    """A version of ``integ`` with stored files of its own (a copy of version 1's)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/1", dst_path=tmp))
        (local / "registered_model_meta").unlink()
        with mlflow.start_run(experiment_id=ensure_experiment(get_settings().experiment_name)):
            mlflow.log_artifacts(str(local), "model")
            uri = f"runs:/{mlflow.active_run().info.run_id}/model"
    return register(uri, NAME).version


def _stored(version: str) -> Path:
    """The folder of the artifact store holding a version's files (an embedded store)."""
    uri = mlflow.MlflowClient().get_model_version_download_uri(NAME, version)
    return Path(uri.removeprefix("file://"))


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def _verify(home: Path, *args: str, env: dict[str, str] | None = None):
    done = run_mlcycle(["models", "verify", *args], env=env or cli_env(home), timeout=300)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_a_registered_version_verifies(home: Path) -> None:
    stored = _tree(_stored("1"))
    done = _verify(home, f"{NAME}@live")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{NAME} version 1: all {len(stored)} files match."
    report = json.loads(_verify(home, f"{NAME}/1", "--json").stdout)
    assert report["ok"] and report["files"] == len(stored) and report["differences"] == []


def _append_code(folder: Path, marker: Path) -> None:
    with open(folder / "mlcycle_model.py", "a") as entry:
        entry.write(f"open({str(marker)!r}, 'w').close()\n")


def _flip_weight(folder: Path, marker: Path) -> None:
    weights = folder / "artifacts" / "fasttext" / "output.npy"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))


def _add_module(folder: Path, marker: Path) -> None:
    (folder / "code" / "mlcycle" / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w')\n")


def _remove_file(folder: Path, marker: Path) -> None:
    (folder / "artifacts" / "fasttext" / "fasttext.json").unlink()


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (_append_code, "mlcycle_model.py changed"),
        (_flip_weight, "artifacts/fasttext/output.npy changed"),
        (_add_module, "code/mlcycle/sitecustomize.py unexpected"),
        (_remove_file, "artifacts/fasttext/fasttext.json missing"),
    ],
)
def test_a_tampered_version_is_refused_and_its_code_never_runs(
    home: Path, tmp_path: Path, tamper, named: str
) -> None:
    version = _new_version(home)
    marker = tmp_path / "tampered-code-ran"
    tamper(_stored(version), marker)
    sentence = (
        f"Model {NAME} version {version} does not match its integrity manifest ({named}): "
        "its files may have been tampered with, so mlcycle will not load it."
    )
    with pytest.raises(ModelError) as refused:
        load_served_model(f"{NAME}/{version}")
    assert refused.value.message == sentence
    assert not marker.exists()
    done = _verify(home, f"{NAME}/{version}")
    assert done.returncode == 6
    assert done.stdout.split() == named.split()[::-1]  # "changed  mlcycle_model.py"
    assert done.stderr.strip() == f"Error: {sentence}"


def test_a_version_without_manifest_is_refused_until_one_is_recorded(home: Path) -> None:
    run_uri = mlflow.MlflowClient().get_model_version(NAME, _new_version(home)).source
    version = str(mlflow.register_model(run_uri, NAME).version)  # plain MLflow: no manifest
    with pytest.raises(
        ModelError, match=f"has no integrity manifest.*verify {NAME}/{version} --record"
    ):
        load_served_model(f"{NAME}/{version}")
    assert _verify(home, f"{NAME}/{version}").returncode == 6
    recorded = _verify(home, f"{NAME}/{version}", "--record")
    assert recorded.returncode == 0, recorded.stderr
    assert load_served_model(f"{NAME}/{version}").model.predict(TEXTS).codes.shape == (4, 1)
    again = _verify(home, f"{NAME}/{version}", "--record")
    assert again.returncode == 4 and "already has a manifest" in again.stderr


def test_loads_leave_sys_path_and_sys_modules_as_they_were(home: Path) -> None:
    other = _new_version(home)
    load_served_model(f"{NAME}/1")  # first load: the libraries it needs get imported
    path, modules = list(sys.path), set(sys.modules)
    served = [load_served_model(f"{NAME}/{v}") for v in ("1", other, "1", other, "1")]
    assert sys.path == path
    assert set(sys.modules) == modules
    installed = Path(mlcycle.__file__).parent
    for model in served:  # one after the other, as a hot swap does: each works, on our code
        assert model.model.predict(TEXTS).codes.shape == (4, 1)
        module = sys.modules[type(model.model).__module__]
        assert Path(module.__file__).is_relative_to(installed)


def test_loading_and_gates_write_nothing_into_the_stored_model(home: Path) -> None:
    version = _new_version(home)
    folder = _stored(version)
    before = _tree(folder)
    load_served_model(f"{NAME}/{version}")
    result = promote(NAME, version, "qa", "loads in a fresh process")  # the contract gate
    assert result.moved, result.gates
    assert _tree(folder) == before


def test_plain_mlflow_keeps_numba_cache_out_of_the_model(home: Path, tmp_path: Path) -> None:
    """Loaded where mlcycle is not imported, the model runs its own shipped code."""
    version = _new_version(home)
    probe = (
        "import json, mlflow.pyfunc\n"
        f"model = mlflow.pyfunc.load_model('models:/{NAME}/{version}')\n"
        "model.predict(['salon coiffure'])\n"
        "import mlcycle\n"
        "print(mlcycle.__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "MLCYCLE_"))}
    env.update(
        MLFLOW_TRACKING_URI=get_settings().resolved_tracking_uri(),
        XDG_CACHE_HOME=str(tmp_path / "user-cache"),
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    folder = _stored(version)
    assert Path(done.stdout.strip().splitlines()[-1]).is_relative_to(folder)  # shipped code
    assert not [p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert list((tmp_path / "user-cache" / "mlcycle" / "numba").rglob("*.nbi"))


def test_a_copy_carries_a_valid_manifest_and_a_tampered_version_is_not_copied(
    home: Path, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'prod' / 'mlflow.db'}"
    (tmp_path / "prod").mkdir()
    copied = copy_version(f"{NAME}/1", target)
    there = {**cli_env(home), "MLFLOW_TRACKING_URI": target}
    done = _verify(home, f"{NAME}/{copied.version}", env=there)
    assert done.returncode == 0 and "files match" in done.stdout, done.stderr
    tampered = _new_version(home)
    _append_code(_stored(tampered), tmp_path / "marker")
    with pytest.raises(ModelError, match="does not match its integrity manifest"):
        copy_version(f"{NAME}/{tampered}", target)


def test_the_server_refuses_a_tampered_version_and_keeps_answering(
    home: Path, tmp_path: Path
) -> None:
    tampered = _new_version(home)
    marker = tmp_path / "tampered-code-ran"
    _append_code(_stored(tampered), marker)
    port = _free_port()
    env = {k: v for k, v in cli_env(home).items() if not k.startswith("NUMBA_")}
    process = subprocess.Popen(
        [MLCYCLE, "serve", "--port", str(port), "--workers", "1", "--model", f"{NAME}@live"],
        env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}")
    _wait_ready(server)
    try:
        set_alias(NAME, "live", tampered)
        reload = httpx.post(f"{server.url}/admin/reload", timeout=60)
        answer = httpx.post(f"{server.url}/predict", json={"texts": TEXTS}, timeout=60)
    finally:
        set_alias(NAME, "live", "1")
        code, err = _stop(server)
    assert reload.status_code == 409, reload.text
    assert "Version 1 keeps answering" in reload.json()["detail"]
    # Why is in the server's log, not in the answer (no internal detail to a client).
    assert "does not match its integrity manifest" not in reload.json()["detail"]
    assert "does not match its integrity manifest" in err
    assert answer.status_code == 200 and answer.json()["model"]["version"] == "1"
    assert not marker.exists()
    assert code == 0, err
    # The server's compiled kernels are cached in the project home.
    assert list((home / "cache" / "numba").rglob("*.nbi"))
