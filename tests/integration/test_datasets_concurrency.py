"""Version allocation for real: concurrent adds, adds killed mid-way, a tracking server.

Every add here is a separate Python process. Racing adds are lined up on a file
barrier right before the claim, so they really contend for the same version number;
killed adds die by SIGKILL at the worst moments (files uploaded but not claimed, and
claimed but not tidied), and must leave either no version or a complete one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.snapshot import table_digest
from mlcycle.data.store import list_versions, read_table
from tests.conftest import cli_env
from tests.integration.test_datasets import isolated_home, write_csv

# Runs in each child: optional barrier before the claim, optional SIGKILL around it.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from mlcycle.data import catalog
    from mlcycle.data.ingest import add_dataset

    claim = catalog.Catalog.claim
    mode = os.environ.get("CHILD_MODE", "")

    def wait_for_all():
        barrier = Path(os.environ["BARRIER"])
        (barrier / str(os.getpid())).touch()
        deadline = time.time() + 120
        while len(list(barrier.iterdir())) < int(os.environ["PARTIES"]):
            if time.time() > deadline:
                sys.exit("barrier timeout")
            time.sleep(0.01)

    def patched(self, name, run_id):
        if mode == "kill-before-claim":
            os.kill(os.getpid(), signal.SIGKILL)
        if "BARRIER" in os.environ:
            wait_for_all()
        number = claim(self, name, run_id)
        if mode == "kill-after-claim":
            os.kill(os.getpid(), signal.SIGKILL)
        return number

    catalog.Catalog.claim = patched
    print(add_dataset(sys.argv[1], sys.argv[2]).version.version)
    """
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project home whose MLflow database exists (created once, not raced)."""
    with isolated_home(tmp_path_factory.mktemp("concurrency")) as home:
        use_tracking(get_settings())
        mlflow.MlflowClient().search_experiments()
        yield home


def _spawn(home: Path, path: Path, name: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), name],
        env={**cli_env(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _race(home: Path, tmp_path: Path, files: list[Path], extra: dict[str, str] | None = None):
    """Add ``files`` to dataset ``race`` at once; all claim together; return their output."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"BARRIER": str(barrier), "PARTIES": str(len(files)), **(extra or {})}
    children = [_spawn(home, path, "race", env) for path in files]
    results = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err[-2000:]
    return [int(out.strip().splitlines()[-1]) for out, _ in results]


def _check_versions(name: str, files: list[Path], numbers: list[int]) -> None:
    """Each add got its own number, and each version holds exactly its file's rows."""
    assert sorted(numbers) == list(range(1, len(files) + 1))
    versions = {v.version: v for v in list_versions(name)}
    assert sorted(versions) == sorted(numbers)
    for number, path in zip(numbers, files, strict=True):
        table = read_table(versions[number])
        assert table_digest(table) == versions[number].digest
        assert table.num_rows == int(path.stem.split("-")[1])


def test_concurrent_adds_get_distinct_versions_on_a_fresh_store(
    home, tmp_path, monkeypatch
) -> None:
    # A catalog of its own, so the racing adds also race to create it.
    monkeypatch.setenv("MLCYCLE_DATA__EXPERIMENT", "fresh-catalog")
    get_settings.cache_clear()
    files = [
        write_csv(tmp_path / f"part-{100 + 10 * i}.csv", 100 + 10 * i, seed=i) for i in range(3)
    ]
    numbers = _race(home, tmp_path, files, {"MLCYCLE_DATA__EXPERIMENT": "fresh-catalog"})
    _check_versions("race", files, numbers)
    # However many processes raced to create it, one catalog was published.
    named = [e for e in mlflow.search_experiments() if e.name == "fresh-catalog"]
    assert len(named) == 1
    get_settings.cache_clear()


def test_add_killed_before_its_claim_leaves_no_version(home, tmp_path) -> None:
    path = write_csv(tmp_path / "part-300.csv", 300)
    child = _spawn(home, path, "killed", {"CHILD_MODE": "kill-before-claim"})
    child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL
    assert list_versions("killed") == []
    # Nothing was consumed either: the next add is version 1.
    again = _spawn(home, path, "killed", {})
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.strip() == "1"
    _check_versions("killed", [path], [1])


def test_add_killed_right_after_its_claim_is_complete(home, tmp_path) -> None:
    path = write_csv(tmp_path / "part-250.csv", 250)
    child = _spawn(home, path, "late", {"CHILD_MODE": "kill-after-claim"})
    child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL
    _check_versions("late", [path], [1])


def test_add_killed_at_any_moment_is_all_or_nothing(home, tmp_path) -> None:
    path = write_csv(tmp_path / "part-20000.csv", 20_000)
    datasets = home / "datasets"
    before = set(datasets.rglob("*.parquet"))
    child = subprocess.Popen(
        [sys.executable, "-m", "mlcycle", "data", "add", str(path), "--name", "anytime"],
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    # Kill as soon as the add starts writing its files into the store.
    while child.poll() is None and time.monotonic() < deadline:
        if set(datasets.rglob("*.parquet")) - before:
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "the add finished before it could be killed"
    versions = list_versions("anytime")
    assert versions == [] or [v.version for v in versions] == [1]
    if versions:
        _check_versions("anytime", [path], [1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[str]:
    """A real ``mlflow server`` (SQLite backend, proxied artifact store)."""
    mlflow_bin = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    if mlflow_bin is None:
        pytest.skip("the mlflow command is not installed beside this Python")
    port = _free_port()
    command = [
        mlflow_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"),
    ]  # fmt: skip
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "mlflow server exited; see server.log"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail("mlflow server did not become healthy")


def test_concurrent_adds_through_a_tracking_server(tracking_server, tmp_path, monkeypatch) -> None:
    with isolated_home(tmp_path) as home:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
        files = [write_csv(tmp_path / f"part-{120 + i}.csv", 120 + i, seed=i) for i in range(2)]
        numbers = _race(home, tmp_path, files, {"MLFLOW_TRACKING_URI": tracking_server})
        _check_versions("race", files, numbers)  # downloads through the server, verified
        versions = list_versions("race")
        assert all(v.artifact_uri.startswith("mlflow-artifacts:") for v in versions)
        assert (home / "cache" / "datasets" / versions[0].digest / "data.parquet").is_file()
        assert not (home / "datasets").exists()  # the server's store holds the data
        assert os.listdir(tmp_path / "server-artifacts")
