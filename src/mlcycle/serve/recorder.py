"""What requests leave behind: metric events, prediction-log and feedback records.

The request path appends to deques (a few hundred nanoseconds) and writes each answered
prediction to the journal (``mlcycle.serve.journal``, a few microseconds) before the
response is sent. One daemon thread per worker drains the deques every ``TICK_S``:
metric events go to Prometheus in bulk, log records become Arrow tables (a tick's worth
at a time, so no stretch of Python work holds the GIL for long), and tables and
feedback are written as Parquet every ``flush_seconds`` and once more when the server
stops. Each write seals the journal segment its records went to and deletes it once
they are written; a failed write leaves the segment for a retry. The thread also
compacts the segments of workers that died before writing theirs, when it starts and
at each write. Records waiting in memory are bounded by ``max_queue`` texts: past it a
request is still answered, its log record is dropped and counted
(``mlcycle_prediction_log_records_total{outcome="dropped"}``).
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
from mlcycle.serve.journal import Journal, Segment, decode, encode
from mlcycle.serve.logrecords import (
    FeedbackRecord,
    LogRecord,
    feedback_table,
    prediction_table,
    protect,
)
from mlcycle.serve.metrics import Event, Metrics

log = logging.getLogger(__name__)

TICK_S = 0.2
# Records converted per Arrow call when compacting a dead worker's journal.
CHUNK = 10_000


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
        journal: Journal | None = None,
    ) -> None:
        self.metrics = metrics
        self.roots = roots  # (predictions, feedback); None: the log is off
        self.journal = journal if roots is not None else None
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
        # Held while a record goes to the journal and the deque, and while the writer
        # seals a segment and takes the deque: a sealed segment's records are all taken.
        self._handover = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the request path ---------------------------------------------------------------

    def request(self, event: Event) -> None:
        """Count one answered request."""
        self.events.append(event)

    def prediction(self, record: LogRecord) -> None:
        """Queue an answered prediction for the log, or count it dropped when full.

        With a journal, the record is in the operating system's hands on return.
        """
        if self.roots is None:
            return
        size = len(record.texts)
        if self.queued - self.taken + size > self.max_queue:
            self.dropped += size
            return
        self.queued += size
        if self.salt is not None:
            record = protect(record, self.salt)
        if self.journal is None:
            self.records.append(record)
            return
        line = encode(record)
        with self._handover:
            self.journal.append(line)
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
        self._adopt_orphans()  # first: a segment whose write fails now waits for the next
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
            self._tables.append(prediction_table(records))

    def _run(self) -> None:
        self._adopt_orphans()  # what the workers of a killed server left
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
        if self.roots is None:
            return
        with self._handover:
            segment = self.journal.seal() if self.journal is not None else None
            records = _take(self.records)
        if records:
            self._tables.append(prediction_table(records))
        if not self._tables:
            if segment is not None:
                segment.release(delete=True)
            return
        self._writing, self._tables = self._tables, []
        table = pa.concat_tables(self._writing)
        try:
            self._write_rows(table, segment)
        finally:
            self.taken += table.num_rows
            self._writing = []

    def _write_rows(self, table: pa.Table, segment: Segment | None) -> bool:
        """Write log rows (all those of ``segment`` when they come from one), then delete
        the segment; when the write fails the segment is left for a retry."""
        assert self.roots is not None
        try:
            write_partitioned(self.roots[0], table, tag=segment.name if segment else None)
        except Exception as exc:
            self._write_failed(table.num_rows, exc, segment)
            written = False
        else:
            self._count("written", table.num_rows)
            written = True
        if segment is not None:
            segment.release(delete=written)
        return written

    def _write_failed(self, rows: int, exc: Exception, segment: Segment | None) -> None:
        # Keeping failed rows in memory for a retry would let a full disk grow memory
        # without bound: a journal segment keeps them on disk instead, and without one
        # they are counted and the next flush tries with new rows.
        kept = f"kept in {segment.path} for a retry" if segment else "lost"
        log.error("Writing %d prediction-log rows to %s failed (%s): %s", rows, self.roots,
                  kept, exc)  # fmt: skip
        self._count("failed", rows)

    def _adopt_orphans(self) -> None:
        """Write the journal segments no one holds: those of workers that died before
        writing them, and those whose write failed."""
        if self.journal is None:
            return
        try:
            for segment in self.journal.orphans():
                self._adopt(segment)
        except Exception:  # this recorder's own records are written all the same
            log.exception("Writing the prediction-log journal in %s failed; retried at the "
                          "next write", self.journal.folder)  # fmt: skip

    def _adopt(self, segment: Segment) -> None:
        try:
            records, skipped = decode(segment.read())
            tables = [
                prediction_table(records[i : i + CHUNK]) for i in range(0, len(records), CHUNK)
            ]
        except Exception as exc:  # damaged beyond a line: set aside, not retried forever
            _set_aside(segment, exc)
            return
        if skipped:
            log.warning("Skipped %d damaged line(s) of %s (one is cut short when a worker "
                        "dies while writing it).", skipped, segment.path)  # fmt: skip
        if not tables:
            segment.release(delete=True)
        elif self._write_rows(pa.concat_tables(tables), segment):
            log.info("Wrote the %d prediction-log records left in %s.", len(records),
                     segment.path)  # fmt: skip

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


def _set_aside(segment: Segment, exc: Exception) -> None:
    damaged = segment.path.with_suffix(".damaged")
    log.error("The prediction-log journal %s cannot be read (%s); moved to %s.",
              segment.path, exc, damaged)  # fmt: skip
    try:
        segment.path.rename(damaged)
    finally:
        segment.release(delete=False)


def _take(queue: deque[Any]) -> list[Any]:
    """Pop everything now in ``queue`` (appends from other threads may go on)."""
    out = []
    pop = queue.popleft
    for _ in range(len(queue)):
        out.append(pop())
    return out
