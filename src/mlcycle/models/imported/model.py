"""An MLflow model of any flavor behind mlcycle's Estimator protocol.

Regression answers the model's output as values. Classification answers every class
with its probability when the stored model offers them (a scikit-learn flavor whose
model has ``predict_proba`` and ``classes_``), as mlcycle's own models do. Otherwise the
model's output is taken as the top-1 class with probability 1.0: answers then rank one
class, and top-k accuracy, log loss and confidence figures say no more than top-1; the
classes it knows are those it has answered so far.

Text classification sends the texts as the one string column of the model's signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from mlcycle.core.errors import InvalidInput, MlcycleError, ModelError
from mlcycle.core.predictions import Prediction, Values

TEXT_TASK = "text-classification"


class PyfuncModel:
    """A loaded MLflow model and what mlcycle needs to ask it."""

    def __init__(self, pyfunc: Any, task: str) -> None:
        self.pyfunc = pyfunc
        self.task = task
        self.columns = _input_names(pyfunc)
        # Serving smoke-tests a tabular model on its first example record.
        self.example = _example_records(pyfunc) if task != TEXT_TASK else None
        raw = _raw_model(pyfunc)
        ranked = task != "regression" and hasattr(raw, "predict_proba")
        self._proba = raw if ranked and hasattr(raw, "classes_") else None
        self.labels: list[str] = (
            [str(c) for c in self._proba.classes_] if self._proba is not None else []
        )

    @classmethod
    def load(cls, path: Path | str, task: str) -> PyfuncModel:
        """The model stored in the local folder ``path``, for ``task``."""
        import mlflow.pyfunc

        try:
            return cls(mlflow.pyfunc.load_model(str(path)), task)
        except Exception as exc:
            raise ModelError(f"{path} holds no MLflow model that loads ({exc}).") from None

    @property
    def ranks_classes(self) -> bool:
        """Whether answers rank every class with probabilities (else top-1 only)."""
        return self._proba is not None

    def fit(
        self, inputs: Any, targets: Any, progress: Callable[[float], None] | None = None
    ) -> Self:
        raise InvalidInput(
            "An imported model is trained by your own code; retrain it through model.retrain "
            "in the project file."
        )

    def predict(self, inputs: Any, k: int = 1) -> Prediction | Values:
        """Values (regression) or ranked classes for a batch of the task's inputs.

        Raises:
            InvalidInput: A column the model needs is missing, or the model refused the
                input.
        """
        frame = self._frame(inputs)
        try:
            if self.task == "regression":
                return Values(_column(self.pyfunc.predict(frame), len(frame)).astype(np.float64))
            if self._proba is not None:
                return self._ranked(np.asarray(self._proba.predict_proba(frame)), k)
            return self._top1(_column(self.pyfunc.predict(frame), len(frame)))
        except MlcycleError:
            raise
        except Exception as exc:  # the user's model: any refusal is about the input
            raise InvalidInput(f"The model could not read the input ({exc}).") from None

    def predict_records(
        self, records: Sequence[Mapping[str, Any]], k: int = 1
    ) -> Prediction | Values:
        """:meth:`predict` for JSON-decoded records (tabular tasks)."""
        if not records:
            raise InvalidInput("There is no record to predict; send at least one.")
        return self.predict(list(records), k)

    def _frame(self, inputs: Any) -> pd.DataFrame:
        if self.task == TEXT_TASK:
            column = self.columns[0] if self.columns else "text"
            return pd.DataFrame({column: [str(text) for text in inputs]})
        if isinstance(inputs, list | tuple):  # JSON-decoded records, as a server gets them
            inputs = pd.DataFrame.from_records(list(inputs))
        if not isinstance(inputs, pd.DataFrame):
            raise InvalidInput("Give the features as a table (a pandas DataFrame) of columns.")
        missing = [name for name in self.columns if name not in inputs.columns]
        if missing:
            raise InvalidInput(
                f"The input has no column {missing[0]!r}, which the model uses "
                f"(features: {', '.join(self.columns)}); send every feature, null where unknown."
            )
        return inputs.loc[:, self.columns] if self.columns else inputs

    def _ranked(self, proba: np.ndarray, k: int) -> Prediction:
        k = max(1, min(int(k), proba.shape[1]))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        codes = np.asarray(self.labels, dtype=object)[order].astype(str)
        return Prediction(codes, np.take_along_axis(proba, order, axis=1))

    def _top1(self, answers: np.ndarray) -> Prediction:
        codes = answers.astype(str).reshape(-1, 1)
        self.labels = sorted({*self.labels, *codes[:, 0].tolist()})
        return Prediction(codes, np.ones(codes.shape, dtype=np.float64))


def _raw_model(pyfunc: Any) -> Any:
    """The flavor's own model (a scikit-learn estimator...), or None."""
    try:
        return pyfunc.get_raw_model()
    except Exception:  # flavors without a raw model
        return None


def _input_names(pyfunc: Any) -> list[str]:
    schema = pyfunc.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return []
    return [str(name) for name in schema.input_names()]


def _example_records(pyfunc: Any) -> list[dict[str, Any]] | None:
    """The input example logged with the model, as records (None without a table one)."""
    try:
        example = pyfunc.input_example
    except Exception:  # an example MLflow cannot read back is no example
        return None
    if not isinstance(example, pd.DataFrame) or example.empty:
        return None
    return [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        for row in example.to_dict("records")
    ]


def _column(output: Any, rows: int) -> np.ndarray:
    """A model's output as one value per row (the first column of a table)."""
    if isinstance(output, pd.DataFrame):
        output = output.iloc[:, 0]
    values = np.asarray(output)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != rows:
        raise ModelError(
            f"The model answered {values.shape} for {rows} rows; mlcycle needs one value per row."
        )
    return values
