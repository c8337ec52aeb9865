"""Holdouts follow the data, on a real MLflow store.

One store for the module: dataset ``alpha`` (two versions, the second holding the
first's rows and more) and dataset ``beta``, added in that order; a small model trained
on each without ``--data`` (the last one through the CLI). Each dataset has its own
frozen holdout, drawn from its first version trained on and reused for its later ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.holdout import find_holdout, freeze_holdout
from mlcycle.data.ingest import add_dataset
from mlcycle.data.writers import write_dataset
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.promotion import promote
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import load_training_data, train_model
from tests.conftest import isolated, one_sentence, project_path, run_cli, write_project

SMALL = {"dim": 16, "epoch": 4, "bucket": 10_000, "wordNgrams": 1}
PROJECT = f"""\
model: {{params: {json.dumps(SMALL)}}}
registry:
  environments:
    - {{name: production, gates: [quality, champion]}}
    - {{name: qa1, gates: [behaviour]}}
    - {{name: qa2, gates: [behaviour]}}
  gates:
    quality: {{minimums: {{accuracy_top1: 0.0}}}}
    champion: {{margin: 1.0}}
    behaviour: {{cases_file: cases.yaml, invariance_texts: 20, min_invariance: 0.0}}
  holdout: {{fraction: 0.1, max_rows: 150}}
"""


@dataclass(frozen=True)
class Store:
    home: Path
    alpha1: str  # the versions of nace trained on alpha@1, alpha@2, beta@1
    alpha2: str
    beta: str
    cli_output: str  # what `mlcycle train` printed for the last one


def _add(folder: Path, frame: pd.DataFrame, name: str) -> str:
    path = folder / f"{name}-{len(frame)}.csv"
    write_dataset(frame, path)
    return add_dataset(str(path), name).version.ref


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("lineage") / "home"
    write_project(home, PROJECT)
    (project_path(home).parent / "cases.yaml").write_text("coiffeur: 9602A\n")
    with isolated(home):
        first = generate(1500, seed=1)
        _add(home.parent, first, "alpha")
        alpha1 = train_model().version
        _add(home.parent, pd.concat([first, generate(400, seed=2)]), "alpha")
        alpha2 = train_model().version
        _add(home.parent, generate(1500, seed=3), "beta")
        done = run_cli(home, "train")
        assert done.returncode == 0, done.stderr[-3000:]
        get_settings.cache_clear()
        beta = mlflow.MlflowClient().get_model_version_by_alias("nace", "challenger").version
        yield Store(home, alpha1, alpha2, str(beta), done.stdout)


def _tags(version: str) -> dict[str, str]:
    return dict(mlflow.MlflowClient().get_model_version("nace", version).tags)


def _params(version: str) -> dict[str, str]:
    run_id = mlflow.MlflowClient().get_model_version("nace", version).run_id
    return mlflow.get_run(run_id).data.params


def test_a_dataset_draws_its_holdout_from_its_first_version_and_reuses_it(store: Store) -> None:
    holdout = find_holdout("alpha", get_settings())
    assert holdout is not None and holdout.source == "alpha@1" and len(holdout.frame) == 150
    first, second = _tags(store.alpha1), _tags(store.alpha2)
    for tags in (first, second):
        assert tags["mlcycle.holdout_dataset"] == "alpha"
        assert tags["mlcycle.holdout_version"] == "1"
        assert tags["mlcycle.holdout_digest"] == holdout.digest
    assert second["mlcycle.dataset_ref"] == "alpha@2"
    # alpha@2 holds alpha@1's rows: its training leaves the same holdout out (the
    # holdout rows its split puts on the training side; the others are evaluated).
    for version in (store.alpha1, store.alpha2):
        assert 100 < int(_params(version)["holdout_rows_excluded"]) <= 150


def test_another_dataset_gets_a_holdout_of_its_own(store: Store) -> None:
    alpha, beta = find_holdout("alpha", get_settings()), find_holdout("beta", get_settings())
    assert beta is not None and beta.source == "beta@1" and beta.digest != alpha.digest
    tags = _tags(store.beta)
    assert tags["mlcycle.holdout_dataset"] == "beta" and tags["mlcycle.dataset_ref"] == "beta@1"


def test_train_without_data_uses_the_latest_dataset_added_and_says_so(store: Store) -> None:
    out = " ".join(store.cli_output.split())
    assert "dataset beta@1 (1,500 rows)" in out and "the latest dataset added" in out
    assert "holdout of beta" in out
    # The project file naming a dataset wins over the latest added.
    settings = get_settings()
    named = settings.model_copy(
        update={"data": settings.data.model_copy(update={"dataset": "alpha"})}
    )
    chosen = load_training_data(None, named)
    assert chosen.ref == "alpha@2" and "data.dataset" in chosen.reason


def test_gates_judge_a_version_on_its_own_datasets_holdout_and_say_so(store: Store) -> None:
    settings = get_settings()
    first = promote("nace", store.alpha1, "production", settings=settings)
    assert first.moved, [(g.name, g.detail) for g in first.gates]
    assert first.to_dict()["holdout"]["dataset"] == "alpha"
    moved = promote("nace", store.beta, "production", settings=settings)
    assert moved.moved, [(g.name, g.detail) for g in moved.gates]
    assert moved.to_dict()["holdout"] == {
        "dataset": "beta", "version": 1, "rows": 150, "source": "beta@1",
        "digest": find_holdout("beta", settings).digest,
    }  # fmt: skip
    gates = {g.name: g for g in moved.gates}
    assert "holdout of beta" in gates["quality"].detail
    # The champion was trained on another dataset: the comparison says so.
    assert f"version {store.alpha1}" in gates["champion"].detail
    assert "alpha" in gates["champion"].detail and "may have trained" in gates["champion"].detail
    back = promote("nace", store.alpha2, "production", settings=settings)
    assert back.to_dict()["holdout"]["dataset"] == "alpha"
    assert "beta" in {g.name: g for g in back.gates}["champion"].detail


def test_the_behaviour_refusal_names_the_cases_file_and_the_setting(store: Store) -> None:
    settings = get_settings()
    texts = generate(60, seed=9)["text"].drop_duplicates().head(10).tolist()
    model = load_served_model(f"nace/{store.alpha1}").model
    answers = [str(code) for code in model.predict(texts, k=1).codes[:, 0]]
    cases_file = project_path(store.home).parent / "cases.yaml"

    def write_cases(misses: int) -> None:
        wrong = ["0111Z" if code != "0111Z" else "0112Z" for code in answers[:misses]]
        cases = dict(zip(texts, wrong + answers[misses:], strict=True))
        cases_file.write_text(yaml.safe_dump(cases, allow_unicode=True), encoding="utf-8")

    write_cases(misses=1)  # nine of ten: the default minimum lets one miss in ten pass
    passed = promote("nace", store.alpha1, "qa1", settings=settings)
    assert passed.moved, [(g.name, g.figure, g.detail) for g in passed.gates]
    write_cases(misses=2)
    refused = promote("nace", store.alpha1, "qa2", settings=settings)
    assert not refused.moved
    detail = refused.gates[0].detail
    assert str(cases_file) in detail
    assert "registry.gates.behaviour.min_functionality" in detail
    assert str(project_path(store.home)) in detail


def test_a_holdout_that_fails_to_store_leaves_nothing_behind(project_home: Path) -> None:
    settings = get_settings()
    use_tracking(settings)
    broken = pd.DataFrame({"text": ["coiffeur", 12], "label": ["9602A", "9602A"]})
    with pytest.raises(Exception):  # noqa: B017 - the store's own error, whatever it is
        freeze_holdout("gamma", broken, settings, source="gamma@1")
    assert find_holdout("gamma", settings) is None
    rows = pd.DataFrame({"text": ["coiffeur", "taxi"], "label": ["9602A", "4932Z"]})
    held, frozen = freeze_holdout("gamma", rows, settings, source="gamma@1")
    assert frozen and held.version == 1 and find_holdout("gamma", settings).digest == held.digest


def test_holdout_redraw_and_show_on_the_command_line(project_home: Path) -> None:
    _add(project_home.parent, generate(800, seed=4), "gamma")
    unknown = one_sentence(run_cli(project_home, "models", "holdout", "redraw", "--dataset",
                                   "nope"))  # fmt: skip
    assert "'nope'" in unknown and "gamma" in unknown
    drawn = run_cli(project_home, "models", "holdout", "redraw")  # the project's dataset
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert "Drew the holdout of gamma: version 1" in " ".join(drawn.stdout.split())
    again = run_cli(project_home, "models", "holdout", "redraw", "--dataset", "gamma")
    said = " ".join(again.stdout.split())
    assert again.returncode == 0 and "Redrew the holdout of gamma: version 2" in said
    assert "Version 1 (80 rows from gamma@1) is retired" in said
    shown = run_cli(project_home, "models", "holdout", "show", "--json")
    assert shown.returncode == 0, shown.stderr[-2000:]
    (current,) = json.loads(shown.stdout)["holdouts"]
    assert current["dataset"] == "gamma" and current["version"] == 2
    assert current["source"] == "gamma@1" and current["rows"] == 80
