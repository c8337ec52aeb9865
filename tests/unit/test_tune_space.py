"""Search spaces and grids: every mistake is one clear sentence, valid ones build right."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.models.fasttext import FastTextParams
from mlcycle.models.fasttext.family import DEFAULT_SPACE as DEFAULT_TUNE_SPACE
from mlcycle.train.tune.space import (
    coherent,
    load_grid_file,
    load_space_file,
    parse_space,
)

BASE = FastTextParams(thread=1).as_dict()


def _space_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_default_space_is_valid_and_samples_valid_parameters() -> None:
    space = parse_space(DEFAULT_TUNE_SPACE, BASE, "defaults")
    assert space.names == list(DEFAULT_TUNE_SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(30):
        params = space.suggest(study.ask())
        FastTextParams(**params)  # raises if minn/maxn or any value were incoherent
        assert 25 <= params["dim"] <= 200 and params["dim"] % 25 == 0
        assert params["loss"] in ("ova", "softmax", "hs")


def test_space_file_ranges_choices_and_fixed_values(tmp_path: Path) -> None:
    path = _space_file(
        tmp_path,
        "space:\n  dim: {low: 10, high: 40, step: 10}\n  lr: {low: 0.05, high: 1, log: true}\n"
        "  loss: [ova, softmax]\n  epoch: 7\n",
    )
    space = load_space_file(path, BASE)
    assert space.names == ["dim", "lr", "loss"]
    assert space.fixed["epoch"] == 7 and space.fixed["thread"] == 1
    assert space.describe()["lr"] == {"low": 0.05, "high": 1.0, "log": True}
    assert space.describe()["loss"] == {"choices": ["ova", "softmax"]}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("dims: {low: 1, high: 5}\n", "unknown parameter 'dims'"),
        ("dim: {low: 50, high: 10}\n", "empty range (low 50 > high 10)"),
        ("loss: []\n", "empty list of choices"),
        ("dim: {low: 10, high: 40, step: 0}\n", "a step must be positive"),
        ("maxn: {low: 0, high: 6, log: true}\n", "low must be above 0"),
        ("lr: {low: 0, high: 1}\n", "lr must be positive"),
        ("dim: {low: ten, high: 40}\n", "not a valid int"),
        ("dim: {min: 1, max: 4}\n", "a range needs low and high"),
        ("loss: {low: 1, high: 2}\n", "it takes a list of choices"),
        ("dim: {low: 0, high: 40}\n", "dim must be at least 1"),
        ("epoch: 5\n", "fixes every parameter"),
        ("[1, 2]\n", "must map parameter names"),
        ("dim: {low: 1\n", "not valid YAML at line"),
    ],
)
def test_bad_space_files_are_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = _space_file(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        load_space_file(path, BASE)
    assert fragment in caught.value.message
    assert str(path) in caught.value.message


def test_missing_space_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_space_file(tmp_path / "nope.yaml", BASE)


def test_coherent_keeps_minn_within_maxn() -> None:
    assert coherent({"minn": 5, "maxn": 3})["minn"] == 3
    assert coherent({"minn": 0, "maxn": 3})["minn"] == 1
    assert coherent({"minn": 4, "maxn": 0})["minn"] == 4  # no character n-grams at all


def test_grid_mapping_is_every_combination(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("dim: [25, 50, 25]\nloss: [ova, hs]\nepoch: 5\n")
    grid = load_grid_file(path, BASE)
    assert len(grid.points) == 4  # the repeated 25 counts once
    assert {p["dim"] for p in grid.points} == {25, 50}
    assert all(p["epoch"] == 5 for p in grid.points)
    assert grid.space.names == ["dim", "epoch", "loss"]


def test_grid_list_is_the_explicit_parameter_sets(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("- {dim: 25}\n- {dim: 150, lr: 0.5}\n")
    grid = load_grid_file(path, BASE)
    assert grid.points == ({"dim": 25, "lr": 0.2}, {"dim": 150, "lr": 0.5})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("dim: [25]\nfoo: [1]\n", "unknown parameter 'foo'"),
        ("- {dim: 25}\n- {minn: 5, maxn: 3}\n", "parameter set 2"),
        ("{}\n", "empty or of another shape"),
        ("- 25\n", "empty or of another shape"),
    ],
)
def test_bad_grid_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=fragment.replace("(", r"\(")):
        load_grid_file(path, BASE)
