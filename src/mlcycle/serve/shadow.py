"""The shadow challenger: requests scored again by a second model, off the response path.

The request path hands the raw body of a sampled request to a bounded queue (a couple
of microseconds) after its answer is logged; one daemon thread per worker parses it
with the challenger's own rules, scores it and logs the answer in the shadow log
(``mlcycle.data.predlog.shadow_root``) with arm ``shadow``, the champion's request id
and the challenger's version. A full queue (in requests, bytes or texts and records)
drops the request (counted in ``mlcycle_shadow_dropped_total``) instead of growing
memory or slowing clients; a failure of the challenger is counted
(``mlcycle_challenger_errors_total``) and logged once per kind, and never reaches a client.

The champion comes first. A worker's threads share one interpreter lock, so a challenger
scoring while requests are being answered slows them: the thread scores only once its
worker has answered every request in hand and none has arrived for ``IDLE_S``, and goes
on from one queued request to the next while none arrives. A request is scored
``SHADOW_PART`` texts or records at a time, the worker found idle again before each
part: a client's request arriving meanwhile waits for one small part at most, not for
a thousand texts. The parts' answers are logged together, as one answer to the whole
request. Shadow scoring thus takes the spare capacity of a worker; a worker that is
never idle that long fills the queue and drops what comes next, which the drop counter
shows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from mlcycle.core.errors import MlcycleError
from mlcycle.serve.answers import Answer, AnyPredictor
from mlcycle.serve.bodies import Inputs
from mlcycle.serve.faults import Fault
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.predict import log_record
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.validation import Limits

log = logging.getLogger(__name__)

SHADOW = "shadow"
# Requests waiting for the challenger, their bodies' bytes and their texts or records:
# past any, drop.
QUEUE_REQUESTS = 1_000
QUEUE_BYTES = 64 * 1024 * 1024
QUEUE_ITEMS = 20_000
# Texts or records the challenger scores at a time. A client request arriving while a
# part is scored waits for it (the worker's threads share one interpreter lock): with
# parts of 64 texts the champion's single-text p99 rose by half at 300 requests/s
# (benchmarks/bench_serve.py --shadow --pace-ms 50); parts of 8 hold the wait near 0.2 ms.
SHADOW_PART = 8
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
    items: int  # its texts or records the champion read


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
        self._put_items = self._got_items = 0
        self._seen = -1  # the worker's arrivals when the scorer last found it idle
        self.answered = self.dropped = self.failed = 0
        self._said: set[str] = set()  # kinds of failure already logged
        self._thread: threading.Thread | None = None

    def submit(self, job: ShadowJob) -> bool:
        """Queue a request for the challenger; False (counted) when the queue is full."""
        if (
            self._put - self._got >= QUEUE_REQUESTS
            or self._put_bytes - self._got_bytes + len(job.raw) > QUEUE_BYTES
            or self._put_items - self._got_items + job.items > QUEUE_ITEMS
        ):
            self.dropped += 1
            if self.metrics is not None:
                self.metrics.shadow_dropped.inc()
            return False
        self._put += 1
        self._put_bytes += len(job.raw)
        self._put_items += job.items
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
        while (job := self._queue.get()) is not None:
            try:
                self.score(job)
            finally:
                self._got += 1
                self._got_bytes += len(job.raw)
                self._got_items += job.items

    def _wait_for_idle(self) -> None:
        """Return once no request is in flight and none arrived since the worker was last
        found idle (or for ``IDLE_S``); a stopping server does not wait."""
        while not self._stopping.is_set():
            arrived, in_flight = self.activity()
            if arrived == self._seen and in_flight == 0:
                return
            self._seen = arrived
            time.sleep(IDLE_S)

    def score(self, job: ShadowJob) -> None:
        """Score one request with the challenger, a part at a time while the worker is
        idle, and log its answer; never raises."""
        predictor = self.holder.predictor
        if predictor is None:  # it went away (cannot today; cheap to be sure)
            return
        try:
            self._wait_for_idle()
            start = time.perf_counter()
            inputs = predictor.parse(job.raw, predictor.request_limits(self.limits))
            parsed = time.perf_counter() - start
            answer, scored = self._answer(predictor, inputs, job.request_id)
        except Exception as exc:
            self._failed(exc, predictor.version)
            return
        # The time spent reading and scoring, not waiting for the worker to be idle.
        request = (job.request_id, job.ms, (parsed + scored) * 1000.0, job.api_key)
        record = log_record(predictor, inputs, answer, request, SHADOW)
        if record.texts:
            self.recorder.prediction(record)
        self.answered += 1
        if self.metrics is not None:
            self.metrics.shadow_answers.inc()

    def _answer(
        self, predictor: AnyPredictor, inputs: Inputs, request_id: str
    ) -> tuple[Answer, float]:
        """The challenger's answer to a request, scored ``SHADOW_PART`` at a time with
        the worker idle before each part, and the seconds spent scoring."""
        answers: list[Answer] = []
        seconds = 0.0
        for part in inputs.parts(SHADOW_PART):
            self._wait_for_idle()
            start = time.perf_counter()
            answers.append(predictor.answer_inputs(part, request_id))
            seconds += time.perf_counter() - start
        return joined(answers, inputs.faults), seconds

    def _failed(self, exc: Exception, version: str) -> None:
        self.failed += 1
        if self.metrics is not None:
            self.metrics.challenger_errors.labels("answer").inc()
        # A request the champion could read but the challenger cannot (other columns,
        # other limits) is the challenger's fault, said once per kind, not per request.
        if not first_of_kind(exc, self._said):
            return
        if isinstance(exc, MlcycleError):
            log.warning("The shadow challenger %s (version %s) refused a request the "
                        "champion answered: %s (said once per kind of error).",
                        self.holder.ref, version, exc.message)  # fmt: skip
        else:
            log.error("The shadow challenger %s (version %s) failed on a request "
                      "(said once per kind of error)", self.holder.ref, version,
                      exc_info=exc)  # fmt: skip


def first_of_kind(exc: BaseException, said: set[str]) -> bool:
    """Whether a challenger's failure is the first of its kind (its error code, or its
    type) in ``said``, which then holds it: failures are said once per kind."""
    kind = exc.code.value if isinstance(exc, MlcycleError) else type(exc).__name__
    if kind in said:
        return False
    said.add(kind)
    return True


def joined(answers: Sequence[Answer], faults: Sequence[Fault]) -> Answer:
    """One answer from the answers to the parts of a request, in order, with the
    request's faults: what the log needs of it (no body)."""
    first = answers[0] if answers else Answer(b"", [], [])
    values = None if first.values is None else [v for a in answers for v in a.values or ()]
    inputs = None if first.inputs is None else [i for a in answers for i in a.inputs or ()]
    return Answer(
        b"", [c for a in answers for c in a.codes], [p for a in answers for p in a.probs],
        values, inputs, tuple(faults), sum(a.auto_coded for a in answers),
    )  # fmt: skip
