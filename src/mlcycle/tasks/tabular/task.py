"""``classification`` and ``regression`` on tabular records.

A record's features go in raw (numbers, categories, booleans, dates, nulls); the model
carries its own preprocessing. The canonical frame keeps the user's column names, the
target included (:attr:`Task.target_column`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlcycle.core.settings import behaviour_cases
from mlcycle.core.settings.registry import BehaviourGate
from mlcycle.tasks.base import BehaviourReport, Evaluation, Task
from mlcycle.tasks.split import random_split, stratified_split
from mlcycle.tasks.tabular import behaviour
from mlcycle.tasks.tabular.behaviour_spec import BehaviourSpec
from mlcycle.tasks.tabular.metrics import (
    HIGHER_IS_BETTER,
    evaluate_classification,
    evaluate_regression,
    probabilities,
)


class TabularTask(Task):
    """What classification and regression share: records in, the target by name."""

    default_family = "sklearn"
    lower_is_better = frozenset(m for m, up in HIGHER_IS_BETTER.items() if not up)

    @property
    def target_column(self) -> str:
        return self.target

    def columns(self) -> list[str] | None:
        features = self.settings.data.features
        return None if features is None else [*features, self.target]

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.drop(columns=[self.target], errors="ignore")

    def single_inputs(self, frame: pd.DataFrame, count: int) -> list[Any]:
        """One-record inputs as a client sends them (JSON values, nulls for gaps)."""
        rows = self.inputs(frame.iloc[:count]).astype(object)
        rows = rows.where(pd.notna(rows), None)
        return [[record] for record in rows.to_dict("records")]

    def behaviour(self, model: Any, frame: pd.DataFrame, config: BehaviourGate) -> BehaviourReport:
        written = behaviour_cases(self.settings)  # the project file's, or its cases file's
        cases = written if isinstance(written, list) else []
        spec = BehaviourSpec.model_validate(
            {"invariance": config.invariance, "direction": config.direction, "cases": cases}
        )
        found = behaviour.check(model, self.inputs(frame), spec)
        return BehaviourReport(
            found.invariance, found.functionality, found.broken, found.direction, found.counts
        )


class TabularClassification(TabularTask):
    name = "classification"
    kind = "classification"
    headline = ("accuracy", "f1_macro")

    def metric_names(self) -> list[str]:
        return ["accuracy", "f1_macro", "roc_auc", "log_loss"]

    def default_minimums(self, truth: np.ndarray) -> dict[str, float]:
        # Better than always answering the most frequent class of the holdout.
        _, counts = np.unique(np.asarray(truth).astype(str), return_counts=True)
        return {"accuracy": float(counts.max() / counts.sum())} if counts.size else {}

    def split(self, frame: pd.DataFrame, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
        return stratified_split(self.truth(frame).astype(str), test_size, seed)

    def evaluate(self, truth: np.ndarray, prediction: Any) -> Evaluation:
        # Every class a row was answered with: the whole ranking, or a top-1 answer
        # (models imported without class probabilities).
        classes = sorted(set(prediction.codes.ravel().tolist()))
        return evaluate_classification(truth, probabilities(prediction, classes), classes)

    def prediction_width(self, model: Any) -> int:
        return max(len(model.labels), 1)


class TabularRegression(TabularTask):
    name = "regression"
    kind = "regression"
    headline = ("rmse", "r2")

    def metric_names(self) -> list[str]:
        return ["rmse", "mae", "r2"]

    def default_minimums(self, truth: np.ndarray) -> dict[str, float]:
        return {"r2": 0.0}  # at least as good as predicting the mean

    def split(self, frame: pd.DataFrame, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
        return random_split(len(frame), test_size, seed)

    def evaluate(self, truth: np.ndarray, prediction: Any) -> Evaluation:
        return evaluate_regression(truth, prediction.values)
