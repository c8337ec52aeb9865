"""The model a server answers with: loaded in the background, swapped atomically.

Loading runs in a daemon thread so the event loop can answer (``/health``, and 503 from
``/ready``) while a large model is read; requests find the model through the holder.
A new version (``mlcycle.serve.follow``) must answer a smoke input before it replaces
the current one in a single reference assignment: a request in flight finishes with the
predictor it started with, the next one gets the new version.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np
import orjson
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import MlcycleError, ModelError, Unavailable
from mlcycle.serve.bodies import Inputs, text_inputs
from mlcycle.serve.schemas import predict_schema

if TYPE_CHECKING:
    from mlcycle.core.predictions import Prediction
    from mlcycle.serve.validation import Limits
from mlcycle.models.protocol import ServedModel

log = logging.getLogger(__name__)

# Net container allocations between young collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000
SMOKE_TEXT = "smoke test of a newly loaded model"
# Batches above this run in a worker thread, so one big batch does not stall the loop.
INLINE_TEXTS = 64


# The official name of a label (its nomenclature's), or None.
LabelNamer = Callable[[str], str | None]


class Answer(NamedTuple):
    """A ready-to-send ``/predict`` body and the ranked codes and probabilities in it.

    The lists (one per text or record, best first) are what the prediction log and the
    metrics record: Python objects the answer needed anyway, cheap to hand over.
    """

    body: bytes
    codes: list[list[str]]  # empty lists for a regression
    probs: list[list[float]]
    values: list[float] | None = None  # a regression's values
    inputs: list[str] | None = None  # tabular: each record as a JSON object


class AnyPredictor(Protocol):
    """What the holder keeps and ``/predict`` asks, for a model of any task."""

    served: ServedModel
    n_labels: int

    @property
    def version(self) -> str: ...

    def info(self) -> dict[str, Any]: ...

    def request_limits(self, limits: Limits) -> Limits: ...

    def parse(self, body: bytes, limits: Limits) -> Inputs: ...

    def request_schema(self, limits: Limits) -> dict[str, Any]: ...

    async def respond(self, inputs: Inputs, request_id: str) -> Answer: ...

    def smoke_test(self) -> None: ...


# Builds the predictor of a loaded model (mlcycle.serve.predictors: by task).
PredictorFactory = Callable[[ServedModel, "LabelNamer"], AnyPredictor]


class Predictor:
    """Answers validated requests with one model, as ready-to-send JSON bytes."""

    def __init__(self, served: ServedModel, name_of: LabelNamer = lambda label: None) -> None:
        self.served = served
        self.n_labels = len(served.model.labels)
        self._labels = {label: name_of(label) for label in served.model.labels}
        self._model = {"name": served.name, "version": str(served.version)}
        # One prediction at a time per model, whichever thread asks: a worker is one
        # core's worth of serving (the model itself is safe to share between threads).
        self._lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        """Name, version, number of codes and URI of the model."""
        return {**self._model, "labels": self.n_labels, "model_uri": self.served.model_uri}

    @property
    def version(self) -> str:
        return self._model["version"]

    def request_limits(self, limits: Limits) -> Limits:
        """Requests of texts have the server's limits as they are."""
        return limits

    def parse(self, body: bytes, limits: Limits) -> Inputs:
        """The texts and k of a body (``{"texts": ...}`` or an MLflow scoring body)."""
        return text_inputs(body, limits)

    def request_schema(self, limits: Limits) -> dict[str, Any]:
        """The JSON schema of a ``/predict`` body (MLflow's forms are not in it)."""
        return predict_schema(limits)

    async def respond(self, inputs: Inputs, request_id: str) -> Answer:
        """Answer on the event loop when the batch is small and the model free, else in
        a worker thread (an MLflow body gets the same answer: its shape is ours)."""
        texts, k = inputs.items, inputs.k
        answer = self.answer_now(texts, k, request_id) if len(texts) <= INLINE_TEXTS else None
        if answer is None:  # a big batch, or the model busy with one in a worker thread
            answer = await run_in_threadpool(self.answer, texts, k, request_id)
        return answer

    def answer(self, texts: Sequence[str], k: int, request_id: str) -> Answer:
        """The ``/predict`` answer for valid texts.

        Waits while another thread predicts with this model; k is capped at the number
        of codes.
        """
        with self._lock:
            prediction = self.served.model.predict(texts, min(k, self.n_labels))
        return self.render(request_id, prediction)

    def answer_now(self, texts: Sequence[str], k: int, request_id: str) -> Answer | None:
        """Like ``answer``, or None at once when another thread is predicting.

        The event loop calls this: it must never wait for a batch in a worker thread.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            prediction = self.served.model.predict(texts, min(k, self.n_labels))
        finally:
            self._lock.release()
        return self.render(request_id, prediction)

    def render(self, request_id: str, prediction: Prediction) -> Answer:
        """The JSON answer for one prediction, with the lists it was made of."""
        codes = prediction.codes.tolist()
        # float32 -> rounded float64 so the JSON shows 0.93, not 0.9300000071525574.
        probs = np.round(np.asarray(prediction.probs, dtype=np.float64), 6).tolist()
        labels = self._labels
        predictions = [
            [
                {"code": code, "probability": prob, "label": labels.get(code)}
                for code, prob in zip(row_codes, row_probs, strict=True)
            ]
            for row_codes, row_probs in zip(codes, probs, strict=True)
        ]
        empty = [] if prediction.empty is None else np.flatnonzero(prediction.empty).tolist()
        body = orjson.dumps(
            {
                "request_id": request_id,
                "model": self._model,
                "predictions": predictions,
                "empty_after_cleaning": empty,
            }
        )
        return Answer(body, codes, probs)

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


class ModelHolder:
    """Holds the predictor once a model is loaded, or why it is not."""

    def __init__(
        self,
        ref: str,
        served: ServedModel | None = None,
        on_swap: Callable[[AnyPredictor, AnyPredictor | None], None] | None = None,
        name_of: LabelNamer = lambda label: None,
        make: PredictorFactory = Predictor,
    ) -> None:
        """
        Args:
            ref: The registry reference served (for messages).
            served: A model to answer with from the start, fixed.
            on_swap: Called with the new and the previous predictor at each swap.
            name_of: The official name of a label.
            make: Builds the predictor of a model; it refuses one it cannot serve (a
                model of another task than the project's) with a ModelError.
        """
        self.ref = ref
        self.name_of = name_of
        self.make = make
        self.predictor: AnyPredictor | None = None
        self.error: MlcycleError | None = None
        self.loading: threading.Thread | None = None
        self.on_swap = on_swap
        if served is not None:
            self.predictor = make(served, name_of)
            if on_swap is not None:
                on_swap(self.predictor, None)

    @property
    def version(self) -> str | None:
        """The version answering now, None before the first load."""
        predictor = self.predictor
        return predictor.version if predictor is not None else None

    def require(self) -> AnyPredictor:
        """The predictor, or ``Unavailable`` saying why there is none yet."""
        predictor = self.predictor
        if predictor is not None:
            return predictor
        if self.error is not None:
            raise Unavailable(self.error.message)
        raise Unavailable(f"The model {self.ref} is still loading; retry in a few seconds.")

    def swap(self, served: ServedModel) -> AnyPredictor:
        """Check ``served`` on a smoke input, then answer with it from now on.

        Raises ModelError (and keeps the current model) when the model is not one this
        server can serve or the check fails.
        """
        predictor = self.make(served, self.name_of)
        predictor.smoke_test()
        previous = self.predictor
        settle_garbage_collector()
        self.predictor = predictor  # one reference assignment: the atomic swap
        self.error = None
        if self.on_swap is not None:
            self.on_swap(predictor, previous)
        return predictor

    def load_in_background(self, load: Callable[[], ServedModel]) -> threading.Thread:
        """Start loading in a daemon thread (a stopping server need not wait for it)."""
        self.loading = threading.Thread(
            target=self._load, args=(load,), name="model-load", daemon=True
        )
        self.loading.start()
        return self.loading

    def _load(self, load: Callable[[], ServedModel]) -> None:
        try:
            served = load()
            self.swap(served)
        except MlcycleError as exc:
            log.error("Cannot serve %s: %s", self.ref, exc.message)
            self.error = exc
        except Exception:
            log.exception("Loading the model %s failed", self.ref)
            self.error = ModelError(f"The model {self.ref} could not be loaded; see the log.")
        else:
            log.info("Model %s version %s loaded; ready.", served.name, served.version)


def settle_garbage_collector() -> None:
    """Tune this server process's garbage collector once its model is loaded.

    Measured here on 1,000-text batches: CPython's defaults (a young collection every
    700 net allocations) ran ~8 collections per request and a full one every few
    requests, each walking every module and model object: p50 16 ms, p99 110 ms. With
    the loaded objects frozen out of collections and a young threshold above what one
    request allocates (~7,000 containers), the same batch takes 7 ms, p99 18 ms.
    Answers are freed by reference counting, so memory does not grow.
    """
    gc.unfreeze()  # a swapped-out model's cycles must be collectable
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
