"""The compiled record path gives the pipeline's own predictions (to 1e-9), or says why not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Prediction
from mlcycle.models.sklearn import SklearnModel, compile_preprocessor
from tests.tabular import MIXED_TYPES, mixed_frame, one_thread, random_records

pytestmark = pytest.mark.usefixtures(one_thread.__name__)

ESTIMATORS = [
    ("HistGradientBoostingClassifier", {"max_iter": 30}, "classification"),
    ("RandomForestClassifier", {"n_estimators": 20, "random_state": 0}, "classification"),
    ("LogisticRegression", {"max_iter": 500}, "classification"),
    ("Ridge", {}, "regression"),
    ("HistGradientBoostingRegressor", {"max_iter": 30}, "regression"),
]


@pytest.fixture(scope="module", params=ESTIMATORS, ids=[e[0] for e in ESTIMATORS])
def model(request) -> SklearnModel:
    name, params, kind = request.param
    frame, classes, values = mixed_frame()
    target = classes if kind == "classification" else values
    return SklearnModel.build(name, params, kind, MIXED_TYPES).fit(frame, target)


def _pipeline_output(model: SklearnModel, records: list[dict]) -> np.ndarray:
    frame = pd.DataFrame(records)
    if model.kind == "classification":
        return model.pipeline.predict_proba(frame)
    return model.pipeline.predict(frame)


def _compiled_output(model: SklearnModel, records: list[dict]) -> np.ndarray:
    matrix = model.compiled().transform(records)
    final = model.pipeline.named_steps["model"]
    return final.predict_proba(matrix) if model.kind == "classification" else final.predict(matrix)


def test_compiled_equals_the_pipeline_on_a_batch(model) -> None:
    assert model.compiled() is not None
    records = random_records(300)
    expected = _pipeline_output(model, records)
    np.testing.assert_allclose(_compiled_output(model, records), expected, rtol=0, atol=1e-9)


def test_compiled_equals_the_pipeline_one_record_at_a_time(model) -> None:
    for record in random_records(40, seed=7):
        expected = _pipeline_output(model, [record])
        got = _compiled_output(model, [record])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=str(record))


def test_predict_records_ranks_like_predict(model) -> None:
    records = random_records(50, seed=3)
    fast = model.predict_records(records, k=2)
    slow = model.predict(pd.DataFrame(records), k=2)
    if isinstance(fast, Prediction):
        assert (fast.codes == slow.codes).all()
        np.testing.assert_allclose(fast.probs, slow.probs, rtol=0, atol=1e-9)
        assert fast.probs.shape == (50, 2) and (np.diff(fast.probs, axis=1) <= 0).all()
    else:
        np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": "abc"}, r"Record 0, column 'x': 'abc' is not a number; send a value"),
        ({"x": float("inf")}, r"Record 0, column 'x': inf is not a finite number"),
        ({"x": [1, 2]}, r"column 'x': \[1, 2\] is not a number"),
        ({"city": ["a"]}, r"column 'city': \['a'\] is not a single value"),
        ({"seen": "next tuesday"}, r"column 'seen': 'next tuesday' is not a date"),
    ],
)
def test_values_the_pipeline_refuses_are_one_sentence(model, change, message) -> None:
    record = {**random_records(1)[0], **change}
    with pytest.raises(InvalidInput, match=message):
        model.predict_records([record])
    with pytest.raises((ValueError, TypeError)):  # the pipeline refuses them too
        _pipeline_output(model, [record])


def test_a_feature_missing_from_every_record_is_named(model) -> None:
    record = random_records(1)[0]
    del record["z"]
    with pytest.raises(InvalidInput, match=r"no column 'z', which the model was trained with"):
        model.predict_records([record])
    some = [record, random_records(1)[0]]  # missing from one record only: a null
    np.testing.assert_allclose(
        _compiled_output(model, some), _pipeline_output(model, some), rtol=0, atol=1e-9
    )


def test_records_must_be_objects_and_not_none(model) -> None:
    with pytest.raises(InvalidInput, match="Record 1 is not an object"):
        model.predict_records([random_records(1)[0], [1, 2]])
    with pytest.raises(InvalidInput, match="no record to predict"):
        model.predict_records([])


def test_an_unknown_step_falls_back_to_the_pipeline() -> None:
    frame, classes, _ = mixed_frame()
    model = SklearnModel.build("LogisticRegression", {}, "classification", MIXED_TYPES)
    numeric = model.pipeline.named_steps["preprocess"].transformers[0][1]
    numeric.steps[1] = ("scale", MinMaxScaler())
    model.fit(frame, classes)
    assert compile_preprocessor(model.pipeline) is None and model.compiled() is None
    records = random_records(20)
    got = model.predict_records(records, k=3)
    np.testing.assert_array_equal(got.probs, model.predict(pd.DataFrame(records), k=3).probs)


def test_pipelines_it_did_not_build_are_not_compiled() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, classes, _ = mixed_frame()
    plain = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[["x"]], classes)
    assert compile_preprocessor(plain) is None
    assert compile_preprocessor(LogisticRegression()) is None


def test_a_lone_null_category_is_imputed_not_taken_for_unknown() -> None:
    frame, classes, _ = mixed_frame()
    model = SklearnModel.build("LogisticRegression", {}, "classification", MIXED_TYPES)
    model.fit(frame, classes)
    imputer = model.pipeline.named_steps["preprocess"].named_transformers_["categorical"][1]
    most_frequent = dict(zip(["city", "smoker"], imputer.statistics_, strict=True))
    record = {**random_records(1)[0], "city": None, "smoker": None}
    filled = {**record, **most_frequent}
    for predict in (_pipeline_output, _compiled_output):
        np.testing.assert_array_equal(predict(model, [record]), predict(model, [filled]))


def test_an_imputer_blind_to_none_is_not_compiled() -> None:
    frame, classes, _ = mixed_frame()
    model = SklearnModel.build("LogisticRegression", {}, "classification", MIXED_TYPES)
    categorical = model.pipeline.named_steps["preprocess"].transformers[1][1]
    del categorical.steps[0]  # without None -> NaN, the answer depends on the batch
    assert compile_preprocessor(model.fit(frame, classes).pipeline) is None
