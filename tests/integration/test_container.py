"""mlcycle's image built and run for real with podman: the container serves a model from
a tracking store trained on the host and mounted into it, runs training as a job, stops
cleanly on SIGTERM with the prediction log written to the mounted home, and runs the
tracking server exactly as the Kubernetes manifests start it.

The container runs as it would on Kubernetes: a read-only root filesystem, its own
non-root user, the home a volume. The store is mounted at the path it was made at,
because an MLflow store records its artifacts' locations as absolute paths. ``:U`` hands
the mounted files to the container's user, as a pod's fsGroup would.

The image is built by ``deploy/docker/build-image.sh`` (cached layers and pip's cache make
a rebuild quick); set MLCYCLE_TEST_IMAGE to test an image built beforehand.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pyarrow.dataset as ds
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PODMAN = shutil.which("podman")
MLCYCLE = str(Path(sys.executable).with_name("mlcycle"))
TEST_IMAGE = "localhost/mlcycle-test"
STARTUP_LIMIT_S = 180  # a guard against hanging, not a speed requirement
SMALL = ["-P", "dim=16", "-P", "epoch=10", "-P", "minCount=1", "-P", "bucket=5000",
         "-P", "wordNgrams=1"]  # fmt: skip
VOCABULARY = {
    "5610A": ["restaurant", "cuisine", "traditionnelle", "brasserie", "plats", "menu"],
    "6201Z": ["logiciel", "développement", "programmation", "applications", "code", "web"],
    "9602A": ["coiffure", "salon", "coupe", "coloration", "mèches", "barbier"],
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.container,
    pytest.mark.skipif(
        PODMAN is None,
        reason="podman is not installed (Debian package 'podman'; .ci/run installs it)",
    ),
]


def _podman(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert PODMAN is not None
    return subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def image() -> str:
    """The image under test, built from this checkout unless MLCYCLE_TEST_IMAGE names one."""
    if prebuilt := os.environ.get("MLCYCLE_TEST_IMAGE"):
        return prebuilt
    reference = f"{TEST_IMAGE}:latest"
    previous = _podman("image", "inspect", "--format={{.Id}}", reference).stdout.strip()
    env = {**os.environ, "IMAGE": TEST_IMAGE, "TAGS": "latest", "ENGINE": str(PODMAN)}
    built = subprocess.run(
        [str(ROOT / "deploy/docker/build-image.sh")], env=env, capture_output=True, text=True,
        timeout=1800, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-4000:]
    current = _podman("image", "inspect", "--format={{.Id}}", reference).stdout.strip()
    if previous and previous != current:  # the last run's image, now untagged
        _podman("rmi", previous)
    return reference


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding train.csv and a home whose SQLite store has nace@staging (v1)."""
    folder = tmp_path_factory.mktemp("container")
    rng = random.Random(0)
    codes = [rng.choice(sorted(VOCABULARY)) for _ in range(300)]
    texts = [" ".join(rng.sample(VOCABULARY[code], 3)) for code in codes]
    pd.DataFrame({"text": texts, "nace": codes}).to_csv(folder / "train.csv", index=False)
    trained = subprocess.run(
        [MLCYCLE, "train", "--data", str(folder / "train.csv"), *SMALL, "--json"],
        env=_host_env(folder), cwd=folder, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    from mlflow import MlflowClient

    # Both URIs: a registry URI set earlier in this process would otherwise win.
    uri = _tracking_uri(folder)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias("nace", "staging", json.loads(trained.stdout)["version"])
    return folder


def _host_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "MLFLOW_"))}
    return {**env, "MLCYCLE_HOME": str(folder / "home")}


def _tracking_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'home' / 'mlflow.db'}"


def _run_args(folder: Path, *settings: str) -> list[str]:
    """As on Kubernetes: read-only root, non-root user, the store mounted as the home."""
    env = [f"--env=MLCYCLE_HOME={folder / 'home'}", *(f"--env={s}" for s in settings)]
    return ["--read-only", "--network=host", f"--volume={folder}:{folder}:U", *env]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(image: str, store: Path) -> Iterator[tuple[str, str]]:
    """A serving container following nace@staging; removed whatever the test does."""
    name, port = f"mlcycle-test-{uuid.uuid4().hex[:8]}", _free_port()
    settings = ("MLCYCLE_SERVE__HOST=127.0.0.1", f"MLCYCLE_SERVE__PORT={port}",
                "MLCYCLE_SERVE__MODEL=nace@staging")  # fmt: skip
    started = _podman("run", "--detach", f"--name={name}", *_run_args(store, *settings), image)
    assert started.returncode == 0, started.stderr
    try:
        _wait_for(name, f"http://127.0.0.1:{port}/ready")
        yield name, f"http://127.0.0.1:{port}"
    finally:
        _podman("rm", "--force", "--time=5", name)


def _wait_for(name: str, url: str, headers: dict[str, str] | None = None) -> None:
    """Until ``url`` answers 200, failing as soon as the container exits."""
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if _podman("inspect", "--format={{.State.Running}}", name).stdout.strip() != "true":
            raise AssertionError(f"the container exited early:\n{_podman('logs', name).stderr}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer:\n{_podman('logs', name).stderr}")


def test_the_container_serves_the_mounted_store_and_flushes_its_log_on_sigterm(
    server: tuple[str, str], store: Path
) -> None:
    name, url = server
    texts = ["Brasserie, cuisine traditionnelle", "salon de coiffure", "développement web"]
    answer = httpx.post(f"{url}/predict", json={"texts": texts}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == {"name": "nace", "version": "1"}
    codes = [ranked[0]["code"] for ranked in answer.json()["predictions"]]
    assert codes == ["5610A", "9602A", "6201Z"]
    # The image's HEALTHCHECK, run by podman inside the container.
    assert _podman("healthcheck", "run", name).returncode == 0
    assert _podman("exec", name, "id", "-u").stdout.strip() == "10001"
    assert _podman("exec", name, "touch", "/opt/mlcycle/x").returncode != 0  # read-only root

    stopped = _podman("stop", "--time=60", name)  # SIGTERM, then SIGKILL after 60 s
    assert stopped.returncode == 0, stopped.stderr
    state = _podman("inspect", "--format={{.State.ExitCode}}", name).stdout.strip()
    logs = _podman("logs", name).stderr
    assert state == "0", logs
    assert "Traceback" not in logs and "Finished server process" in logs
    logged = ds.dataset(store / "home" / "predictions", format="parquet").to_table().to_pandas()
    assert sorted(logged["text"]) == sorted(texts)


def test_the_container_runs_training_as_a_job(image: str, store: Path) -> None:
    command = ["train", "--data", str(store / "train.csv"), *SMALL, "--json"]
    job = _podman("run", "--rm", "--no-healthcheck", *_run_args(store), image, *command)
    assert job.returncode == 0, job.stderr[-3000:]
    result = json.loads(job.stdout)  # --json alone on stdout: Argo's steps read it so
    from mlflow import MlflowClient

    uri = _tracking_uri(store)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version("nace", result["version"])
    assert int(version.version) >= 2 and version.run_id == result["run_id"]


def test_a_missing_alias_is_one_sentence_and_a_non_zero_exit(image: str, store: Path) -> None:
    served = _podman(
        "run", "--rm", "--no-healthcheck", *_run_args(store), image, "serve", "--model", "nace@nope"
    )
    assert served.returncode not in (0, 1), served.stderr  # a mapped exit code, not a crash
    assert "Traceback" not in served.stderr
    assert "Error:" in served.stderr and "nope" in served.stderr


def test_the_tracking_server_of_the_manifests_runs_in_the_image(image: str) -> None:
    """The MLflow Deployment's command and arguments, as rendered, on the image; SQLite
    stands in for PostgreSQL, and the port is a free one instead of 5000."""
    path = ROOT / "deploy/kubernetes/components/tracking-server/tracking-deployment.yaml"
    spec = yaml.safe_load(path.read_text())["spec"]["template"]["spec"]
    container = spec["containers"][0]
    port = _free_port()
    args = [a for a in container["args"] if not a.startswith(("--host=", "--port="))]
    args += ["--host=127.0.0.1", f"--port={port}"]
    name = f"mlcycle-tracking-test-{uuid.uuid4().hex[:8]}"
    started = _podman(
        "run", "--detach", f"--name={name}", "--read-only", "--network=host", "--no-healthcheck",
        "--env=MLFLOW_BACKEND_STORE_URI=sqlite:////tmp/mlflow.db",
        f"--entrypoint={container['command'][0]}", image, *args,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        url, inside = f"http://127.0.0.1:{port}", {"Host": "mlcycle-tracking:5000"}
        _wait_for(name, f"{url}/health", inside)
        search = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
        assert httpx.get(search, headers=inside, timeout=10).status_code == 200
        # The DNS-rebinding protection still refuses a host that is not the Service's.
        assert httpx.get(search, headers={"Host": "evil.test"}, timeout=10).status_code == 403
    finally:
        _podman("rm", "--force", "--time=5", name)
