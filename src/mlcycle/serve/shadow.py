"""The shadow challenger: requests scored again by a second model, off the response path.

The request path hands the raw body of a sampled request to a bounded queue (a couple
of microseconds) after its answer is logged; one daemon thread per worker parses it
with the challenger's own rules, scores it and logs the answer in the shadow log
(``mlcycle.data.predlog.shadow_root``) with arm ``shadow``, the champion's request id
and the challenger's version. A full queue drops the request (counted in
``mlcycle_shadow_dropped_total``) instead of growing memory or slowing clients; a
failure of the challenger is counted (``mlcycle_challenger_errors_total``) and logged
once per kind, and never reaches a client.

The champion comes first. A worker's threads share one interpreter lock, so a challenger
scoring while requests are being answered slows them: the thread scores only once its
worker has answered every request in hand and none has arrived for ``IDLE_S``, and goes
on from one queued request to the next while none arrives. Shadow scoring thus takes
the spare capacity of a worker; a worker that is never idle that long fills the queue
and drops what comes next, which the drop counter shows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from mlcycle.core.errors import MlcycleError
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.predict import log_record
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.validation import Limits

log = logging.getLogger(__name__)

SHADOW = "shadow"
# Requests waiting for the challenger, and their bodies' bytes: past either, drop.
QUEUE_REQUESTS = 1_000
QUEUE_BYTES = 64 * 1024 * 1024
# Seconds a stopping server gives the queue to drain before it drops the rest.
DRAIN_S = 10.0
# A worker with no request in flight and none arriving for this long is idle.
IDLE_S = 0.001
# (requests arrived so far, requests in flight) of a worker
Activity = Callable[[], tuple[int, int]]


class ShadowJob(NamedTuple):
    """A request the champion answered, for the challenger to score."""

    raw: bytes
    request_id: str
    ms: int
    api_key: str | None


class ShadowScorer:
    """A bounded queue of requests and the thread that scores them with the challenger."""

    def __init__(
        self,
        holder: ModelHolder,
        limits: Limits,
        recorder: Recorder,
        metrics: Metrics | None,
        activity: Activity = lambda: (0, 0),
    ) -> None:
        """
        Args:
            holder: The challenger's holder (requests wait only while it has a model).
            limits: The server's request limits (the challenger's own are derived).
            recorder: Writes the shadow log.
            metrics: Counters of answers, drops and errors; None when metrics are off.
            activity: The worker's requests: arrived so far and in flight now (the
                scorer waits for a quiet moment).
        """
        self.holder = holder
        self.limits = limits
        self.recorder = recorder
        self.metrics = metrics
        self.activity = activity
        self._stopping = threading.Event()
        self._queue: queue.SimpleQueue[ShadowJob | None] = queue.SimpleQueue()
        # Each counter has one writer (event loop: put, scorer thread: got).
        self._put = self._got = self._put_bytes = self._got_bytes = 0
        self.answered = self.dropped = self.failed = 0
        self._said: set[str] = set()  # kinds of failure already logged
        self._thread: threading.Thread | None = None

    def submit(self, job: ShadowJob) -> bool:
        """Queue a request for the challenger; False (counted) when the queue is full."""
        if (
            self._put - self._got >= QUEUE_REQUESTS
            or self._put_bytes - self._got_bytes + len(job.raw) > QUEUE_BYTES
        ):
            self.dropped += 1
            if self.metrics is not None:
                self.metrics.shadow_dropped.inc()
            return False
        self._put += 1
        self._put_bytes += len(job.raw)
        self._queue.put(job)
        return True

    def start(self) -> None:
        """Start the scoring thread and the shadow log's writer (once)."""
        if self._thread is None:
            self.recorder.start()
            self._thread = threading.Thread(target=self._run, name="mlcycle-shadow", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = DRAIN_S) -> None:
        """Score what is queued (for ``timeout`` seconds at most), stop the thread and
        write the shadow log."""
        if self._thread is not None:
            self._stopping.set()  # what is queued is scored without waiting
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        self.recorder.stop()

    def _run(self) -> None:
        seen = -1
        while (job := self._queue.get()) is not None:
            seen = self._wait_for_idle(seen)
            try:
                self.score(job)
            finally:
                self._got += 1
                self._got_bytes += len(job.raw)

    def _wait_for_idle(self, seen: int) -> int:
        """Return once no request is in flight and none arrived since ``seen`` (or for
        ``IDLE_S``); a stopping server does not wait. Returns the arrivals seen."""
        while not self._stopping.is_set():
            arrived, in_flight = self.activity()
            if arrived == seen and in_flight == 0:
                break
            seen = arrived
            time.sleep(IDLE_S)
        return seen

    def score(self, job: ShadowJob) -> None:
        """Score one request with the challenger and log its answer; never raises."""
        predictor = self.holder.predictor
        if predictor is None:  # it went away (cannot today; cheap to be sure)
            return
        start = time.perf_counter()
        try:
            inputs = predictor.parse(job.raw, predictor.request_limits(self.limits))
            answer = predictor.answer_inputs(inputs, job.request_id)
        except Exception as exc:
            self._failed(exc, predictor.version)
            return
        latency_ms = (time.perf_counter() - start) * 1000.0
        request = (job.request_id, job.ms, latency_ms, job.api_key)
        record = log_record(predictor, inputs, answer, request, SHADOW)
        if record.texts:
            self.recorder.prediction(record)
        self.answered += 1
        if self.metrics is not None:
            self.metrics.shadow_answers.inc()

    def _failed(self, exc: Exception, version: str) -> None:
        self.failed += 1
        if self.metrics is not None:
            self.metrics.challenger_errors.labels("answer").inc()
        # A request the champion could read but the challenger cannot (other columns,
        # other limits) is the challenger's fault, said once per kind, not per request.
        kind = exc.code.value if isinstance(exc, MlcycleError) else type(exc).__name__
        if kind in self._said:
            return
        self._said.add(kind)
        if isinstance(exc, MlcycleError):
            log.warning("The shadow challenger %s (version %s) refused a request the "
                        "champion answered: %s (said once per kind of error).",
                        self.holder.ref, version, exc.message)  # fmt: skip
        else:
            log.error("The shadow challenger %s (version %s) failed on a request "
                      "(said once per kind of error)", self.holder.ref, version,
                      exc_info=exc)  # fmt: skip
