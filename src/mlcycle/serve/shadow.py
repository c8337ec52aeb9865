"""The shadow challenger's scoring: a request the champion answered, scored again.

This runs in the challenger's own process (:mod:`mlcycle.serve.shadow_process`), fed by
the worker's link (:mod:`mlcycle.serve.shadow_link`): a worker's threads share one
interpreter lock, so a challenger scoring beside the champion in the same process slowed
the champion's answers (its single-text p99 rose by 12% to 60% at 300 requests/s however
finely the scoring was cut up). In a process of its own, at the lowest CPU priority, the
challenger takes only the CPU the worker leaves.

A request is parsed with the challenger's own rules, scored and logged in the shadow log
(``mlcycle.data.predlog.shadow_root``) with arm ``shadow``, the champion's request id
and the challenger's version. A failure never raises: it comes back as a
:class:`Failure` for the worker to count and say once per kind.
"""

from __future__ import annotations

import time
import traceback
from typing import NamedTuple

from mlcycle.core.errors import MlcycleError
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.predict import log_record
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.validation import Limits

SHADOW = "shadow"


class ShadowJob(NamedTuple):
    """A request the champion answered, for the challenger to score."""

    raw: bytes
    request_id: str
    ms: int
    api_key: str | None
    items: int  # its texts or records the champion read


class Failure(NamedTuple):
    """Why the challenger could not score a request, as the worker reports it."""

    kind: str  # the error's code, or its type: failures are said once per kind
    refused: bool  # the challenger refused the request (an MlcycleError), not a bug
    detail: str  # the error's sentence, or its traceback


class ShadowScorer:
    """Scores requests with the challenger its holder keeps, and logs the answers."""

    def __init__(self, holder: ModelHolder, limits: Limits, recorder: Recorder) -> None:
        """
        Args:
            holder: The challenger's holder.
            limits: The server's request limits (the challenger's own are derived).
            recorder: Writes the shadow log.
        """
        self.holder = holder
        self.limits = limits
        self.recorder = recorder

    def score(self, job: ShadowJob) -> Failure | None:
        """Score one request and log the challenger's answer; never raises."""
        predictor = self.holder.predictor
        if predictor is None:  # not loaded (yet, or any more): the worker counts it
            return Failure("not_loaded", True, "the challenger is not loaded")
        try:
            start = time.perf_counter()
            inputs = predictor.parse(job.raw, predictor.request_limits(self.limits))
            answer = predictor.score_inputs(inputs)
            seconds = time.perf_counter() - start
        except Exception as exc:
            return failure(exc)
        request = (job.request_id, job.ms, seconds * 1000.0, job.api_key)
        record = log_record(predictor, inputs, answer, request, SHADOW)
        if record.texts:
            self.recorder.prediction(record)
        return None


def failure(exc: BaseException) -> Failure:
    """What the worker is told of a challenger's error (a request the champion could
    read but the challenger cannot, other columns or limits, is the challenger's fault)."""
    if isinstance(exc, MlcycleError):
        return Failure(exc.code.value, True, exc.message)
    detail = "".join(traceback.format_exception(exc)).rstrip()
    return Failure(type(exc).__name__, False, detail)


def first_of_kind(exc: BaseException | Failure, said: set[str]) -> bool:
    """Whether a challenger's failure is the first of its kind (its error code, or its
    type) in ``said``, which then holds it: failures are said once per kind."""
    if isinstance(exc, Failure):
        kind = exc.kind
    else:
        kind = exc.code.value if isinstance(exc, MlcycleError) else type(exc).__name__
    if kind in said:
        return False
    said.add(kind)
    return True
