"""The ``pyfunc`` family: the task read from a signature, and predictions through MLflow.

Models are saved to a folder with plain MLflow (no tracking store needed) and loaded the
way the registry loads an imported version.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Prediction
from mlcycle.models.families import get_family
from mlcycle.models.imported.model import PyfuncModel
from mlcycle.registry.imports import infer_task
from mlcycle.tasks.tabular.metrics import evaluate_classification, probabilities


def _signature(inputs: dict[str, str], output: str | None) -> ModelSignature:
    outputs = Schema([ColSpec(output)]) if output else None
    return ModelSignature(Schema([ColSpec(t, n) for n, t in inputs.items()]), outputs)


@pytest.mark.parametrize(
    ("inputs", "output", "task"),
    [
        ({"text": "string"}, "string", "text-classification"),
        ({"age": "double", "city": "string"}, "string", "classification"),
        ({"city": "string", "bmi": "double"}, "double", "regression"),
        ({"x": "long"}, "float", "regression"),
    ],
)
def test_a_signature_tells_the_task(inputs: dict[str, str], output: str, task: str) -> None:
    assert infer_task(_signature(inputs, output)) == task


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        (None, "without an input and output signature"),
        (_signature({"x": "double"}, None), "without an input and output signature"),
        (_signature({"x": "double"}, "long"), "long values, which may be classes or numbers"),
    ],
)
def test_an_ambiguous_signature_asks_for_the_task(
    signature: ModelSignature | None, why: str
) -> None:
    with pytest.raises(InvalidInput, match=why) as caught:
        infer_task(signature, "runs:/abc/model")
    assert "--task" in caught.value.message


class Majority(mlflow.pyfunc.PythonModel):
    """A classifier without class probabilities: answers one label per row."""

    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[str]:
        return ["big" if x > 0 else "small" for x in model_input["x"]]


def test_a_classifier_without_probabilities_answers_its_top1(tmp_path: Path) -> None:
    example = pd.DataFrame({"x": [1.0, -1.0]})
    mlflow.pyfunc.save_model(tmp_path / "m", python_model=Majority(), input_example=example)
    model = get_family("pyfunc", "classification").load(tmp_path / "m")
    answer = model.predict(pd.DataFrame({"x": [2.0, -3.0, 0.5]}), k=5)
    assert isinstance(answer, Prediction) and answer.codes.tolist() == [["big"], ["small"], ["big"]]
    assert answer.probs.tolist() == [[1.0], [1.0], [1.0]]
    assert model.labels == ["big", "small"]  # the classes it has answered
    # Top-1 answers score like any ranking: accuracy, F1 and a (hard) log loss.
    classes = sorted(set(answer.codes.ravel()))
    scored = evaluate_classification(["big", "big", "big"], probabilities(answer, classes), classes)
    assert scored.metrics["accuracy"] == pytest.approx(2 / 3)


def test_a_partial_ranking_is_not_scored_as_probabilities() -> None:
    ranked = Prediction(np.array([["a"], ["b"]]), np.array([[0.6], [0.7]]))
    with pytest.raises(InvalidInput, match="Rank every class"):
        probabilities(ranked, ["a", "b", "c"])


def test_an_sklearn_classifier_ranks_every_class_with_predict_proba(tmp_path: Path) -> None:
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0], "y": [0, 1, 0, 1, 0, 1.0]})
    labels = np.array(["low", "low", "mid", "mid", "high", "high"])
    fitted = LogisticRegression().fit(X, labels)
    mlflow.sklearn.save_model(fitted, tmp_path / "m", input_example=X.head(2))
    model = PyfuncModel.load(tmp_path / "m", "classification")
    answer = model.predict(X, k=3)
    assert model.ranks_classes and sorted(model.labels) == ["high", "low", "mid"]
    assert answer.codes.shape == (6, 3)
    assert answer.probs.sum(axis=1) == pytest.approx(np.ones(6))
    assert answer.codes[:, 0].tolist() == fitted.predict(X).tolist()


def test_a_missing_column_is_one_sentence(tmp_path: Path) -> None:
    mlflow.pyfunc.save_model(
        tmp_path / "m", python_model=Majority(), input_example=pd.DataFrame({"x": [1.0]})
    )
    model = PyfuncModel.load(tmp_path / "m", "classification")
    with pytest.raises(InvalidInput, match="no column 'x'"):
        model.predict(pd.DataFrame({"z": [1.0]}))


def test_the_pyfunc_family_trains_nothing() -> None:
    with pytest.raises(InvalidInput, match="mlcycle models import"):
        get_family("pyfunc", "regression").build({}, "regression", {"x": "numeric"})
