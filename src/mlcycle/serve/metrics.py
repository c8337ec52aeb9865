"""Prometheus metrics, updated in bulk off the request path.

Requests only append an event to a deque (``mlcycle.serve.recorder``); a background
thread hands the events here every half second, and a few hundred counter and bucket
updates cover thousands of requests. With several uvicorn workers every process writes
its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (one directory per server, made by
``mlcycle.serve.runner``) and ``/metrics`` of any worker merges them all. A worker that
stops cleanly removes its live gauges (model info, requests in flight); one killed
(SIGKILL, the OOM killer) cannot, so ``/metrics`` removes those of dead processes
before merging, while their counters stay: what they counted still happened.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
PROBABILITY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
TEXTS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# prometheus_client's file of one process's live gauges: gauge_live<mode>_<pid>.db
_LIVE_GAUGES = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")

# One request's event: route, status, seconds, and for an answered /predict the answer
# (``mlcycle.serve.answers.Answer``: per text or record the ranked codes and probabilities).
Event = tuple[str, int, float, Any]


class Metrics:
    """The API's metrics; one instance per app (and so per worker process)."""

    def __init__(self) -> None:
        import prometheus_client as pc

        self._pc = pc
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        if self.multiprocess_dir:
            _use_multiprocess_values()
        # In one process each app gets its own registry (tests build many apps); with
        # several workers the values live in files and a collector reads them at scrape.
        self.registry = pc.CollectorRegistry()
        own = None if self.multiprocess_dir else self.registry
        self.requests = pc.Counter(
            "mlcycle_http_requests", "HTTP requests answered.", ["route", "status"], registry=own
        )
        self.latency = pc.Histogram(
            "mlcycle_http_request_duration_seconds", "Time to answer a request.", ["route"],
            buckets=LATENCY_BUCKETS, registry=own,
        )  # fmt: skip
        self.predictions = pc.Counter(
            "mlcycle_predictions", "Texts answered, by top-1 predicted code.", ["code"],
            registry=own,
        )  # fmt: skip
        self.auto_coded = pc.Counter(
            "mlcycle_predictions_auto_codable", "Texts answered as auto_codable: their top-1 "
            "clears the served model's own auto-coding threshold.", registry=own,
        )  # fmt: skip
        self.top1 = pc.Histogram(
            "mlcycle_prediction_top1_probability", "Probability of the top-1 code per text.",
            buckets=PROBABILITY_BUCKETS, registry=own,
        )  # fmt: skip
        self.texts = pc.Histogram(
            "mlcycle_prediction_texts_per_request", "Texts per answered /predict request.",
            buckets=TEXTS_BUCKETS, registry=own,
        )  # fmt: skip
        self.input_errors = pc.Counter(
            "mlcycle_prediction_input_errors", "Texts (records) of answered /predict requests "
            "answered with an error instead of a prediction, by error (blank, not_a_string, "
            "too_long).", ["error"], registry=own,
        )  # fmt: skip
        self.model = pc.Gauge(
            "mlcycle_model_info", "1 for the model version this process answers with.",
            ["name", "version"], multiprocess_mode="liveall", registry=own,
        )  # fmt: skip
        self.reloads = pc.Counter(
            "mlcycle_model_reloads", "Model swaps, by outcome (swapped, failed).", ["outcome"],
            registry=own,
        )  # fmt: skip
        self.log_records = pc.Counter(
            "mlcycle_prediction_log_records", "Prediction-log rows, by outcome (written, "
            "dropped when the queue was full, failed when a write failed).", ["outcome"],
            registry=own,
        )  # fmt: skip
        self.feedback = pc.Counter(
            "mlcycle_feedback_records", "Feedback rows stored.", registry=own
        )
        # serve.experiment: what the challenger did beside the champion.
        self.shadow_answers = pc.Counter(
            "mlcycle_shadow_answers", "Requests the shadow challenger answered (logged in "
            "the shadow log).", registry=own,
        )  # fmt: skip
        self.shadow_dropped = pc.Counter(
            "mlcycle_shadow_dropped", "Requests sampled for the shadow challenger but not "
            "scored: its queue was full (of requests, bytes, or texts and records).",
            registry=own,
        )  # fmt: skip
        self.challenger_errors = pc.Counter(
            "mlcycle_challenger_errors", "Challenger failures, by stage (load: it could not "
            "be found or loaded; answer: it failed on a request, which a canary's champion "
            "then answered).", ["stage"], registry=own,
        )  # fmt: skip
        self.in_flight = pc.Gauge(
            "mlcycle_http_requests_in_flight", "Requests being answered.",
            multiprocess_mode="livesum", registry=own,
        )  # fmt: skip
        if self.multiprocess_dir:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry, path=self.multiprocess_dir)

    def record(self, events: Sequence[Event]) -> None:
        """Apply a batch of request events."""
        if not events:
            return
        counts: Tally[tuple[str, int]] = Tally()
        seconds: dict[str, list[float]] = defaultdict(list)
        codes: list[str] = []
        probs: list[float] = []
        sizes: list[int] = []
        errors: list[str] = []
        auto_coded = 0
        for route, status, took, answer in events:
            counts[route, status] += 1
            seconds[route].append(took)
            if answer is not None:  # a regression's ranked lists are empty
                codes += [ranked[0] for ranked in answer.codes if ranked]
                probs += [ranked[0] for ranked in answer.probs if ranked]
                sizes.append(len(answer.codes) + len(answer.faults))
                errors += [fault.error for fault in answer.faults]
                auto_coded += answer.auto_coded
        for (route, status), count in counts.items():
            self.requests.labels(route, str(status)).inc(count)
        for route, values in seconds.items():
            observe_many(self.latency.labels(route), np.asarray(values))
        for code, count in Tally(codes).items():
            self.predictions.labels(code).inc(count)
        for error, count in Tally(errors).items():
            self.input_errors.labels(error).inc(count)
        if auto_coded:
            self.auto_coded.inc(auto_coded)
        observe_many(self.top1, np.asarray(probs, dtype=np.float64))
        observe_many(self.texts, np.asarray(sizes, dtype=np.float64))

    def model_changed(self, name: str, version: str, previous: str | None) -> None:
        """Point the model-info gauge at the version now answering."""
        if previous is not None and previous != version:
            self.model.labels(name, previous).set(0)
        self.model.labels(name, version).set(1)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self.multiprocess_dir:
            forget_dead_processes(self.multiprocess_dir)
        return self._pc.generate_latest(self.registry), self._pc.CONTENT_TYPE_LATEST

    def close(self) -> None:
        """Forget this process's live gauges (in-flight, model info) in multiprocess mode."""
        if self.multiprocess_dir:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)


def forget_dead_processes(folder: str) -> None:
    """Remove the live gauges of the processes in ``folder`` that no longer exist."""
    from prometheus_client import multiprocess

    pids = {int(match[1]) for name in os.listdir(folder) if (match := _LIVE_GAUGES.match(name))}
    for pid in pids:
        if not _alive(pid):
            with contextlib.suppress(FileNotFoundError):  # another worker got there first
                multiprocess.mark_process_dead(pid, folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def observe_many(histogram: Any, values: np.ndarray) -> None:
    """Add many observations to one histogram child with one update per bucket.

    prometheus_client observes one value at a time (a lock and a file write each in
    multiprocess mode); this counts values per bucket with numpy and adds the counts to
    the child's bucket and sum values, the same ones ``observe`` increments. Those are
    private attributes: pyproject pins prometheus-client to the releases
    ``test_bulk_histogram_updates_match_one_by_one`` checked, and that test fails if they
    change.
    """
    if values.size == 0:
        return
    bounds = np.asarray(histogram._upper_bounds, dtype=np.float64)
    # Bucket i counts values <= bound i and > bound i-1 (Prometheus's ``le``).
    per_bucket = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    for bucket, count in zip(histogram._buckets, per_bucket.tolist(), strict=True):
        if count:
            bucket.inc(count)
    histogram._sum.inc(float(values.sum()))


def _use_multiprocess_values() -> None:
    """Make metrics write to files even if prometheus_client was imported before the
    directory was set (it picks the value class at import)."""
    from prometheus_client import values

    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()
