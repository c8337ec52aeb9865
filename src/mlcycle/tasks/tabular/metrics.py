"""How a tabular model is scored on evaluation rows, and which way each metric is better.

Classification: accuracy, macro F1 (over the classes of the evaluation rows, as the text
task counts it), ROC AUC (binary; one-vs-rest macro for more classes), log loss, a
per-class report and the confusion matrix. Regression: RMSE, MAE, R² and the residuals.
A metric that cannot be computed on these rows (ROC AUC when a class has no row) is left
out of ``metrics`` and its reason kept in ``absent``, never reported as a made-up number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Estimator, Prediction
from mlcycle.tasks.base import Evaluation
from mlcycle.tasks.ranked import per_class_report

HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "f1_macro": True,
    "roc_auc": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}


def higher_is_better(metric: str) -> bool:
    """True when a larger ``metric`` is a better model (False for errors and losses)."""
    if metric not in HIGHER_IS_BETTER:
        raise InvalidInput(
            f"There is no tabular metric {metric!r}; use one of {', '.join(HIGHER_IS_BETTER)}."
        )
    return HIGHER_IS_BETTER[metric]


def evaluate(model: Estimator, X: Any, y: Any) -> Evaluation:
    """Score ``model`` on rows ``X`` with true targets ``y`` (its task decides the metrics)."""
    prediction = model.predict(X, k=max(len(model.labels), 1))
    if isinstance(prediction, Prediction):
        return evaluate_classification(y, probabilities(prediction, model.labels), model.labels)
    return evaluate_regression(y, prediction.values)


def probabilities(ranked: Prediction, classes: Sequence[str]) -> np.ndarray:
    """The (n, classes) probability matrix of a ranking that holds every class, or whose
    rows already sum to one (a top-1 answer with probability 1.0); the rest are zero."""
    whole = np.allclose(np.sum(ranked.probs, axis=1), 1.0, atol=1e-6)
    if ranked.codes.shape[1] != len(classes) and not whole:
        raise InvalidInput("Rank every class (k = number of classes) to score probabilities.")
    column = {label: j for j, label in enumerate(classes)}
    order = np.vectorize(column.__getitem__, otypes=[np.int64])(ranked.codes)
    proba = np.zeros((ranked.codes.shape[0], len(classes)))
    np.put_along_axis(proba, order, ranked.probs, axis=1)
    return proba


def evaluate_classification(true: Any, proba: np.ndarray, classes: Sequence[str]) -> Evaluation:
    """Accuracy, macro F1, ROC AUC, log loss, per-class report and confusion matrix.

    Args:
        true: The true class of each row (compared as text).
        proba: (n, len(classes)) class probabilities.
        classes: The model's classes, in ``proba``'s column order.
    """
    true = _rows(np.asarray(true).astype(str))
    classes = [str(c) for c in classes]
    predicted = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)].astype(str)
    report, confusion = per_class_report(true, predicted)
    values = {
        "accuracy": float(np.mean(predicted == true)),
        "f1_macro": float(report.loc[np.unique(true), "f1"].mean()),
    }
    absent = _probability_metrics(true, proba, classes, values)
    return Evaluation(values, report, confusion, absent=absent)


def _probability_metrics(
    true: np.ndarray, proba: np.ndarray, classes: list[str], values: dict[str, float]
) -> dict[str, str]:
    """Adds log loss and ROC AUC to ``values``; returns why either could not be."""
    present = set(true.tolist())  # Python strings: reasons show 'a', not np.str_('a')
    unknown = sorted(present - set(classes))
    if unknown:
        reason = f"class {unknown[0]!r} of the evaluation rows is unknown to the model"
        return {"log_loss": reason, "roc_auc": reason}
    values["log_loss"] = float(skm.log_loss(true, proba, labels=classes))
    missing = [c for c in classes if c not in present]
    if missing:
        return {"roc_auc": f"class {missing[0]!r} has no evaluation row (ROC AUC needs each)"}
    if len(classes) == 2:
        values["roc_auc"] = float(skm.roc_auc_score(true == classes[1], proba[:, 1]))
    else:
        values["roc_auc"] = float(
            skm.roc_auc_score(true, proba, multi_class="ovr", average="macro", labels=classes)
        )
    return {}


def evaluate_regression(true: Any, predicted: Any) -> Evaluation:
    """RMSE, MAE and R² of ``predicted`` against ``true``, and the residuals."""
    true = _rows(np.asarray(true, dtype=np.float64))
    predicted = np.asarray(predicted, dtype=np.float64)
    residuals = true - predicted
    values = {
        "rmse": float(np.sqrt(np.mean(residuals**2))),
        "mae": float(np.mean(np.abs(residuals))),
    }
    absent = {}
    if np.unique(true).size < 2:
        absent["r2"] = "R² needs at least two distinct true values"
    else:
        values["r2"] = float(skm.r2_score(true, true - residuals))
    rows = pd.DataFrame({"truth": true, "prediction": predicted})
    return Evaluation(values, residuals=rows, absent=absent)


def _rows(true: np.ndarray) -> np.ndarray:
    if true.size == 0:
        raise InvalidInput("There is no evaluation row to score; check the split.")
    return true
