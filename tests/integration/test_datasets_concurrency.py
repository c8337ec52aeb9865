"""Version allocation for real: concurrent adds, adds killed mid-way, a tracking server.

Every add here is a separate Python process. Racing adds are lined up on a file
barrier right before the claim, so they really contend for the same version number;
killed adds die by SIGKILL at the worst moments (files uploaded but not claimed, and
claimed but not tidied), and must leave either no version or a complete one; what they
leave behind is then removed by the next add or by ``mlcycle doctor``, which never
touch an add still in progress.
"""

from __future__ import annotations

import json
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

from mlcycle.core.scratch import leftovers
from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.catalog import ROLE_TAG, open_catalog
from mlcycle.data.housekeeping import HOST_TAG, WORK_TAG, check_home
from mlcycle.data.ingest import add_dataset
from mlcycle.data.snapshot import table_digest
from mlcycle.data.store import TAG, VERSION_ROLE, list_versions, read_table
from tests.conftest import cli_env
from tests.forked_cli import run_mlcycle
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

    def hold():
        hold = Path(os.environ["HOLD"])
        (hold / "ready").touch()
        deadline = time.time() + 120
        while not (hold / "go").exists():
            if time.time() > deadline:
                sys.exit("hold timeout")
            time.sleep(0.01)

    def patched(self, name, run_id):
        if mode == "kill-before-claim":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "hold-before-claim":
            hold()
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
    # What it left (a RUNNING run, its files, its work folder) goes; the listing stays.
    code, report = doctor(home)
    assert code == 0 and report["healthy"], report
    assert running_dataset_runs() == [] and leftovers(home) == []
    assert list_versions("anytime") == versions


def doctor(home: Path, *options: str) -> tuple[int, dict]:
    """``mlcycle doctor --json`` in a process of its own: exit code and report."""
    done = run_mlcycle(["doctor", "--json", *options], env=cli_env(home), timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def running_dataset_runs() -> list:
    """Runs of the dataset experiment still RUNNING, deleted ones included."""
    use_tracking(get_settings())
    catalog = open_catalog(get_settings())
    if catalog is None:
        return []
    runs = mlflow.MlflowClient().search_runs(
        [catalog.experiment_id], run_view_type=mlflow.entities.ViewType.ALL
    )
    return [run for run in runs if run.info.status == "RUNNING"]


def _artifacts(run) -> Path:
    return Path(run.info.artifact_uri.removeprefix("file://"))


def _kill_before_claim(home: Path, path: Path, name: str):
    """A real add SIGKILLed with its files uploaded, before its claim: its orphan run."""
    child = _spawn(home, path, name, {"CHILD_MODE": "kill-before-claim"})
    child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL
    (orphan,) = running_dataset_runs()
    assert (_artifacts(orphan) / "data.parquet").is_file() and len(leftovers(home)) == 1
    return orphan


def test_doctor_removes_the_run_files_and_folder_of_an_add_killed_before_its_claim(
    tmp_path,
) -> None:
    with isolated_home(tmp_path) as home:
        orphan = _kill_before_claim(home, write_csv(tmp_path / "part-300.csv", 300), "gone")
        code, report = doctor(home, "--dry-run")
        assert code == 1 and not report["healthy"]
        assert [f["repaired"] for f in report["findings"]] == [False, False]
        assert running_dataset_runs() != []  # a dry run changes nothing
        code, report = doctor(home)
        assert code == 0 and report["healthy"], report
        subjects = [f["subject"] for f in report["findings"]]
        assert subjects[0].startswith("tmp/add-")
        assert subjects[1] == f"dataset run {orphan.info.run_id}"
        assert running_dataset_runs() == [] and leftovers(home) == []
        assert not _artifacts(orphan).parent.exists()  # its files are gone
        assert list_versions() == []
        assert doctor(home) == (0, {"home": str(home), "healthy": True, "findings": []})


def test_the_next_add_tidies_a_killed_add_with_one_line_each(tmp_path) -> None:
    with isolated_home(tmp_path) as home:
        _kill_before_claim(home, write_csv(tmp_path / "part-300.csv", 300), "gone")
        path = write_csv(tmp_path / "part-200.csv", 200, seed=2)
        done = run_mlcycle(["data", "add", str(path), "--name", "next"], env=cli_env(home),
                           timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        tidied = [line for line in done.stderr.splitlines() if line.startswith("Tidied ")]
        assert len(tidied) == 2 and "killed before its commit" in tidied[1]
        assert running_dataset_runs() == [] and leftovers(home) == []
        assert [v.ref for v in list_versions()] == ["next@1"]


def test_a_version_whose_add_died_after_its_claim_is_finished_not_removed(tmp_path) -> None:
    with isolated_home(tmp_path) as home:
        path = write_csv(tmp_path / "part-250.csv", 250)
        child = _spawn(home, path, "late", {"CHILD_MODE": "kill-after-claim"})
        child.communicate(timeout=300)
        assert child.returncode == -signal.SIGKILL
        code, report = doctor(home)
        assert code == 0 and report["healthy"]
        assert [f["outcome"] for f in report["findings"]] == ["removed", "marked finished"]
        (version,) = list_versions("late")
        run = mlflow.MlflowClient().get_run(version.run_id)
        assert run.info.status == "FINISHED" and run.info.run_name == "late@1"
        _check_versions("late", [path], [1])


def test_an_add_in_progress_is_left_alone(tmp_path) -> None:
    with isolated_home(tmp_path) as home:
        hold = tmp_path / "hold"
        hold.mkdir()
        path = write_csv(tmp_path / "part-150.csv", 150)
        child = _spawn(home, path, "busy", {"CHILD_MODE": "hold-before-claim", "HOLD": str(hold)})
        try:
            deadline = time.monotonic() + 120
            while not (hold / "ready").exists():
                assert child.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            # Files uploaded, claim pending: neither doctor nor another add may touch it.
            assert doctor(home) == (0, {"home": str(home), "healthy": True, "findings": []})
            other = write_csv(tmp_path / "part-120.csv", 120, seed=3)
            done = run_mlcycle(["data", "add", str(other), "--name", "other"], env=cli_env(home),
                               timeout=300)  # fmt: skip
            assert done.returncode == 0 and "Tidied" not in done.stderr, done.stderr
            (busy,) = running_dataset_runs()
            assert (_artifacts(busy) / "data.parquet").is_file()
        finally:
            (hold / "go").touch()
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        _check_versions("busy", [path], [int(out.strip().splitlines()[-1])])


def test_an_owner_that_cannot_be_checked_is_presumed_gone_only_after_a_day(tmp_path) -> None:
    """Runs of another host, or of an older mlcycle, carry no lock this host can try."""
    with isolated_home(tmp_path):
        path = write_csv(tmp_path / "part-100.csv", 100)
        assert add_dataset(str(path), "seed").created  # makes the catalog
        use_tracking(get_settings())
        catalog = open_catalog(get_settings())
        client = mlflow.MlflowClient()
        now_ms = int(time.time() * 1000)
        tags = {ROLE_TAG: VERSION_ROLE, TAG + "name": "far"}
        elsewhere = {**tags, HOST_TAG: "another-host", WORK_TAG: "/elsewhere/tmp/add-1"}
        old = client.create_run(
            catalog.experiment_id, start_time=now_ms - 2 * 86_400_000, tags=tags
        )
        recent = client.create_run(catalog.experiment_id, start_time=now_ms, tags=elsewhere)
        result = check_home(get_settings())
        assert result.healthy
        assert [f.subject for f in result.findings] == [f"dataset run {old.info.run_id}"]
        assert [r.info.run_id for r in running_dataset_runs()] == [recent.info.run_id]


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
