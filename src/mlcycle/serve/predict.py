"""``POST /predict``: one lean code path from raw request to JSON bytes and a log record.

``mlcycle.serve.gateway`` calls :class:`PredictService` straight from ASGI, ahead of
FastAPI; the FastAPI route of the same path (documented in OpenAPI) calls the same
service, so both ways give byte-identical answers and errors. Every request gets a
request id (UUID v7, see ``mlcycle.data.predlog``), in the answer and the
``X-Request-ID`` header; an answered request leaves one record for the prediction log.
What a body may hold and how it is answered depends on the model's task: the holder's
predictor parses and answers it (``mlcycle.serve.text`` for texts,
``mlcycle.serve.tabular`` for records).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive

from mlcycle.core.errors import MlcycleError
from mlcycle.data.predlog import new_request_id
from mlcycle.serve.answers import Answer, AnyPredictor
from mlcycle.serve.bodies import Inputs
from mlcycle.serve.faults import answered
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.logrecords import LogRecord
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.responses import INTERNAL_ERROR, HttpError, request_timeout
from mlcycle.serve.validation import (
    LARGE_BODY_BYTES,
    Limits,
    check_content_type,
    check_declared_length,
    read_body,
)

if TYPE_CHECKING:
    from mlcycle.serve.experiment import Experiment

log = logging.getLogger(__name__)

PREDICT_PATH = "/predict"

# status, body, request id, and the answer when there is one
Outcome = tuple[int, bytes, str, Answer | None]


class PredictService:
    """Turns a raw ``/predict`` request into a status and JSON bytes, never raising."""

    def __init__(
        self,
        holder: ModelHolder,
        limits: Limits,
        recorder: Recorder,
        experiment: Experiment | None = None,
    ) -> None:
        self.holder = holder
        self.limits = limits
        self.recorder = recorder
        self.experiment = experiment  # serve.experiment: a challenger beside the model

    def current_limits(self) -> Limits:
        """The limits of requests to the model answering now (the server's before one is
        loaded): a tabular model's records may make bodies larger than texts do."""
        predictor = self.holder.predictor
        return self.limits if predictor is None else predictor.request_limits(self.limits)

    async def respond(
        self,
        content_type: str | None,
        content_length: str | None,
        body: AsyncIterator[bytes],
        api_key: str | None = None,
    ) -> Outcome:
        """Answer one request: 200 with predictions, else a 4xx/5xx error body."""
        start = time.perf_counter()
        ms = time.time_ns() // 1_000_000
        request_id = new_request_id(ms)
        try:
            champion = self.holder.require()
            # The champion's limits, whichever arm answers: it answers if the canary fails.
            limits = champion.request_limits(self.limits)
            check_content_type(content_type)
            check_declared_length(content_length, limits)
            raw = await read_body(body, limits)
            with self._working():
                predictor, arm, inputs, answer = await self._answered(
                    champion, raw, request_id, api_key
                )
        except MlcycleError as exc:
            # An error from a worker thread is in a reference cycle with anyio's frames,
            # whose locals hold the body (12 MB at most): drop them now rather than at
            # the next garbage collection, which is rare here (settle_garbage_collector).
            exc.__traceback__ = None
            return exc.http_status, orjson.dumps(exc.to_dict()), request_id, None
        except HttpError as exc:
            return exc.status, exc.body, request_id, None
        except Exception:
            log.exception("POST %s failed", PREDICT_PATH)
            return 500, INTERNAL_ERROR, request_id, None
        latency_ms = (time.perf_counter() - start) * 1000.0
        record = log_record(predictor, inputs, answer, (request_id, ms, latency_ms, api_key), arm)
        if record.texts:
            self.recorder.prediction(record)
            if self.experiment is not None:  # after the log: never before the champion's
                self.experiment.shadow(raw, request_id, ms, api_key, len(inputs.items))
        return 200, answer.body, request_id, answer

    def _working(self) -> contextlib.AbstractContextManager[None]:
        """While the champion answers (a shadow challenger waits for it to finish)."""
        experiment = self.experiment
        return contextlib.nullcontext() if experiment is None else experiment.champion_working()

    async def _answered(
        self, champion: AnyPredictor, raw: bytes, request_id: str, api_key: str | None
    ) -> tuple[AnyPredictor, str | None, Inputs, Answer]:
        """The predictor and arm that answered, and the inputs and answer: the champion's
        when the canary challenger fails on the request (its error is the client's only
        when the champion fails too)."""
        experiment = self.experiment
        if experiment is None:
            return champion, None, *await self._answer(champion, raw, request_id)
        predictor, arm = experiment.arm(champion, request_id, api_key)
        try:
            return predictor, arm, *await self._answer(predictor, raw, request_id)
        except Exception as exc:
            if predictor is champion:
                raise
            failure = exc
        try:
            inputs, answer = await self._answer(champion, raw, request_id)
        except BaseException:
            failure.__traceback__ = None  # the request's fault: let its frames go
            raise
        return champion, experiment.fell_back(failure, predictor.version), inputs, answer

    async def _answer(
        self, predictor: AnyPredictor, raw: bytes, request_id: str
    ) -> tuple[Inputs, Answer]:
        """Parse a body and answer it with one predictor."""
        limits = predictor.request_limits(self.limits)
        if len(raw) > LARGE_BODY_BYTES:  # a parse of milliseconds: leave the loop free
            inputs = await run_in_threadpool(predictor.parse, raw, limits)
        else:
            inputs = predictor.parse(raw, limits)
        return inputs, await predictor.respond(inputs, request_id)


def log_record(
    predictor: AnyPredictor,
    inputs: Inputs,
    answer: Answer,
    request: tuple[str, int, float, str | None],
    arm: str | None = None,
) -> LogRecord:
    """The prediction-log record of one answer.

    Args:
        predictor: The predictor that answered (its model's name and version are logged).
        inputs: The request's parsed inputs.
        answer: Its answer.
        request: Request id, arrival in Unix ms, latency in ms and API-key name.
        arm: The experiment arm that answered (None outside an experiment).
    """
    request_id, ms, latency_ms, api_key = request
    served = predictor.served
    tabular = answer.inputs is not None
    logged = answer.inputs if answer.inputs is not None else inputs.items
    # A text model's columns go beside its texts (aligned: faults are out of both).
    record = LogRecord(
        request_id, ms, served.name, served.version, logged, answer.codes, answer.probs,
        latency_ms, api_key, None, answer.values, tabular, columns=inputs.columns, arm=arm,
    )  # fmt: skip
    if answer.faults:  # only predictions are logged: see mlcycle.serve.faults
        size = len(answer.codes) + len(answer.faults)
        record = record._replace(indexes=answered(answer.faults, size), batch_size=size)
    return record


async def body_chunks(receive: Receive, timeout: float) -> AsyncIterator[bytes]:
    """The request body as it arrives; a body slower than ``timeout`` seconds is a 408.

    The clock starts once the first bytes are in: a timer costs a few microseconds,
    too much for the usual request whose body arrives with its headers. A client
    trickling bytes holds one coroutine (no thread) and only until the deadline. Under
    ``mlcycle serve`` the connection's own deadlines (:mod:`mlcycle.serve.protocol`)
    also cover a client that sends its headers and then nothing.
    """
    message = await receive()
    deadline: float | None = None
    while message["type"] != "http.disconnect":
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise request_timeout("body", timeout) from None
