"""Answers for tabular models: records in, ranked classes with probabilities or values out.

``{"records": [...], "k": 3}`` is answered per record with the top-k classes, in the text
answer's shape (``{"code", "probability", "label"}``: one shape for every classifier, so
clients, the prediction log and ``POST /feedback``'s ``true_code`` use one word), or with
``{"value": ...}`` for a regression. Probabilities and values are the model's float64s
as they are: no rounding, so they equal the model's own. An MLflow scoring body is
answered as ``mlflow models serve`` answers it for a scikit-learn model, ``predictions``
holding each record's class or value, with ``request_id`` and ``model`` beside it.

Records are checked by :mod:`mlcycle.serve.records`, prepared by the model one request at
a time (errors name that request's records) and predicted together with the requests
that arrive at the same moment (:mod:`mlcycle.serve.batching`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import ModelError
from mlcycle.core.predictions import Prediction, Values
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.answers import (
    INLINE_ITEMS,
    NO_LABELS,
    NO_PARENTS,
    Answer,
    LabelBook,
    LabelFacts,
)
from mlcycle.serve.batching import MicroBatcher
from mlcycle.serve.bodies import Inputs, record_inputs
from mlcycle.serve.records import RecordRules
from mlcycle.serve.schemas import records_schema
from mlcycle.serve.validation import Limits

# A smoke record's value by column type when the model has no input example.
_SMOKE_VALUES = {"numeric": 0.0, "categorical": None, "boolean": None, "datetime": None}
# Records of a model that does not name its columns are sized as 32 columns of 32 letters.
_UNKNOWN_COLUMNS = ["c" * 32] * 32


class TabularPredictor:
    """Answers validated records with one tabular model, as ready-to-send JSON bytes."""

    def __init__(
        self,
        served: ServedModel,
        labels: LabelBook = NO_LABELS,
        max_value_chars: int = 256,
    ) -> None:
        self.served = served
        self.model = RowModel(served.model)
        self.regression = served.task == "regression"
        self.n_labels = 0 if self.regression else len(served.model.labels)
        self._facts = LabelFacts.of(served.model.labels, labels)
        self.rules = RecordRules(getattr(served.model, "types", None), max_value_chars)
        self._model = {"name": served.name, "version": str(served.version)}
        self._limits: tuple[Limits, Limits] | None = None  # (given, for these records)
        # One prediction at a time, whichever thread asks (see text.Predictor).
        self._lock = threading.Lock()
        self.batcher: MicroBatcher[Any, Prediction | Values] = MicroBatcher(
            self._predict_parts, self._lock
        )

    @property
    def version(self) -> str:
        return self._model["version"]

    def info(self) -> dict[str, Any]:
        """Name, version, classes, URI, task and features of the model."""
        return {
            **self._model, "labels": self.n_labels, "model_uri": self.served.model_uri,
            "task": self.served.task, "features": self.rules.columns,
        }  # fmt: skip

    def request_limits(self, limits: Limits) -> Limits:
        """The server's limits, sized for records of this model's columns."""
        if self._limits is None or self._limits[0] is not limits:
            columns = self.rules.columns or _UNKNOWN_COLUMNS
            self._limits = (limits, limits.for_records(columns))
        return self._limits[1]

    def request_schema(self, limits: Limits) -> dict[str, Any]:
        """The JSON schema of a ``/predict`` body for this model's records."""
        return records_schema(self.request_limits(limits), self.rules.schema())

    def parse(self, body: bytes, limits: Limits) -> Inputs:
        """The request's records (checked against the model's columns) and k."""
        inputs = record_inputs(body, limits)
        self.rules.check(inputs.items)
        return inputs

    async def respond(self, inputs: Inputs, request_id: str) -> Answer:
        """Answer parsed inputs: small requests batched on the loop, large ones in a thread."""
        records, k = inputs.items, inputs.k
        if len(records) > INLINE_ITEMS or not self.model.staged:
            return await run_in_threadpool(self.answer, records, k, request_id, inputs.mlflow)
        part = self.model.prepare(records)
        prediction = await self.batcher.submit(part, k)
        return self.render(request_id, records, prediction, k, inputs.mlflow)

    def score_inputs(self, inputs: Inputs) -> Answer:
        """The answer's lists without its JSON body, in the calling thread (a shadow
        scorer's, which logs answers and never sends them); waits for the model."""
        prediction = self._predict(inputs.items, inputs.k)
        return self._lists(inputs.items, prediction, inputs.k)

    def answer(
        self, records: Sequence[dict[str, Any]], k: int, request_id: str, mlflow: bool = False
    ) -> Answer:
        """The answer to checked records, predicted on their own (waits for the model)."""
        return self.render(request_id, records, self._predict(records, k), k, mlflow)

    def _predict(self, records: Sequence[dict[str, Any]], k: int) -> Prediction | Values:
        """The prediction of these records alone, once no other thread is predicting."""
        part = self.model.prepare(records)
        with self._lock:
            (prediction,) = self._predict_parts([part], k)
        return prediction

    def _predict_parts(self, parts: Sequence[Any], k: int) -> list[Prediction | Values]:
        """One prediction for the rows of several requests, split back per request."""
        result = self.model.predict(self.model.stack(parts), min(k, max(self.n_labels, 1)))
        ends = np.cumsum([self.model.size(part) for part in parts])[:-1]
        if isinstance(result, Values):
            return [Values(values) for values in np.split(result.values, ends)]
        pairs = zip(np.split(result.codes, ends), np.split(result.probs, ends), strict=True)
        return [Prediction(codes, probs) for codes, probs in pairs]

    def render(
        self,
        request_id: str,
        records: Sequence[dict[str, Any]],
        prediction: Prediction | Values,
        k: int,
        mlflow: bool,
    ) -> Answer:
        """The JSON answer, with the lists the log and the metrics keep."""
        lists = self._lists(records, prediction, k)
        if lists.values is not None:
            answers: list[Any] = lists.values if mlflow else [{"value": v} for v in lists.values]
        elif mlflow:
            answers = [row[0] for row in lists.codes]
        else:
            names, parents = self._facts
            answers = [
                [{"code": c, "probability": p, "label": names.get(c),
                  "parents": parents.get(c, NO_PARENTS)}
                 for c, p in zip(row_codes, row_probs, strict=True)]
                for row_codes, row_probs in zip(lists.codes, lists.probs, strict=True)
            ]  # fmt: skip
        return lists._replace(body=self._body(request_id, answers))

    def _lists(
        self, records: Sequence[dict[str, Any]], prediction: Prediction | Values, k: int
    ) -> Answer:
        """An answer without its body: what the log and the metrics keep."""
        inputs = [orjson.dumps(record).decode() for record in records]
        if isinstance(prediction, Values):
            values = prediction.values.tolist()
            return Answer(b"", [[] for _ in values], [[] for _ in values], values, inputs)
        codes = prediction.codes[:, :k].tolist()
        probs = np.asarray(prediction.probs[:, :k], dtype=np.float64).tolist()
        return Answer(b"", codes, probs, None, inputs)

    def _body(self, request_id: str, predictions: list[Any]) -> bytes:
        return orjson.dumps(
            {"request_id": request_id, "model": self._model, "predictions": predictions}
        )

    def smoke_test(self) -> None:
        """Raise ModelError unless the model answers a plain record sensibly."""
        record = self.smoke_record()
        try:
            answer = self.answer([record], 1, "smoke")
        except Exception as exc:
            raise self._malformed(f"it failed on {record} ({exc})") from None
        if self.regression:
            value = answer.values[0] if answer.values else math.nan
            if not math.isfinite(value):
                raise self._malformed(f"it predicted {value} for {record}")
            return
        code, prob = answer.codes[0][0], answer.probs[0][0]
        if code not in self._facts.names or not 0.0 <= prob <= 1.0:
            raise self._malformed(f"class {code!r} with probability {prob}")

    def smoke_record(self) -> dict[str, Any]:
        """The model's input example (its first record), else a record of plain values."""
        example = getattr(self.served.model, "example", None)
        if example:
            return dict(example[0])
        return {
            column: _SMOKE_VALUES.get(kind) for column, kind in (self.rules.types or {}).items()
        }

    def _malformed(self, what: str) -> ModelError:
        return ModelError(
            f"Model {self.served.name} version {self.served.version} gave a malformed answer "
            f"to a smoke record: {what}."
        )


class RowModel:
    """A tabular model as serving drives it: prepare each request, predict many at once.

    Models of the sklearn family prepare records into the estimator's matrix; any other
    tabular model is given a DataFrame of the records, one call per batch.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.staged = all(hasattr(model, name) for name in ("prepare", "predict_prepared", "stack"))

    def prepare(self, records: Sequence[dict[str, Any]]) -> Any:
        return self.model.prepare(records) if self.staged else list(records)

    def stack(self, parts: Sequence[Any]) -> Any:
        if self.staged:
            return self.model.stack(parts)
        return [record for part in parts for record in part]

    def size(self, part: Any) -> int:
        return int(part.shape[0]) if hasattr(part, "shape") else len(part)

    def predict(self, rows: Any, k: int) -> Prediction | Values:
        if self.staged:
            return self.model.predict_prepared(rows, k)
        return self.model.predict(pd.DataFrame.from_records(rows), k)
