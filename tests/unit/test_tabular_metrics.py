"""Tabular metrics: values checked by hand and against scikit-learn, absent with a reason."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Prediction
from mlcycle.models.sklearn import SklearnModel
from mlcycle.tasks.plots import confusion_png, residual_png
from mlcycle.tasks.tabular.metrics import (
    evaluate,
    evaluate_classification,
    evaluate_regression,
    higher_is_better,
    probabilities,
)
from tests.tabular import bundled, one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


def test_binary_classification_by_hand() -> None:
    true = ["a", "b", "a", "b"]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    found = evaluate_classification(true, proba, ["a", "b"])
    assert found.metrics["accuracy"] == 0.5
    assert found.metrics["f1_macro"] == pytest.approx(0.5)
    assert found.metrics["roc_auc"] == pytest.approx(0.5)  # 2 of 4 pairs ranked right
    expected_loss = -np.mean(np.log([0.9, 0.6, 0.3, 0.2]))
    assert found.metrics["log_loss"] == pytest.approx(expected_loss)
    assert found.confusion.loc["a", "b"] == 1 and found.confusion.loc["b", "a"] == 1
    assert list(found.report.columns) == ["precision", "recall", "f1", "support"]
    assert found.report.index.name == "class" and found.absent == {}


def test_multiclass_matches_scikit_learn_on_wine() -> None:
    frame, target, types = bundled("wine")
    model = SklearnModel.build("LogisticRegression", {"max_iter": 2000}, "classification", types)
    model.fit(frame.iloc[::2], target[::2])
    rows, true = frame.iloc[1::2], target[1::2]
    found = evaluate(model, rows, true)
    proba = model.pipeline.predict_proba(rows)
    expected = skm.roc_auc_score(true, proba, multi_class="ovr", average="macro")
    assert found.metrics["roc_auc"] == pytest.approx(expected)
    assert found.metrics["log_loss"] == pytest.approx(skm.log_loss(true, proba))
    assert found.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(true, model.pipeline.predict(rows))
    )
    assert found.metrics["f1_macro"] == pytest.approx(
        skm.f1_score(true, model.pipeline.predict(rows), average="macro")
    )


def test_binary_model_on_breast_cancer() -> None:
    frame, target, types = bundled("breast_cancer")
    model = SklearnModel.build(
        "HistGradientBoostingClassifier", {"max_iter": 40}, "classification", types
    )
    model.fit(frame.iloc[::2], target[::2])
    found = evaluate(model, frame.iloc[1::2], target[1::2])
    assert set(found.metrics) == {"accuracy", "f1_macro", "roc_auc", "log_loss"}
    assert found.metrics["roc_auc"] > 0.95 and found.metrics["accuracy"] > 0.9


def test_roc_auc_is_absent_with_a_reason_when_a_class_has_no_row() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    found = evaluate_classification(["a", "b"], proba, ["a", "b", "c"])
    assert "roc_auc" not in found.metrics and "log_loss" in found.metrics
    assert found.absent == {"roc_auc": "class 'c' has no evaluation row (ROC AUC needs each)"}


def test_a_class_unknown_to_the_model_leaves_out_the_probability_metrics() -> None:
    found = evaluate_classification(["a", "z"], np.array([[0.6, 0.4], [0.5, 0.5]]), ["a", "b"])
    assert found.metrics["accuracy"] == 0.5
    assert set(found.absent) == {"roc_auc", "log_loss"}
    assert "class 'z' of the evaluation rows is unknown to the model" in found.absent["log_loss"]


def test_regression_by_hand_and_on_diabetes() -> None:
    found = evaluate_regression([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 5.0])
    assert found.metrics["mae"] == pytest.approx(0.625)
    assert found.metrics["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 1 + 1) / 4))
    assert found.metrics["r2"] == pytest.approx(1 - 2.25 / 5.0)
    rows = found.residuals
    assert (rows["truth"] - rows["prediction"]).tolist() == [-0.5, 0.0, 1.0, -1.0]
    frame, target, types = bundled("diabetes")
    model = SklearnModel.build("Ridge", {}, "regression", types).fit(frame, target)
    assert evaluate(model, frame, target).metrics["r2"] > 0.4


def test_r2_needs_two_distinct_true_values_and_rows_are_needed() -> None:
    found = evaluate_regression([3.0, 3.0], [2.0, 4.0])
    assert found.metrics["rmse"] == 1.0 and "r2" not in found.metrics
    assert "at least two distinct true values" in found.absent["r2"]
    with pytest.raises(InvalidInput, match="no evaluation row"):
        evaluate_regression([], [])


def test_directions_of_the_metrics() -> None:
    assert higher_is_better("roc_auc") and higher_is_better("r2")
    assert not higher_is_better("rmse") and not higher_is_better("log_loss")
    with pytest.raises(InvalidInput, match="no tabular metric 'auc'; use one of accuracy"):
        higher_is_better("auc")


def test_a_full_ranking_gives_back_the_probability_matrix() -> None:
    ranked = Prediction(np.array([["b", "a"], ["a", "b"]]), np.array([[0.7, 0.3], [0.6, 0.4]]))
    np.testing.assert_array_equal(probabilities(ranked, ["a", "b"]), [[0.3, 0.7], [0.6, 0.4]])
    with pytest.raises(InvalidInput, match="Rank every class"):
        probabilities(Prediction(ranked.codes[:, :1], ranked.probs[:, :1]), ["a", "b"])


def test_plots_are_png_files(tmp_path) -> None:
    found = evaluate_classification(
        ["a", "b", "a"], np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]), ["a", "b"]
    )
    confusion = confusion_png(found.confusion, tmp_path / "confusion.png")
    residuals = residual_png(np.arange(50.0), np.arange(50.0) + 1, tmp_path / "residuals.png")
    for path in (confusion, residuals):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
