"""``tune`` in this process against a real MLflow store and a real journal file."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlcycle.core.errors import Conflict, InvalidInput, NotFound
from mlcycle.core.settings import get_settings
from mlcycle.data.writers import write_dataset
from mlcycle.registry.ops import resolve
from mlcycle.tasks.text.generator import generate
from mlcycle.train.tune import TuneOptions, TuneStatus, tune
from tests.conftest import write_project

SPACE = (
    "dim: {low: 10, high: 40, step: 10}\nlr: {low: 0.1, high: 1.0, log: true}\n"
    "epoch: {low: 3, high: 8}\nloss: [ova, softmax]\nbucket: 20000\n"
)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tune") / "small.csv"
    write_dataset(generate(2500, seed=8), path)
    return path


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def _options(data: Path, space: Path, **changes) -> TuneOptions:
    values = {"data": str(data), "space": space, "trials": 6, "seed": 7, **changes}
    return TuneOptions(**values)


def test_parent_run_child_runs_results_and_registration(
    project_home: Path, data_file: Path, space_file: Path
) -> None:
    seen: list[TuneStatus] = []
    result = tune(_options(data_file, space_file, register=True), progress=seen.append)

    client = MlflowClient()
    parent = client.get_run(result.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["study"] == "nace-tune"
    assert parent.data.metrics["best_accuracy_top1"] == pytest.approx(result.best["value"])
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert len(children) == 6 == result.ran
    for child in children:
        assert child.data.tags["mlcycle.trial_state"] in ("COMPLETE", "PRUNED")
        assert "duration_s" in child.data.metrics and "dim" in child.data.params
    complete = [c for c in children if c.data.tags["mlcycle.trial_state"] == "COMPLETE"]
    assert all("accuracy_top1" in c.data.metrics for c in complete)

    artifacts = {a.path for a in client.list_artifacts(result.run_id, "tune/plots")}
    assert {"tune/plots/history.png", "tune/plots/accuracy_top1_vs_dim.png"} <= artifacts
    tables = {a.path for a in client.list_artifacts(result.run_id, "tune")}
    assert {"tune/importance.csv", "tune/trials.csv", "tune/best.json"} <= tables
    assert set(result.importance) <= {"dim", "lr", "epoch", "loss"} and result.importance

    # Progress reached 6 of 6 and always showed the best score seen so far.
    assert seen[-1].done == 6 and seen[-1].total == 6
    assert seen[-1].best_value == pytest.approx(result.best["value"])

    # --register: best configuration trained on the full training split, a challenger.
    registered = resolve("nace@challenger")
    assert registered.version == result.registered["version"]
    run = client.get_run(registered.run_id)
    assert run.data.tags["mlcycle.tune_run"] == result.run_id
    assert int(run.data.params["dim"]) == result.best["params"]["dim"]
    assert client.get_run(result.run_id).data.tags["mlcycle.registered_version"] == "1"


def test_same_seed_same_trials_same_best(
    project_home: Path, data_file: Path, space_file: Path, tmp_path: Path
) -> None:
    first = tune(_options(data_file, space_file, storage=str(tmp_path / "a.journal")))
    second = tune(_options(data_file, space_file, storage=str(tmp_path / "b.journal")))
    assert first.best["params"] == second.best["params"]
    assert first.best["value"] == second.best["value"]
    assert first.counts == second.counts


def test_resuming_continues_the_study(
    project_home: Path, data_file: Path, space_file: Path
) -> None:
    tune(_options(data_file, space_file, trials=2))
    result = tune(_options(data_file, space_file, trials=2))
    assert result.ran == 2 and sum(result.counts.values()) == 4


def test_the_project_file_sets_the_space_and_the_trials(
    project_home: Path, data_file: Path
) -> None:
    project_home.mkdir(parents=True, exist_ok=True)
    write_project(
        project_home,
        "tune:\n  trials: 2\n  space:\n    dim: [10, 20]\n    epoch: 3\n    bucket: 20000\n",
    )
    get_settings.cache_clear()
    result = tune(TuneOptions(data=str(data_file)))
    assert result.ran == 2
    assert result.best["params"]["epoch"] == 3 and result.best["params"]["bucket"] == 20000
    assert result.best["params"]["dim"] in (10, 20)


def test_a_changed_space_or_direction_is_refused(
    project_home: Path, data_file: Path, space_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tune(_options(data_file, space_file, trials=0))
    space_file.write_text(SPACE.replace("high: 40", "high: 60"))
    with pytest.raises(Conflict, match=r"different space \(dim: was"):
        tune(_options(data_file, space_file, trials=0))
    space_file.write_text(SPACE)
    monkeypatch.setenv("MLCYCLE_TUNE__DIRECTION", "minimize")
    get_settings.cache_clear()
    with pytest.raises(Conflict, match="set to maximize its objective"):
        tune(_options(data_file, space_file, trials=0))


def test_bad_input_fails_before_any_run(
    project_home: Path, data_file: Path, space_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="not both"):
        tune(_options(data_file, space_file, grid=tmp_path / "grid.yaml"))
    with pytest.raises(InvalidInput, match="--trials must be"):
        tune(_options(data_file, space_file, trials=-1))
    with pytest.raises(NotFound, match="does not exist"):
        tune(_options(data_file, tmp_path / "missing.yaml"))
    with pytest.raises(InvalidInput, match="no complete trial to register"):
        tune(_options(data_file, space_file, trials=0, register=True))
