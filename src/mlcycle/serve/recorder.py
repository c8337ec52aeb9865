"""What requests leave behind: metric events, prediction-log and feedback records.

The request path only appends to deques (a few hundred nanoseconds). One daemon thread
per worker drains them every ``TICK_S``: metric events go to Prometheus in bulk, log
records become Arrow tables (a tick's worth at a time, so no stretch of Python work
holds the GIL for long), and tables and feedback are written as Parquet every
``flush_seconds`` and once more when the server stops. Records waiting in memory are
bounded by ``max_queue`` texts: past it a request is still answered, its log record is
dropped and counted (``mlcycle_prediction_log_records_total{outcome="dropped"}``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.data.predlog import PREDICTION_SCHEMA, Root, write_partitioned
from mlcycle.serve.logrecords import FeedbackRecord, LogRecord, feedback_table, prediction_table
from mlcycle.serve.metrics import Event, Metrics

log = logging.getLogger(__name__)

TICK_S = 0.2


class Recorder:
    """Collects request events and records; ``start()`` runs the writer thread."""

    def __init__(
        self,
        metrics: Metrics | None,
        roots: tuple[Root, Root] | None,
        *,
        salt: bytes | None = None,
        flush_seconds: float = 2.0,
        max_queue: int = 200_000,
    ) -> None:
        self.metrics = metrics
        self.roots = roots  # (predictions, feedback); None: the log is off
        self.salt = salt
        self.flush_seconds = flush_seconds
        self.max_queue = max_queue
        self.in_flight = 0  # changed by the event loop only
        self.events: deque[Event] = deque()
        self.records: deque[LogRecord] = deque()
        self.feedback: deque[FeedbackRecord] = deque()
        # Texts queued (event loop) and taken off the queue (writer); each counter has
        # one writer, so no lock is needed to compare them.
        self.queued = self.taken = self.dropped = 0
        self._dropped_seen = 0
        self._tables: list[pa.Table] = []  # converted, not yet written
        self._writing: list[pa.Table] = []
        self._feedback_buffer: list[FeedbackRecord] = []
        self._metrics_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the request path ---------------------------------------------------------------

    def request(self, event: Event) -> None:
        """Count one answered request."""
        self.events.append(event)

    def prediction(self, record: LogRecord) -> None:
        """Queue an answered prediction for the log, or count it dropped when full."""
        if self.roots is None:
            return
        size = len(record.texts)
        if self.queued - self.taken + size > self.max_queue:
            self.dropped += size
            return
        self.queued += size
        self.records.append(record)

    # -- lookups for /feedback ----------------------------------------------------------

    def pending(self, request_ids: set[str]) -> pa.Table:
        """Log rows of these ids still in memory (not yet in a file)."""
        # list() of a deque or list is one C call, safe against the writer thread.
        found = [r for r in list(self.records) if r.request_id in request_ids]
        parts = [prediction_table(found, None)] if found else []
        wanted = pa.array(sorted(request_ids), pa.string())
        for table in list(self._tables) + list(self._writing):
            mask = pc.is_in(table.column("request_id"), value_set=wanted)
            if pc.any(mask).as_py():
                parts.append(table.filter(mask))
        return pa.concat_tables(parts) if parts else PREDICTION_SCHEMA.empty_table()

    # -- the writer thread --------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mlcycle-recorder", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything still in memory and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:
            self.flush()

    def update_metrics(self) -> None:
        """Apply pending metric events now (``/metrics`` calls this before rendering)."""
        if self.metrics is None:
            self.events.clear()
            return
        with self._metrics_lock:
            events = _take(self.events)
            self.metrics.record(events)
            self.metrics.in_flight.set(self.in_flight)
            if self.dropped != self._dropped_seen:
                self.metrics.log_records.labels("dropped").inc(self.dropped - self._dropped_seen)
                self._dropped_seen = self.dropped

    def flush(self) -> None:
        """Drain the queues and write every buffered record (writer thread or shutdown)."""
        self.update_metrics()
        self._convert()
        self._feedback_buffer.extend(_take(self.feedback))
        self._write_predictions()
        self._write_feedback()

    def _convert(self) -> None:
        """Turn the records queued so far into an Arrow table, a tick's worth at a time.

        Converting every tick rather than at each write keeps each stretch of Python
        work (which holds the GIL the event loop needs) short, and frees the records'
        Python objects early.
        """
        records = _take(self.records)
        if records and self.roots is not None:
            self._tables.append(prediction_table(records, self.salt))

    def _run(self) -> None:
        next_write = time.monotonic() + self.flush_seconds
        while not self._stop.wait(TICK_S):
            try:
                self.update_metrics()
                self._convert()
                # Write early when a quarter of the queue waits, so bursts of big batches
                # are written before the bound drops any.
                backlog = self.queued - self.taken >= self.max_queue // 4
                if backlog or time.monotonic() >= next_write:
                    next_write = time.monotonic() + self.flush_seconds
                    self.flush()
            except Exception:  # the thread must outlive any one bad batch
                log.exception("The prediction recorder failed; it keeps running")
        self.flush()

    def _write_predictions(self) -> None:
        if not self._tables or self.roots is None:
            return
        self._writing, self._tables = self._tables, []
        table = pa.concat_tables(self._writing)
        rows = table.num_rows
        try:
            write_partitioned(self.roots[0], table)
        except Exception as exc:
            self._write_failed(rows, exc)
        else:
            self._count("written", rows)
        finally:
            self.taken += rows
            self._writing = []

    def _write_failed(self, rows: int, exc: Exception) -> None:
        # Keeping failed rows for a retry would let a full disk grow memory without
        # bound; they are counted instead, and the next flush tries with new rows.
        log.error("Writing %d prediction-log rows to %s failed: %s", rows, self.roots, exc)
        self._count("failed", rows)

    def _write_feedback(self) -> None:
        if not self._feedback_buffer or self.roots is None:
            return
        batch, self._feedback_buffer = self._feedback_buffer, []
        try:
            write_partitioned(self.roots[1], feedback_table(batch))
        except Exception as exc:
            log.error("Writing %d feedback rows to %s failed: %s", len(batch), self.roots, exc)
        else:
            if self.metrics is not None:
                self.metrics.feedback.inc(len(batch))

    def _count(self, outcome: str, rows: int) -> None:
        if self.metrics is not None:
            self.metrics.log_records.labels(outcome).inc(rows)


def _take(queue: deque[Any]) -> list[Any]:
    """Pop everything now in ``queue`` (appends from other threads may go on)."""
    out = []
    pop = queue.popleft
    for _ in range(len(queue)):
        out.append(pop())
    return out
