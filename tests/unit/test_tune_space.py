"""Search spaces and grids: typed by their entries, judged by the model family before
any trial; every mistake is one clear sentence, valid ones build right."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from sklearn.base import is_regressor

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.models.fasttext import FastTextParams
from mlcycle.models.fasttext.family import DEFAULT_SPACE as DEFAULT_TUNE_SPACE
from mlcycle.models.fasttext.family import FastTextFamily
from mlcycle.models.sklearn.estimators import import_class
from mlcycle.models.sklearn.family import SklearnFamily
from mlcycle.models.sklearn.spaces import SPACES
from mlcycle.train.tune.space import PointCheck, load_grid_file, load_space_file, parse_space

BASE = FastTextParams(thread=1).as_dict()
FASTTEXT = PointCheck(FastTextFamily(), "text-classification", {"text": "text"})
TYPES = {"x": "numeric", "city": "categorical"}


def _space_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_default_space_is_valid_and_samples_valid_parameters() -> None:
    space = parse_space(DEFAULT_TUNE_SPACE, BASE, "defaults", FASTTEXT)
    assert space.names == list(DEFAULT_TUNE_SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(30):
        params = FastTextFamily().reconcile(space.suggest(study.ask()))
        FastTextParams(**params)  # raises if minn/maxn or any value were incoherent
        assert 25 <= params["dim"] <= 200 and params["dim"] % 25 == 0
        assert params["loss"] in ("ova", "softmax", "hs")


def test_space_file_ranges_choices_and_fixed_values(tmp_path: Path) -> None:
    path = _space_file(
        tmp_path,
        "space:\n  dim: {low: 10, high: 40, step: 10}\n  lr: {low: 0.05, high: 1, log: true}\n"
        "  loss: [ova, softmax]\n  epoch: 7\n",
    )
    space = load_space_file(path, BASE, FASTTEXT)
    assert space.names == ["dim", "lr", "loss"]
    assert space.fixed["epoch"] == 7 and space.fixed["thread"] == 1
    assert space.describe()["lr"] == {"low": 0.05, "high": 1.0, "log": True}
    assert space.describe()["loss"] == {"choices": ["ova", "softmax"]}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("dims: {low: 1, high: 5}\n", "parameter 'dims' at 1: Unknown fastText parameter 'dims'"),
        ("dim: {low: 50, high: 10}\n", "empty range (low 50 > high 10)"),
        ("loss: []\n", "empty list of choices"),
        ("dim: {low: 10, high: 40, step: 0}\n", "a step must be positive"),
        ("maxn: {low: 0, high: 6, log: true}\n", "low must be above 0"),
        ("lr: {low: 0, high: 1}\n", "lr must be positive"),
        ("dim: {low: ten, high: 40}\n", "low and high must be numbers"),
        ("lr: {low: 1e-3, high: 1.0}\n", "YAML reads 1e-3 as text, write it with a dot"),
        ("dim: {low: 10.0, high: 40.0}\n", "parameter 'dim' at 31.2132: fastText parameter dim="),
        ("dim: {low: 10, high: 40, step: 2.5}\n", "whole for an integer range"),
        ("loss: [ova, [hs]]\n", "a value to choose is a number, text"),
        ("loss: [ova, bogus]\n", "parameter 'loss' at 'bogus': Invalid fastText parameter"),
        ("foo: 3\ndim: [10, 20]\n", "Unknown fastText parameter 'foo'"),
        ("dim: {min: 1, max: 4}\n", "a range needs low and high"),
        ("loss: {low: 1, high: 2}\n", "loss must be one of ova, softmax, hs"),
        ("dim: {low: 0, high: 40}\n", "dim must be at least 1"),
        ("epoch: 5\n", "fixes every parameter"),
        ("[1, 2]\n", "must map parameter names"),
        ("dim: {low: 1\n", "not valid YAML at line"),
    ],
)
def test_bad_space_files_are_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = _space_file(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        load_space_file(path, BASE, FASTTEXT)
    assert fragment in caught.value.message
    assert str(path) in caught.value.message


def test_missing_space_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_space_file(tmp_path / "nope.yaml", BASE, FASTTEXT)


def test_fasttext_keeps_a_sampled_minn_within_maxn() -> None:
    reconcile = FastTextFamily().reconcile
    assert reconcile({"minn": 5, "maxn": 3})["minn"] == 3
    assert reconcile({"minn": 0, "maxn": 3})["minn"] == 1
    assert reconcile({"minn": 4, "maxn": 0})["minn"] == 4  # no character n-grams at all
    assert reconcile({"minn": "x", "maxn": 3})["minn"] == "x"  # left to the parameters' check


def test_the_kind_of_a_range_comes_from_its_bounds() -> None:
    space = parse_space(
        {"dim": {"low": 10, "high": 40}, "lr": {"low": 0.1, "high": 1}, "epoch": [3, 5]},
        BASE,
        "space",
        FASTTEXT,
    )
    kinds = {spec.name: spec.kind for spec in space.specs}
    assert kinds == {"dim": "int", "lr": "float", "epoch": "choice"}
    assert space.describe()["lr"] == {"low": 0.1, "high": 1.0}


def test_grid_mapping_is_every_combination(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("dim: [25, 50, 25]\nloss: [ova, hs]\nepoch: 5\n")
    grid = load_grid_file(path, BASE, FASTTEXT)
    assert len(grid.points) == 4  # the repeated 25 counts once
    assert {p["dim"] for p in grid.points} == {25, 50}
    assert all(p["epoch"] == 5 for p in grid.points)
    assert grid.space.names == ["dim", "epoch", "loss"]


def test_grid_list_is_the_explicit_parameter_sets(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("- {dim: 25}\n- {dim: 150, lr: 0.5}\n")
    grid = load_grid_file(path, BASE, FASTTEXT)
    assert grid.points == ({"dim": 25, "lr": 0.2}, {"dim": 150, "lr": 0.5})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("dim: [25]\nfoo: [1]\n", "parameter set 1: Unknown fastText parameter 'foo'"),
        ("- {dim: 25}\n- {minn: 5, maxn: 3}\n", "parameter set 2"),
        ("{}\n", "empty or of another shape"),
        ("- 25\n", "empty or of another shape"),
    ],
)
def test_bad_grid_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=fragment.replace("(", r"\(")):
        load_grid_file(path, BASE, FASTTEXT)


def test_a_grid_set_missing_a_varied_parameter_that_nothing_fixes(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("- {dim: 25}\n- {dim: 50, lr: 0.5}\n")
    with pytest.raises(InvalidInput, match="parameter set 1, has no 'lr', which other sets vary"):
        load_grid_file(path, {"thread": 1}, FASTTEXT)


@pytest.mark.parametrize("estimator", sorted(SPACES))
def test_every_default_sklearn_space_is_one_its_estimator_accepts(estimator: str) -> None:
    family = SklearnFamily()
    task = "regression" if is_regressor(import_class(estimator)()) else "classification"
    params = {"estimator": estimator}
    space = parse_space(
        family.default_space(params, task), params, "default", PointCheck(family, task, TYPES)
    )
    assert space.names == list(SPACES[estimator])


def test_an_sklearn_space_is_typed_by_its_entries_and_judged_by_the_estimator() -> None:
    check = PointCheck(SklearnFamily(), "classification", TYPES)
    base = {"estimator": "RandomForestClassifier"}
    space = parse_space(
        {"n_estimators": {"low": 5, "high": 30}, "max_features": ["sqrt", 0.5, None]},
        base,
        "space",
        check,
    )
    assert [spec.kind for spec in space.specs] == ["int", "choice"]
    for raw, fragment in [
        ({"n_estimator": {"low": 5, "high": 30}}, "has no parameter 'n_estimator' (did you mean"),
        ({"n_estimators": {"low": 5.0, "high": 30.0}}, "must be an int in the range"),
        ({"max_depth": {"low": 0, "high": 4}}, "parameter 'max_depth' at 0:"),
        ({"criterion": ["gini", "purity"]}, "parameter 'criterion' at 'purity':"),
    ]:
        with pytest.raises(InvalidInput, match=re.escape(fragment)) as caught:
            parse_space(raw, base, "project file's tune.space", check)
        assert caught.value.message.startswith("The project file's tune.space, parameter")


def test_an_estimator_without_a_default_space_asks_for_tune_space() -> None:
    with pytest.raises(InvalidInput) as caught:
        SklearnFamily().default_space({"estimator": "GaussianNB"}, "classification")
    assert caught.value.message == (
        "mlcycle has no default search space for GaussianNB; give one as tune.space in the "
        "project file (each parameter a {low, high} range or a list of choices)."
    )
