"""``mlcycle tune`` as a user runs it: real processes, real journal, real MLflow store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from mlcycle.core.tracking import use_tracking
from mlcycle.data.writers import write_dataset
from mlcycle.tasks.text.generator import generate
from tests.conftest import cli_env
from tests.forked_cli import run_mlcycle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tune-cli") / "small.csv"
    write_dataset(generate(2500, seed=9), path)
    return path


def _cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_mlcycle(["tune", *args], env=cli_env(home), timeout=timeout)


def _study(home: Path, name: str = "nace-tune") -> optuna.Study:
    journal = JournalStorage(JournalFileBackend(str(home / "tune" / "optuna.journal")))
    return optuna.load_study(study_name=name, storage=journal)


def _children(parent_run_id: str) -> list:
    client = MlflowClient()
    experiment = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent_run_id}'")


def test_two_workers_run_every_grid_point_exactly_once(
    project_home: Path, data_file: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    # Trials of about a second, so the spawned worker joins before this process is done
    # (it joined about a second after the first trial began; 30 epochs took 2-8 s a trial).
    grid.write_text("dim: [40, 60, 80, 100]\nloss: [ova, softmax]\nepoch: 10\nbucket: 20000\n")
    done = _cli(
        project_home, "--grid", str(grid), "--workers", "2", "--data", str(data_file), "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ran"] == 8 and result["counts"] == {"complete": 8}

    trials = _study(project_home).get_trials()
    points = sorted((t.params["dim"], t.params["loss"]) for t in trials)
    assert points == sorted((d, loss) for d in (40, 60, 80, 100) for loss in ("ova", "softmax"))
    workers = {t.user_attrs["mlcycle.worker"] for t in trials}
    assert len(workers) == 2  # both processes took part

    use_tracking()
    children = _children(result["run_id"])
    assert len(children) == 8
    assert {c.data.tags["mlcycle.trial"] for c in children} == {str(t.number) for t in trials}
    assert MlflowClient().get_run(result["run_id"]).info.status == "FINISHED"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_keeps_finished_trials_and_resuming_continues(
    project_home: Path, data_file: Path, tmp_path: Path, workers: str
) -> None:
    space = tmp_path / "space.yaml"
    # Short fits: what is tested is the interrupt and the resume, not the models; a
    # trial still spends most of its time running (its MLflow run, then the fit).
    space.write_text(
        "dim: {low: 20, high: 60, step: 20}\nepoch: {low: 3, high: 8}\nbucket: 20000\n"
    )
    argv = [
        sys.executable,
        "-m",
        "mlcycle",
        "tune",
        "--space",
        str(space),
        "--data",
        str(data_file),
        "--trials",
        "60",
        "--workers",
        workers,
        "--no-prune",
    ]
    proc = subprocess.Popen(
        argv, env=cli_env(project_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            journal = project_home / "tune" / "optuna.journal"
            if journal.exists() and _count(project_home, TrialState.COMPLETE) >= 3:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # to the parent alone; it forwards to its workers
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Interrupted" in out and "run the same command again" in out
    assert "Traceback" not in err

    study = _study(project_home)
    kept, before = _count(project_home, TrialState.COMPLETE), len(study.get_trials())
    assert kept >= 3
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    use_tracking()
    client = MlflowClient()
    parents = client.search_runs(
        [client.get_experiment_by_name("nace").experiment_id],
        "tags.`mlcycle.study` = 'nace-tune' and attributes.run_name LIKE 'tune%'",
    )
    assert [p.info.status for p in parents] == ["KILLED"]
    open_runs = [
        (c.info.run_name, c.data.tags.get("mlcycle.trial_state"), c.data.metrics)
        for c in _children(parents[0].info.run_id)
        if c.info.status == "RUNNING"
    ]
    assert not open_runs, (open_runs, out, err)

    resumed = _cli(
        project_home,
        "--space",
        str(space),
        "--data",
        str(data_file),
        "--trials",
        "2",
        "--no-prune",
        "--json",
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["ran"] == 2
    assert _count(project_home, TrialState.COMPLETE) == kept + 2
    numbers = sorted(t.number for t in _study(project_home).get_trials())
    assert numbers == list(range(before + 2))  # the same study, numbering went on


def _count(home: Path, state: TrialState) -> int:
    try:
        study = _study(home)
    except KeyError:  # the journal is created a moment before the study's first record
        return 0
    return len(study.get_trials(deepcopy=False, states=(state,)))


@pytest.fixture(scope="module")
def refusing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home for the refused commands: none starts a study or a run, so they share it,
    and its MLflow database is created (all its migrations run) once, not per command."""
    return tmp_path_factory.mktemp("tune-mistakes") / "home"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--space", "{space}"], 2, "Unknown fastText parameter 'dims'"),
        (["--storage", "postgresql://u:pw@127.0.0.1:9/optuna"], 7, "Cannot open the tuning"),
        (["--workers", "0"], 2, "--workers must be at least 1"),
    ],
)
def test_mistakes_are_one_line_and_an_exit_code(
    refusing_home: Path, tmp_path: Path, args: list[str], code: int, fragment: str
) -> None:
    space = tmp_path / "bad.yaml"
    space.write_text("dims: {low: 1, high: 4}\n")
    done = _cli(refusing_home, *[a.replace("{space}", str(space)) for a in args])
    assert done.returncode == code, done.stderr
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
