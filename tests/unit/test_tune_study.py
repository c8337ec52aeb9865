"""Storages and studies on a real journal file: joining, refusing, queueing, reaping."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from mlcycle.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from mlcycle.core.settings import get_settings
from mlcycle.train.tune.storage import (
    WORKER_ATTR,
    StorageSpec,
    reap_dead_local_trials,
    storage_spec,
)
from mlcycle.train.tune.study import (
    StudyPlan,
    join_study,
    load_existing,
    open_study,
    point_of,
)
from mlcycle.train.tune.workers import Budget

FINGERPRINT = {"metric": "accuracy_top1", "mode": "tpe", "space": {"dim": {"low": 1}}}


def _plan(**changes) -> StudyPlan:
    values = {"name": "s", "direction": "maximize", "fingerprint": FINGERPRINT, **changes}
    return StudyPlan(**values)


@pytest.fixture
def storage(tmp_path: Path):
    return StorageSpec(str(tmp_path / "journal")).open()


def test_default_storage_is_a_journal_under_the_home(project_home: Path) -> None:
    spec = storage_spec(None, 4, get_settings())
    assert spec.is_journal
    assert Path(spec.url) == project_home.resolve() / "tune" / "optuna.journal"


@pytest.mark.parametrize(
    ("url", "workers", "fragment"),
    [
        ("redis://localhost/0", 1, "scheme 'redis' is not supported"),
        ("sqlite:///x.db", 2, "SQLite storage is not safe for several worker processes"),
    ],
)
def test_storage_urls_refused(project_home: Path, url: str, workers: int, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        storage_spec(url, workers, get_settings())


def test_unreachable_database_is_unavailable_and_hides_the_password(project_home: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = storage_spec(f"postgresql://tuner:s3cret@127.0.0.1:{port}/optuna", 1, get_settings())
    with pytest.raises(Unavailable) as caught:
        spec.open()
    assert "Cannot open the tuning storage" in caught.value.message
    assert "s3cret" not in caught.value.message and "***" in caught.value.message


def test_joining_a_study_with_the_same_plan(storage) -> None:
    first = open_study(storage, _plan())
    again = open_study(storage, _plan())
    assert again._study_id == first._study_id
    recorded = json.loads(again.user_attrs["mlcycle.fingerprint"])
    assert recorded == FINGERPRINT


def test_a_study_with_another_direction_is_refused(storage) -> None:
    open_study(storage, _plan())
    with pytest.raises(Conflict, match="set to maximize its objective, but this search would"):
        open_study(storage, _plan(direction="minimize"))


def test_a_study_with_another_space_names_the_difference(storage) -> None:
    open_study(storage, _plan())
    other = {**FINGERPRINT, "space": {"dim": {"low": 2}}}
    with pytest.raises(Conflict) as caught:
        open_study(storage, _plan(fingerprint=other))
    assert "different space (dim: was" in caught.value.message
    assert "--study" in caught.value.message


def test_a_foreign_study_is_adopted_when_empty_and_refused_with_trials(
    storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlcycle.train.tune.study.READY_WAIT_S", 0.2)
    optuna.create_study(storage=storage, study_name="empty", direction="maximize")
    study = join_study(storage, _plan(name="empty"))
    assert "mlcycle.fingerprint" in study.user_attrs
    used = optuna.create_study(storage=storage, study_name="used", direction="maximize")
    used.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(Conflict, match="not created by mlcycle tune"):
        join_study(storage, _plan(name="used"))


def test_loading_a_missing_study_is_not_found(storage) -> None:
    with pytest.raises(NotFound, match="No study named 'nope'"):
        load_existing(storage, _plan(name="nope"))


def test_grid_points_are_queued_once_and_unfinished_ones_again(storage) -> None:
    grid = tuple({"dim": d} for d in (10, 20, 30))
    plan = _plan(grid=grid)
    study = open_study(storage, plan)
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 3
    open_study(storage, plan)  # a second worker joining queues nothing more
    assert len(study.get_trials()) == 3
    trial = study.ask()  # pops a queued point, then is interrupted
    trial.suggest_categorical("dim", [10, 20, 30])
    study.tell(trial, state=TrialState.FAIL)
    open_study(storage, plan)  # resuming queues the failed point again
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert sorted(point_of(t, ["dim"]) for t in waiting) == [
        json.dumps({"dim": d}) for d in (10, 20, 30)
    ]


def test_a_dead_local_workers_trial_is_failed_and_queued_again(storage) -> None:
    study = open_study(storage, _plan())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    trial = study.ask()
    trial.suggest_int("dim", 1, 9)
    trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{dead}")
    alive = study.ask()
    alive.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{__import__('os').getpid()}")
    assert reap_dead_local_trials(study) == [trial.number]
    states = {t.number: t.state for t in study.get_trials()}
    assert states[trial.number] == TrialState.FAIL
    assert states[alive.number] == TrialState.RUNNING
    retry = study.get_trials(states=(TrialState.WAITING,))
    assert len(retry) == 1 and retry[0].params == {"dim": trial.params["dim"]}


def test_budget_is_shared_and_exact() -> None:
    budget = Budget(2, None)
    assert [budget.take() for _ in range(3)] == [True, True, False]
    budget.give_back()
    assert budget.take() and not budget.take()
    assert Budget(None, None).take()
    assert not Budget(5, deadline=0.0).take()


def test_importance_of_a_grid_parameter_with_many_values() -> None:
    from mlcycle.train.tune.report import importance

    # Seeded: dim's values are drawn, and the ranking must not depend on the draw.
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    values = [round(0.05 * i, 2) for i in range(1, 33)]
    for value in values:  # a 32-point grid: one categorical with 32 choices
        study.enqueue_trial({"lr": value})
        trial = study.ask()
        lr = trial.suggest_categorical("lr", values)
        dim = trial.suggest_int("dim", 10, 20)
        study.tell(trial, lr - (lr - 0.8) ** 2 + dim * 1e-4)
    scores = importance(study, ["lr", "dim"], seed=1)
    assert set(scores) == {"lr", "dim"} and scores["lr"] > scores["dim"]
