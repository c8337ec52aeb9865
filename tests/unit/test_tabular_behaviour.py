"""Behaviour checks written as data: invariance, direction and cases, on real models."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from mlcycle.core.errors import InvalidInput
from mlcycle.models.sklearn import SklearnModel
from mlcycle.tasks.tabular.behaviour import BehaviourSpec, check
from tests.tabular import MIXED_TYPES, bundled, mixed_frame, one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)

SPEC = """
behaviour:
  invariance: [{column: sex}]
  direction: [{column: bmi, increases: target, step: 1.0}]
  cases:
    - {record: {bmi: 35, bp: 110}, expect_between: [50, 400]}
    - {record: {bmi: 18, bp: 80}, expect_between: [0, 1]}
"""


@pytest.fixture(scope="module")
def diabetes():
    frame, target, types = bundled("diabetes")
    model = SklearnModel.build("Ridge", {}, "regression", types).fit(frame, target)
    return model, frame


@pytest.fixture(scope="module")
def mixed():
    frame, classes, _ = mixed_frame()
    model = SklearnModel.build("LogisticRegression", {}, "classification", MIXED_TYPES)
    return model.fit(frame, classes), frame


def _spec(text: str) -> BehaviourSpec:
    return BehaviourSpec.model_validate(yaml.safe_load(text)["behaviour"])


def test_a_regression_spec_from_the_project_file(diabetes) -> None:
    model, frame = diabetes
    report = check(model, frame, _spec(SPEC))
    assert report.direction == 1.0  # Ridge's bmi coefficient is positive
    assert report.functionality == 0.5
    assert report.broken[-1].startswith("cases: case 2 -> ")
    assert report.broken[-1].endswith(", expected 0..1")
    sex = report.checks[0]
    assert sex.name == "invariance of sex" and sex.total == 200  # 200 rows, one other value
    assert report.invariance == sex.share < 0.2  # the linear model moves with sex
    assert re.match(r"invariance of sex: sex (1|2)\.0 -> (1|2)\.0 on row \d+: \d", report.broken[0])


def test_tolerance_and_the_opposite_direction(diabetes) -> None:
    model, frame = diabetes
    wrong = check(model, frame, _spec("behaviour: {direction: [{column: bmi, decreases: target}]}"))
    assert wrong.direction == 0.0
    assert wrong.broken[0].startswith("direction of bmi: bmi ")
    spec = "behaviour: {invariance: [{column: sex, tolerance: 1000}]}"
    assert check(model, frame, _spec(spec)).invariance == 1.0


def test_classification_invariance_direction_and_cases(mixed) -> None:
    model, frame = mixed
    spec = _spec(
        """
behaviour:
  invariance: [{column: city, values: [paris, lyon]}]
  direction: [{column: x, increases: high}, {column: x, decreases: low}]
  cases:
    - {record: {x: 4.0, city: paris, smoker: false}, expect: high}
    - {record: {x: -4.0, city: lille, smoker: true}, expect: low}
"""
    )
    report = check(model, frame, spec)
    assert report.direction == 1.0 and report.functionality == 1.0
    assert 0.0 < report.invariance < 1.0  # paris lifts the score: some classes change
    assert all(line.startswith("invariance of city: city ") for line in report.broken)


def test_a_column_the_model_does_not_use_is_invariant(mixed) -> None:
    model, frame = mixed
    extra = frame.assign(batch=np.arange(len(frame)) % 3)
    report = check(model, extra, _spec("behaviour: {invariance: [{column: batch}]}"))
    assert report.invariance == 1.0 and report.broken == []
    assert report.checks[0].total == 2 * 200


def test_no_check_written_is_no_failure(mixed) -> None:
    model, frame = mixed
    report = check(model, frame, BehaviourSpec())
    assert (report.invariance, report.direction, report.functionality) == (1.0, 1.0, 1.0)
    assert report.checks == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{invariance: [{column: sexe}]}",
            r"behaviour invariance names column 'sexe', which the data does not have",
        ),
        ("{direction: [{column: city, increases: high}]}", "needs a numeric column; 'city' is not"),
        (
            "{direction: [{column: x, increases: medium}]}",
            "names class 'medium', which the model does not know",
        ),
        ("{cases: [{record: {size: 3}, expect: high}]}", "case 1 names column 'size'"),
    ],
)
def test_specs_that_do_not_fit_the_model_are_one_sentence(mixed, text, message) -> None:
    model, frame = mixed
    with pytest.raises(InvalidInput, match=message):
        check(model, frame, _spec(f"behaviour: {text}"))


def test_a_class_expected_of_a_regression_is_refused(diabetes) -> None:
    model, frame = diabetes
    with pytest.raises(InvalidInput, match=r"expects a class .* of a regression"):
        check(model, frame, _spec("behaviour: {cases: [{record: {bmi: 30}, expect: 1}]}"))


@pytest.mark.parametrize(
    "text",
    [
        "{direction: [{column: x, increases: target, decreases: target}]}",
        "{direction: [{column: x}]}",
        "{cases: [{record: {x: 1}}]}",
        "{cases: [{record: {x: 1}, expect_between: [5, 1]}]}",
        "{invariances: [{column: x}]}",
        "{direction: [{column: x, increases: target, step: 0}]}",
    ],
)
def test_badly_written_checks_are_refused_when_read(text) -> None:
    with pytest.raises(ValidationError):
        _spec(f"behaviour: {text}")


def test_an_expected_class_written_as_a_number_is_text() -> None:
    spec = _spec("behaviour: {cases: [{record: {x: 1}, expect: 1}]}")
    assert spec.cases[0].expect == "1"
