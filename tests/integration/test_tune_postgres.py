"""Distributed tuning on a real PostgreSQL: two worker processes, one killed mid-trial.

A throwaway cluster is made with Debian's ``initdb``/``pg_ctl`` in a temporary folder
(as user ``postgres`` when run as root, since PostgreSQL refuses to run as root) and
listens on a free loopback port. The killed worker's trial must be marked failed by
heartbeat and run again, to completion, by the surviving worker.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import ensure_experiment, use_tracking
from mlcycle.data.writers import write_dataset
from mlcycle.tasks.text.generator import generate
from tests.conftest import cli_env

pytestmark = pytest.mark.slow


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL cluster for this module; stopped and removed afterwards."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("No PostgreSQL server binaries (pg_ctl); install Debian's postgresql.")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("Running as root without runuser; cannot start PostgreSQL as postgres.")
    root = Path(tempfile.mkdtemp(prefix="mlcycle-pg-"))
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        **run,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_server_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        **run,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def _worker(home: Path, env: dict[str, str], url: str, seed: int, trials: int, log: Path):
    argv = [
        sys.executable,
        "-m",
        "mlcycle",
        "tune",
        "--storage",
        url,
        "--study",
        "shared",
        "--space",
        str(home.parent / "space.yaml"),
        "--data",
        str(home.parent / "data.csv"),
        "--trials",
        str(trials),
        "--seed",
        str(seed),
        "--no-prune",
        "--json",
    ]
    return subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def use_tracking_settings():
    settings = get_settings()
    use_tracking(settings)
    return settings


def _running_trial_of(study_name: str, url: str, pid: int, deadline: float) -> int:
    """Wait until process ``pid`` is inside a trial; return that trial's number."""
    while time.monotonic() < deadline:
        try:
            study = optuna.load_study(study_name=study_name, storage=url)
        except KeyError:
            time.sleep(0.2)
            continue
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if str(trial.user_attrs.get("mlcycle.worker", "")).endswith(f":{pid}"):
                return trial.number
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} never started a trial")


def test_two_workers_one_killed_its_trial_is_retried(
    postgres_url: str, project_home: Path, tmp_path: Path
) -> None:
    home = project_home
    # Two fresh processes would both create the embedded MLflow database; on a team
    # the tracking store is a server that already exists.
    ensure_experiment("nace", use_tracking_settings())
    write_dataset(generate(3000, seed=4), tmp_path / "data.csv")
    # Trials of about a second each, so the killed one is caught mid-fit (the default
    # one-vs-all loss over 732 classes: 25 epochs on these rows took 3-7 s a trial).
    (tmp_path / "space.yaml").write_text(
        "dim: {low: 40, high: 80, step: 20}\nlr: {low: 0.1, high: 0.5}\nepoch: [8, 10]\n"
    )
    env = cli_env(home)
    env.update(MLCYCLE_TUNE__HEARTBEAT_INTERVAL="1", MLCYCLE_TUNE__GRACE_PERIOD="2")
    survivor = _worker(home, env, postgres_url, 0, 12, tmp_path / "a.log")
    doomed = _worker(home, env, postgres_url, 1, 50, tmp_path / "b.log")
    try:
        # Both are inside trials at once; the survivor then has most of its 12 trials left,
        # far more than the 2 s grace period after which it sees the killed trial stale.
        deadline = time.monotonic() + 180
        _running_trial_of("shared", postgres_url, survivor.pid, deadline)
        killed = _running_trial_of("shared", postgres_url, doomed.pid, deadline)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(30)
        assert survivor.wait(240) == 0, (tmp_path / "a.log").read_text()
    finally:
        for proc in (survivor, doomed):
            if proc.poll() is None:
                proc.kill()

    trials = optuna.load_study(study_name="shared", storage=postgres_url).get_trials()
    by_number = {t.number: t for t in trials}
    story = [(t.number, t.state.name, t.user_attrs.get("mlcycle.worker")) for t in trials]
    assert by_number[killed].state == TrialState.FAIL, story  # by the survivor's heartbeat check
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1, story
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == by_number[killed].params
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    survivor_pid = f":{survivor.pid}"
    done = [t for t in trials if str(t.user_attrs.get("mlcycle.worker")).endswith(survivor_pid)]
    assert len(done) == 12 and all(t.state == TrialState.COMPLETE for t in done)
