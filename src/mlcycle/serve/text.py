"""Answers for text classifiers: texts in, ranked codes with probabilities out, and
whether each text can be coded without review (``auto_codable``).

Small batches are answered on the event loop when the model is free, large ones (and
any that find it busy) in a worker thread; the answer is ready-to-send JSON bytes. Each
code comes with its label and parents (looked up once per loaded model); a text the
model cannot read is answered with its error (``mlcycle.serve.faults``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import ModelError
from mlcycle.core.predictions import Prediction
from mlcycle.models.calibration import auto_coding_threshold
from mlcycle.models.protocol import ServedModel
from mlcycle.serve import text_columns
from mlcycle.serve.answers import (
    INLINE_ITEMS,
    NO_LABELS,
    NO_PARENTS,
    Answer,
    LabelBook,
    LabelFacts,
)
from mlcycle.serve.bodies import Inputs, text_inputs
from mlcycle.serve.faults import Fault, answered, error_list, with_gaps
from mlcycle.serve.ranked_json import RankedJson
from mlcycle.serve.schemas import predict_schema

if TYPE_CHECKING:
    from mlcycle.serve.validation import Limits

SMOKE_TEXT = "smoke test of a newly loaded model"
_NOTHING = Prediction(np.empty((0, 0), dtype=str), np.empty((0, 0), dtype=np.float32))


class Predictor:
    """Answers validated requests with one model, as ready-to-send JSON bytes."""

    def __init__(
        self, served: ServedModel, labels: LabelBook = NO_LABELS, default_threshold: float = 0.8
    ) -> None:
        self.served = served
        # The model's own threshold (from its training's target precision); the
        # project's monitor.auto_coding_threshold for a model that carries none.
        own = auto_coding_threshold(served.model)
        self.threshold = default_threshold if own is None else own
        self.n_labels = len(served.model.labels)
        self._facts = LabelFacts.of(served.model.labels, labels)
        self._json = RankedJson(served.model.labels, self._facts)
        self._model = {"name": served.name, "version": str(served.version)}
        # One prediction at a time per model, whichever thread asks: a worker is one
        # core's worth of serving (the model itself is safe to share between threads).
        self._lock = threading.Lock()
        # Categorical columns the model reads beside the texts (most read none).
        self.columns = text_columns.model_columns(served.model)

    def info(self) -> dict[str, Any]:
        """Name, version, number of codes, URI and auto-coding threshold of the model
        (and its columns)."""
        columns = {"features": list(self.columns)} if self.columns else {}
        return {
            **self._model, "labels": self.n_labels, "model_uri": self.served.model_uri,
            "auto_coding_threshold": self.threshold, **columns,
        }  # fmt: skip

    @property
    def version(self) -> str:
        return self._model["version"]

    def request_limits(self, limits: Limits) -> Limits:
        """Requests of texts have the server's limits, with room for the columns."""
        return text_columns.limits_with(limits, self.columns)

    def parse(self, body: bytes, limits: Limits) -> Inputs:
        """The texts and k of a body (``{"texts": ...}`` or an MLflow scoring body)."""
        return text_inputs(body, limits, self.columns)

    def request_schema(self, limits: Limits) -> dict[str, Any]:
        """The JSON schema of a ``/predict`` body (MLflow's forms are not in it)."""
        return text_columns.schema_with(predict_schema(limits), self.columns, limits)

    async def respond(self, inputs: Inputs, request_id: str) -> Answer:
        """Answer on the event loop when the batch is small and the model free, else in
        a worker thread (an MLflow body gets the same answer: its shape is ours)."""
        k, faults = inputs.k, inputs.faults
        if not inputs.items:  # every text has an error: nothing for the model to read
            return self.render(request_id, _NOTHING, faults)
        texts = text_columns.batch(inputs.items, inputs.columns)
        inline = len(texts) <= INLINE_ITEMS  # a big batch must not stall the loop
        answer = self.answer_now(texts, k, request_id, faults) if inline else None
        if answer is None:  # a big batch, or the model busy with one in a worker thread
            answer = await run_in_threadpool(self.answer, texts, k, request_id, faults)
        return answer

    def score_inputs(self, inputs: Inputs) -> Answer:
        """The answer's lists without its JSON body, in the calling thread (a shadow
        scorer's, which logs answers and never sends them); waits for the model."""
        prediction = _NOTHING
        if inputs.items:
            texts = text_columns.batch(inputs.items, inputs.columns)
            prediction = self._predict(texts, inputs.k)
        codes, probs = _lists(prediction)
        return Answer(b"", codes, probs, faults=tuple(inputs.faults))

    def answer(
        self, texts: Sequence[str], k: int, request_id: str, faults: Sequence[Fault] = ()
    ) -> Answer:
        """The ``/predict`` answer for valid texts (and the faults of the request's others).

        Waits while another thread predicts with this model; k is capped at the number
        of codes.
        """
        return self.render(request_id, self._predict(texts, k), faults)

    def _predict(self, texts: Sequence[str], k: int) -> Prediction:
        """The model's prediction, once no other thread is predicting with it."""
        with self._lock:
            return self.served.model.predict(texts, min(k, self.n_labels))

    def answer_now(
        self, texts: Sequence[str], k: int, request_id: str, faults: Sequence[Fault] = ()
    ) -> Answer | None:
        """Like ``answer``, or None at once when another thread is predicting.

        The event loop calls this: it must never wait for a batch in a worker thread.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            prediction = self.served.model.predict(texts, min(k, self.n_labels))
        finally:
            self._lock.release()
        return self.render(request_id, prediction, faults)

    def render(
        self, request_id: str, prediction: Prediction, faults: Sequence[Fault] = ()
    ) -> Answer:
        """The JSON answer for one prediction, with the lists it was made of; the texts
        at fault get null in ``predictions`` and their error in ``errors``."""
        codes, probs = _lists(prediction)
        predictions = self._predictions(prediction, codes, probs, faults)
        empty = [] if prediction.empty is None else np.flatnonzero(prediction.empty).tolist()
        auto = self.auto_codable(probs, empty)
        if faults:  # positions among the texts read -> positions in the request
            where = answered(faults, len(codes) + len(faults))
            empty = [where[i] for i in empty]
            auto = [bool(flag) for flag in with_gaps(auto, faults)]  # a fault: never
        body = orjson.dumps(
            {
                "request_id": request_id,
                "model": self._model,
                "predictions": predictions,
                "empty_after_cleaning": empty,
                "auto_codable": auto,
                "errors": error_list(faults),
            }
        )
        return Answer(body, codes, probs, faults=tuple(faults), auto_coded=sum(auto))

    def _predictions(
        self, prediction: Prediction, codes: list, probs: list, faults: Sequence[Fault]
    ) -> orjson.Fragment | list:
        """The answer's ``predictions``: compiled JSON (``mlcycle.serve.ranked_json``),
        or dicts for a code the model's labels lack; null for each text at fault."""
        if faults:
            rows = self._json.rows(prediction)
            if rows is not None:
                gapped = (b"null" if row is None else row for row in with_gaps(rows, faults))
                return orjson.Fragment(b"[" + b",".join(gapped) + b"]")
        else:
            whole = self._json.array(prediction)
            if whole is not None:
                return orjson.Fragment(whole)
        names, parents = self._facts
        ranked = [
            [
                {"code": code, "probability": prob, "label": names.get(code),
                 "parents": parents.get(code, NO_PARENTS)}
                for code, prob in zip(row_codes, row_probs, strict=True)
            ]
            for row_codes, row_probs in zip(codes, probs, strict=True)
        ]  # fmt: skip
        return with_gaps(ranked, faults) if faults else ranked

    def auto_codable(self, probs: list[list[float]], empty: list[int]) -> list[bool]:
        """Per text: its top-1 clears the threshold and the text had words to go by."""
        flags = [bool(ranked) and ranked[0] >= self.threshold for ranked in probs]
        for index in empty:
            flags[index] = False
        return flags

    def smoke_test(self) -> None:
        """Raise ModelError unless the model answers a plain input sensibly."""
        with self._lock:
            prediction = self.served.model.predict([SMOKE_TEXT], 1)
        codes, probs = np.asarray(prediction.codes), np.asarray(prediction.probs)
        labels = set(self.served.model.labels)
        if (
            codes.shape != (1, 1)
            or probs.shape != (1, 1)
            or str(codes[0, 0]) not in labels
            or not 0.0 <= float(probs[0, 0]) <= 1.0
        ):
            raise ModelError(
                f"Model {self.served.name} version {self.served.version} gave a malformed "
                f"answer to a smoke input (codes {codes.tolist()}, probabilities "
                f"{probs.tolist()})."
            )
        self.render("smoke", prediction)  # the answer writer compiled before any request


def _lists(prediction: Prediction) -> tuple[list[list[str]], list[list[float]]]:
    """A prediction's codes and probabilities as the answer and the log give them."""
    # float32 -> rounded float64 so the JSON shows 0.93, not 0.9300000071525574.
    probs = np.round(np.asarray(prediction.probs, dtype=np.float64), 6).tolist()
    return prediction.codes.tolist(), probs
