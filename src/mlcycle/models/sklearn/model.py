"""A scikit-learn pipeline behind mlcycle's :class:`~mlcycle.models.protocol.Estimator`.

``fit`` and ``predict`` take a DataFrame of raw feature columns (the preprocessing is
inside the pipeline); ``predict_records`` takes JSON-decoded records and, when the
pipeline's steps are ones :mod:`mlcycle.models.sklearn.fast` reproduces, skips pandas
for the same answer. Classifiers answer a ``Prediction`` (classes by probability, best
first), regressors ``Values`` (:mod:`mlcycle.core.predictions`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from mlcycle.core.errors import InvalidInput, ModelError
from mlcycle.core.predictions import Prediction, Values
from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.models.sklearn.estimators import is_parameter_error, resolve_estimator
from mlcycle.models.sklearn.fast import CompiledPreprocessor, compile_preprocessor
from mlcycle.models.sklearn.preprocess import MODEL, build_pipeline

_NOT_TRIED = object()  # the compiled path is built on first use


class SklearnModel:
    """A tabular model: a ``preprocess -> model`` pipeline, its task and feature types.

    Attributes:
        pipeline: The scikit-learn pipeline (what MLflow logs).
        kind: ``classification`` or ``regression``.
        types: The feature columns and their types, in input order.
        labels: The classes, as text (classification, once fitted); [] for regression.
    """

    def __init__(self, pipeline: Pipeline, kind: TaskKind, types: Mapping[str, ColumnType]) -> None:
        self.pipeline = pipeline
        self.kind = kind
        self.types = dict(types)
        classes = getattr(pipeline, "classes_", None) if kind == "classification" else None
        self.labels: list[str] = [] if classes is None else [str(c) for c in classes]
        # A few records as clients send them (the logged input example), once loaded.
        self.example: list[dict[str, Any]] | None = None
        self._compiled: Any = _NOT_TRIED

    @classmethod
    def build(
        cls,
        estimator: str,
        params: Mapping[str, Any],
        kind: TaskKind,
        types: Mapping[str, ColumnType],
    ) -> SklearnModel:
        """An unfitted model: the estimator at import path ``estimator`` with ``params``."""
        return cls(build_pipeline(types, resolve_estimator(estimator, params, kind)), kind, types)

    @property
    def features(self) -> list[str]:
        return list(self.types)

    @property
    def estimator_name(self) -> str:
        return type(self.pipeline.named_steps[MODEL]).__name__

    def fit(self, X: pd.DataFrame, y: Any, progress: Callable[[float], None] | None = None) -> Self:
        """Fit the pipeline on raw feature columns ``X`` and targets ``y``.

        Raises:
            InvalidInput: A parameter value the estimator refuses, or a missing column.
            ModelError: The estimator failed on the data.
        """
        frame = self._frame(X)
        target = np.asarray(y)
        target = target.astype(str) if self.kind == "classification" else target.astype(float)
        try:
            self.pipeline.fit(frame, target)
        except (ValueError, TypeError) as exc:
            if is_parameter_error(exc):
                raise InvalidInput(f"{exc} Fix it in model.params.") from None
            raise ModelError(f"Fitting {self.estimator_name} failed ({exc}).") from None
        if self.kind == "classification":
            self.labels = [str(c) for c in self.pipeline.classes_]
        self._compiled = _NOT_TRIED
        if progress is not None:
            progress(1.0)
        return self

    def predict(
        self, X: pd.DataFrame | Sequence[Mapping[str, Any]], k: int = 1
    ) -> Prediction | Values:
        """The top ``k`` classes with probabilities, or the predicted values, of a frame
        of features or of JSON-decoded records (as a server receives them).

        Raises:
            InvalidInput: A feature column is missing or a value cannot be read.
        """
        if isinstance(X, list | tuple):
            return self.predict_records(X, k)
        frame = self._frame(X)
        try:
            if self.kind == "regression":
                return Values(np.asarray(self.pipeline.predict(frame), dtype=np.float64))
            return self._ranked(self.pipeline.predict_proba(frame), k)
        except ValueError as exc:
            raise InvalidInput(f"The model could not read the input ({exc}).") from None

    def predict_records(
        self, records: Sequence[Mapping[str, Any]], k: int = 1
    ) -> Prediction | Values:
        """:meth:`predict` for JSON-decoded records, without pandas where it can.

        Raises:
            InvalidInput: A record is not an object, a feature is missing from every
                record, or a value cannot be read as its column's type (naming both).
        """
        return self.predict_prepared(self.prepare(records), k)

    def prepare(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray | pd.DataFrame:
        """What the final estimator takes for JSON-decoded records: the matrix the
        preprocessing makes (a DataFrame of the features when there is none).

        Serving prepares each request on its own, so an error names that request's
        records, then predicts the rows of concurrent requests together (:meth:`stack`).

        Raises:
            InvalidInput: As :meth:`predict_records`.
        """
        if not records:
            raise InvalidInput("There is no record to predict; send at least one.")
        compiled = self.compiled()
        if compiled is not None:
            return compiled.transform(records)
        frame = self._frame(pd.DataFrame.from_records(list(records)))
        if not isinstance(self.pipeline, Pipeline):
            return frame
        try:
            return self.pipeline[:-1].transform(frame)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"The model could not read the input ({exc}).") from None

    def predict_prepared(self, rows: np.ndarray | pd.DataFrame, k: int = 1) -> Prediction | Values:
        """The prediction of rows :meth:`prepare` made (of one request or many)."""
        final = self.pipeline[-1] if isinstance(self.pipeline, Pipeline) else self.pipeline
        if self.kind == "regression":
            return Values(np.asarray(final.predict(rows), dtype=np.float64))
        return self._ranked(final.predict_proba(rows), k)

    @staticmethod
    def stack(parts: Sequence[np.ndarray | pd.DataFrame]) -> np.ndarray | pd.DataFrame:
        """The rows :meth:`prepare` made for several requests, as one input."""
        if len(parts) == 1:
            return parts[0]
        if all(isinstance(part, np.ndarray) for part in parts):
            return np.vstack(parts)
        if all(isinstance(part, pd.DataFrame) for part in parts):
            return pd.concat(list(parts), ignore_index=True)
        import scipy.sparse  # a pipeline of other code may give sparse rows

        return scipy.sparse.vstack(parts, format="csr")

    def compiled(self) -> CompiledPreprocessor | None:
        """The fast path of :meth:`predict_records` (None: it goes through the pipeline)."""
        if self._compiled is _NOT_TRIED:
            self._compiled = compile_preprocessor(self.pipeline)
        return self._compiled

    def _ranked(self, proba: np.ndarray, k: int) -> Prediction:
        k = max(1, min(int(k), proba.shape[1]))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        labels = np.asarray(self.labels, dtype=object)[order].astype(str)
        return Prediction(labels, np.take_along_axis(proba, order, axis=1))

    def _frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise InvalidInput("Give the features as a table (a pandas DataFrame) of columns.")
        missing = [name for name in self.types if name not in X.columns]
        if missing:
            raise InvalidInput(
                f"The input has no column {missing[0]!r}, which the model uses "
                f"(features: {', '.join(self.types)}); send every feature, null where unknown."
            )
        return X
