"""What ``mlcycle init`` reads from a data file: columns, types, sample, cases."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.data.examples import example_frame
from mlcycle.loop.scaffold import _name, template
from mlcycle.loop.scaffold_data import MIN_CLASS_ROWS, SAMPLE_ROWS, plan_file

PENGUINS = Path(str(files("palmerpenguins") / "data" / "penguins-raw.csv"))


def test_a_classification_file_gives_features_types_a_sample_and_cases() -> None:
    plan = plan_file(PENGUINS, "classification", "Species", None)
    assert plan.target == "Species" and "Species" not in plan.features
    assert {"Region", "Stage", "Individual ID"} <= set(plan.left_out)  # constant, an id
    assert plan.types["Body Mass (g)"] == "numeric" and plan.types["Island"] == "categorical"
    counts = plan.sample["Species"].value_counts()
    assert len(counts) == 3 and counts.min() >= MIN_CLASS_ROWS
    assert len(plan.sample) <= SAMPLE_ROWS + 3 * MIN_CLASS_ROWS
    assert {case["expect"] for case in plan.cases} == set(counts.index)
    record = plan.cases[0]["record"]
    assert isinstance(record["Body Mass (g)"], float) and set(record) <= set(plan.features)


def test_regression_cases_are_bands_around_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "diabetes.csv"
    example_frame("diabetes").to_csv(path, index=False)
    plan = plan_file(path, "regression", "progression", None)
    assert len(plan.sample) == SAMPLE_ROWS and len(plan.cases) == 3
    low, high = plan.cases[0]["expect_between"]
    assert low < high


def test_a_text_file_needs_its_text_column(tmp_path: Path) -> None:
    path = tmp_path / "texts.csv"
    path.write_text("description,code\n" + "a plumber,A\nthe baker,B\n" * 12)
    with pytest.raises(InvalidInput, match="holds the text with --text COLUMN"):
        plan_file(path, "text-classification", "code", None)
    plan = plan_file(path, "text-classification", "code", "description")
    assert plan.features == ["description"] and len(plan.cases) == 2


def test_the_name_defaults_to_the_folder(tmp_path: Path) -> None:
    assert _name(None, tmp_path / "My Churn Model") == "my-churn-model"
    with pytest.raises(InvalidInput, match="cannot name a model"):
        _name("-bad", tmp_path)


def test_the_template_ships_in_the_package() -> None:
    assert (template() / "copier.yml").is_file()
    assert (template() / ".github" / "workflows" / "ci.yml").is_file()
