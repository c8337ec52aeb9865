"""The scikit-learn family: estimators by import path, preprocessing inside, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Prediction, Values
from mlcycle.models.sklearn import SklearnModel, build_pipeline, resolve_estimator
from tests.tabular import MIXED_TYPES, bundled, mixed_frame, one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


def test_an_import_path_or_a_bare_name_gives_the_estimator_with_its_params() -> None:
    full = resolve_estimator(
        "sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 7}, "classification"
    )
    assert isinstance(full, HistGradientBoostingClassifier) and full.max_iter == 7
    short = resolve_estimator("RandomForestRegressor", {"n_estimators": 3}, "regression")
    assert isinstance(short, RandomForestRegressor) and short.n_estimators == 3


@pytest.mark.parametrize(
    ("path", "params", "kind", "message"),
    [
        (
            "sklearn.ensemble.HistGradientBoostingRegressor",
            {},
            "classification",
            "HistGradientBoostingRegressor is a regressor, but model.task is classification; "
            "use a classifier, e.g. sklearn.ensemble.HistGradientBoostingClassifier, "
            "or set model.task: regression.",
        ),
        (
            "LogisticRegression",
            {},
            "regression",
            "LogisticRegression is a classifier, but model.task is regression",
        ),
        (
            "sklearn.cluster.KMeans",
            {},
            "regression",
            "KMeans is neither a classifier nor a regressor",
        ),
        (
            "xgboost.XGBClassifier",
            {},
            "classification",
            "model.params.estimator 'xgboost.XGBClassifier' needs the package 'xgboost', "
            "which is not installed; install it with pip install xgboost.",
        ),
        (
            "sklearn.ensembl.RandomForestClassifier",
            {},
            "classification",
            "there is no module 'sklearn.ensembl'",
        ),
        (
            "sklearn.ensemble.HistGradientBoostingClassifer",
            {},
            "classification",
            "has no 'HistGradientBoostingClassifer' (did you mean 'HistGradientBoostingClassifier'?)",  # noqa: E501
        ),
        ("RandomForestClasifier", {}, "classification", "did you mean 'RandomForestClassifier'"),
        ("collections.OrderedDict", {}, "classification", "is not a scikit-learn estimator"),
        (
            "HistGradientBoostingClassifier",
            {"max_iters": 3},
            "classification",
            "HistGradientBoostingClassifier has no parameter 'max_iters' (did you mean "
            "'max_iter'?); its parameters are loss, learning_rate, max_iter,",
        ),
        ("sklearn.svm.LinearSVC", {}, "classification", "LinearSVC gives no class probabilities"),
    ],
)
def test_every_wrong_estimator_is_one_sentence(path, params, kind, message) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_estimator(path, params, kind)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("estimator", "params", "message"),
    [
        ("HistGradientBoostingClassifier", {"max_iter": -1}, "'max_iter' parameter of Hist"),
        ("RandomForestClassifier", {"max_depth": 2.5}, "must be an int in the range [1, inf)"),
        ("LogisticRegression", {"C": "big"}, "'C' parameter of LogisticRegression must be"),
    ],
)
def test_a_bad_parameter_value_is_refused_when_the_model_is_built(
    estimator: str, params: dict, message: str
) -> None:
    # Before any data is read: tune asks the family about a space's bounds this way.
    with pytest.raises(InvalidInput) as caught:
        SklearnModel.build(estimator, params, "classification", MIXED_TYPES)
    assert message in caught.value.message and "\n" not in caught.value.message


def test_the_pickled_pipeline_holds_nothing_of_mlcycle() -> None:
    frame, classes, _ = mixed_frame(80)
    model = SklearnModel.build("LogisticRegression", {}, "classification", MIXED_TYPES)
    blob = pickle.dumps(model.fit(frame, classes).pipeline)
    assert b"mlcycle" not in blob and b"sklearn" in blob


def test_preprocessing_by_column_type() -> None:
    pipeline = build_pipeline(MIXED_TYPES, HistGradientBoostingClassifier())
    preprocess = pipeline.named_steps["preprocess"]
    branches = {name: columns for name, _, columns in preprocess.transformers}
    assert branches["numeric"] == ["x", "z"]
    assert branches["categorical"] == ["city", "smoker"]
    assert branches["date0_year"] == "seen" and "date0_day_of_week" in branches
    with pytest.raises(InvalidInput, match="no feature column"):
        build_pipeline({}, HistGradientBoostingClassifier())
    with pytest.raises(InvalidInput, match="Column type 'text' is none of numeric"):
        build_pipeline({"a": "text"}, HistGradientBoostingClassifier())


@pytest.mark.parametrize(
    ("dataset", "estimator"),
    [("breast_cancer", "HistGradientBoostingClassifier"), ("wine", "LogisticRegression")],
)
def test_classifiers_rank_every_class_by_probability(dataset, estimator) -> None:
    frame, target, types = bundled(dataset)
    model = SklearnModel.build(estimator, {"max_iter": 100}, "classification", types)
    model.fit(frame, target)
    assert model.labels == sorted(set(target))
    ranked = model.predict(frame.head(20), k=len(model.labels))
    assert isinstance(ranked, Prediction)
    assert ranked.codes.shape == (20, len(model.labels))
    np.testing.assert_allclose(ranked.probs.sum(axis=1), 1.0)
    assert (np.diff(ranked.probs, axis=1) <= 0).all()  # best first
    assert np.mean(ranked.codes[:, 0] == target[:20]) > 0.8


def test_a_regressor_answers_values() -> None:
    frame, target, types = bundled("diabetes")
    model = SklearnModel.build("Ridge", {"alpha": 1.0}, "regression", types).fit(frame, target)
    values = model.predict(frame.head(5))
    assert isinstance(values, Values) and values.values.dtype == np.float64
    assert model.labels == []
    assert np.corrcoef(model.predict(frame).values, target)[0, 1] > 0.6


def test_messy_frames_are_imputed_and_unknown_categories_ignored() -> None:
    frame, classes, _ = mixed_frame()
    model = SklearnModel.build("HistGradientBoostingClassifier", {}, "classification", MIXED_TYPES)
    model.fit(frame, classes)
    messy = pd.DataFrame(
        {
            "x": [None, 1.5, np.nan],
            "z": [np.nan, None, 2.0],
            "city": ["rome", None, np.nan],
            "smoker": [None, True, None],
            "seen": [None, "2024-05-01T10:00:00Z", "2020-01-01"],
        }
    )
    ranked = model.predict(messy, k=1)
    assert ranked.codes.shape == (3, 1) and set(ranked.codes[:, 0]) <= set(model.labels)


def test_missing_columns_and_unreadable_values_are_one_sentence() -> None:
    frame, classes, _ = mixed_frame(80)
    model = SklearnModel.build("LogisticRegression", {}, "classification", MIXED_TYPES)
    model.fit(frame, classes)
    with pytest.raises(InvalidInput, match=r"The input has no column 'seen', which the model uses"):
        model.predict(frame.drop(columns=["seen"]))
    with pytest.raises(InvalidInput, match="could not read the input"):
        model.predict(frame.head(1).assign(x="abc"))
    with pytest.raises(InvalidInput, match="Record 0 is not an object"):
        model.predict([[1, 2]])  # a list is read as records, as a server receives them
    with pytest.raises(InvalidInput, match="a pandas DataFrame"):
        model.predict("x=1")
