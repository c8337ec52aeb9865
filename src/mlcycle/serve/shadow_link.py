"""The worker's side of the shadow challenger: a bounded queue of answered requests, sent
to the challenger's own process, and what that process reports back.

The request path puts a sampled request on the queue (a couple of microseconds) after
its answer is logged; a sender thread writes the requests of each 20 ms to the
process's pipe in one message. The process (:mod:`mlcycle.serve.shadow_process`) loads
the challenger, follows its alias, scores each request at the lowest CPU priority, once
the champion has no request in hand (``champion_busy``; at most 0.1 s later), and writes
the shadow log. It reports each load (or failure to load) and, once per group,
each request scored or failed; this side counts them in the worker's metrics and says
them in the worker's log, a failure once per kind.

A full queue (in requests, bytes, or texts and records, waiting or in the process)
drops the request, counted in ``mlcycle_shadow_dropped_total``: a machine with no spare
CPU drops rather than growing memory. A process that dies is started again after
``retry_s``; the requests it held are counted as the challenger's errors.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from mlcycle.core.settings import Settings
from mlcycle.data.predlog import shadow_root
from mlcycle.serve.components import log_recorder
from mlcycle.serve.follow import ReloadResult
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.shadow import Failure, ShadowJob, first_of_kind

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

# Requests waiting for the challenger, their bodies' bytes and their texts or records:
# past any, drop.
QUEUE_REQUESTS = 1_000
QUEUE_BYTES = 64 * 1024 * 1024
QUEUE_ITEMS = 20_000
# Seconds the sender waits for more requests after one, and the most it sends at once.
GATHER_S = 0.02
GATHER_MAX = 256
# Seconds a stopping server keeps sending queued requests; the rest are dropped.
DRAIN_S = 10.0
# Seconds a stopping process has to score what it holds (a pipe's worth once the
# sender stops) and write the shadow log.
EXIT_S = 5.0
# Seconds a killed process may take to be gone.
KILLED_S = 30.0


class ShadowLink:
    """The challenger's process, the queue of requests for it, and its reports."""

    def __init__(
        self, settings: Settings, ref: str, metrics: Metrics | None, retry_s: float = 30.0
    ) -> None:
        """
        Args:
            settings: The server's settings, for the process to build its own parts.
            ref: The challenger's reference (an alias is followed by the process).
            metrics: Counters of answers, drops and errors; None when metrics are off.
            retry_s: Seconds before a process that died is started again.
        """
        self.settings = settings
        self.ref = ref
        self.metrics = metrics
        self.retry_s = retry_s
        self.version: str | None = None  # the challenger scoring now; None: none is
        # What the process reports besides answers (the experiment listens).
        self.on_reload: Callable[[ReloadResult], None] = lambda result: None
        self.on_failed: Callable[[str], None] = lambda reason: None
        self.answered = self.failed = 0  # written by the reader thread only
        self._full = 0  # requests refused by a full queue (event loop only)
        self._queue: queue.SimpleQueue[ShadowJob | None] = queue.SimpleQueue()
        # Counters of the queue's bound, each with one writer: put (event loop), taken
        # back (reader: reported or lost) and skipped (sender: dropped unsent).
        self._put = [0, 0, 0]  # requests, bytes, items
        self._back = [0, 0, 0]
        self._skipped = [0, 0, 0]
        self._sent: deque[ShadowJob] = deque()  # in the process, oldest first
        self._lock = threading.Lock()  # the connection and what was sent on it
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._first_report = threading.Event()
        self._said: set[str] = set()
        self._threads: list[threading.Thread] = []
        # The champion's requests being answered now, read by the process before each
        # request it scores (shared memory; the event loop is its one writer).
        self.champion_busy = multiprocessing.get_context("spawn").RawValue("i", 0)

    @contextlib.contextmanager
    def champion_working(self) -> Iterator[None]:
        """Mark the champion busy while the block runs: the process waits for it."""
        self.champion_busy.value += 1
        try:
            yield
        finally:
            self.champion_busy.value -= 1

    @property
    def dropped(self) -> int:
        """Requests dropped: the queue was full, or no process could take them."""
        return self._full + self._skipped[0]

    def submit(self, job: ShadowJob) -> bool:
        """Queue a request for the challenger; False (counted) when the queue is full."""
        size = (1, len(job.raw), job.items)
        limits = (QUEUE_REQUESTS, QUEUE_BYTES, QUEUE_ITEMS)
        for i, limit in enumerate(limits):
            if self._put[i] - self._back[i] - self._skipped[i] + size[i] > limit:
                self._full += 1
                self._count_drop()
                return False
        for i, amount in enumerate(size):
            self._put[i] += amount
        self._queue.put(job)
        return True

    def start(self) -> threading.Thread:
        """Start the challenger's process and the threads talking to it; returns a
        thread that ends once the process has said whether the challenger loaded."""
        for target, name in ((self._send, "shadow-send"), (self._read, "shadow-read")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        waiter = threading.Thread(target=self._first_report.wait, name="shadow-load", daemon=True)
        waiter.start()
        return waiter

    def stop(self, timeout: float = DRAIN_S) -> None:
        """Send what is queued (for ``timeout`` seconds at most, the rest is dropped),
        then let the process score what it holds, write the shadow log and exit; say
        what the challenger did."""
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._queue.put(None)
        sender, reader = self._threads or (None, None)
        if sender is not None:
            sender.join(timeout + 1.0)
        if reader is not None:
            reader.join(EXIT_S)
        process = self._process
        if process is not None and process.is_alive():
            # Starved of CPU (it runs only on what nothing else wants), or stuck.
            log.warning("The shadow challenger's process did not stop in %g s; killed.", EXIT_S)
            process.kill()
            # Death is certain but not instant: a process at idle priority exits only
            # when it gets CPU, and its journal is locked until then.
            process.join(KILLED_S)
            # Written whatever ``exitcode`` says: it reads None for a moment when the
            # reader thread reaped the process first (1 stop in 5 when both join), and
            # the journal takes only segments no live process holds.
            self._write_what_it_scored()
        for thread in self._threads:  # both end once the process is gone
            thread.join(1.0)
        log.info("The shadow challenger %s scored %d requests; %d dropped, %d failed.",
                 self.ref, self.answered, self.dropped, self.failed)  # fmt: skip

    def _write_what_it_scored(self) -> None:
        """Write the answers a killed process had logged in its journal only."""
        log_recorder(self.settings, None, shadow_root(self.settings)).stop()

    # -- threads -------------------------------------------------------------------------

    def _send(self) -> None:
        while (jobs := self._gather()) is not None:
            if not self._forward(jobs):
                for job in jobs:
                    self._skip(job)
        with self._lock:
            conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):  # it died: the reader saw it
                conn.send(None)  # the process scores what it holds, then exits

    def _gather(self) -> list[ShadowJob] | None:
        """The requests queued within ``GATHER_S`` of the first (None: stop). One send
        and one report per group, not per request: each wakes this worker's threads,
        whose turns with the interpreter lock delay the champion's answers."""
        if (first := self._queue.get()) is None:
            return None
        jobs = [first]
        if not self._stopping.is_set():
            time.sleep(GATHER_S)
        with contextlib.suppress(queue.Empty):
            while len(jobs) < GATHER_MAX:
                if (job := self._queue.get_nowait()) is None:
                    self._queue.put(None)  # seen at the next call, after this group
                    break
                jobs.append(job)
        return jobs

    def _forward(self, jobs: list[ShadowJob]) -> bool:
        """Send jobs to the process; False when there is none or the drain time is out."""
        if self._stopping.is_set() and time.monotonic() > self._deadline:
            return False
        with self._lock:
            conn = self._conn
            if conn is None:
                return False
            self._sent.extend(jobs)
        # A process that died has the jobs lost: the reader counts them.
        with contextlib.suppress(OSError, ValueError):
            conn.send(jobs)
        return True

    def _read(self) -> None:
        """Start the process, take its reports, and start it again when it dies."""
        while not self._stopping.is_set():
            try:
                conn, process = self._spawn()
            except Exception as exc:  # no process can start now: try again later
                self.on_failed(f"its process could not start ({exc!r})")
            else:
                self._pump(conn)
                self._lost()
                process.join(EXIT_S if self._stopping.is_set() else 1.0)
                if self._stopping.is_set():
                    return
                self.on_failed(
                    f"its process ended (exit code {process.exitcode}) and is started "
                    f"again in {self.retry_s:g} s"
                )  # fmt: skip
            self._first_report.set()  # a server starting does not wait for it any more
            if self._stopping.wait(self.retry_s):
                return

    def _pump(self, conn: Connection) -> None:
        """Handle the process's reports until it closes its end."""
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "done":
                for outcome in value:
                    self._done(outcome)
            elif kind == "reloaded":
                if value.swapped:
                    self.version = value.current
                self._first_report.set()
                self.on_reload(value)
            elif kind == "failed":
                self._first_report.set()
                self.on_failed(value)

    # -- bookkeeping ---------------------------------------------------------------------

    def _spawn(self) -> tuple[Connection, BaseProcess]:
        from mlcycle.serve import shadow_process

        context = multiprocessing.get_context("spawn")  # never fork a threaded server
        ours, theirs = context.Pipe()
        process = context.Process(
            target=shadow_process.run,
            args=(theirs, self.settings, self.ref, self.champion_busy),
            name="mlcycle-shadow", daemon=True,
        )  # fmt: skip
        process.start()
        theirs.close()
        with self._lock:
            self._conn, self._process = ours, process
        return ours, process

    def _done(self, outcome: Failure | None) -> None:
        with self._lock:
            job = self._sent.popleft()
        self._taken_back(job)
        if outcome is None:
            self.answered += 1
            if self.metrics is not None:
                self.metrics.shadow_answers.inc()
        else:
            self._failure(outcome)

    def _lost(self) -> None:
        """The process is gone: the requests it held are the challenger's errors."""
        with self._lock:
            lost = list(self._sent)
            self._sent.clear()
            self._conn = None  # not closed here: the sender may be writing to it
        self.version = None
        for job in lost:
            self._taken_back(job)
            self.failed += 1
            if self.metrics is not None:
                self.metrics.challenger_errors.labels("answer").inc()

    def _taken_back(self, job: ShadowJob) -> None:
        for i, amount in enumerate((1, len(job.raw), job.items)):
            self._back[i] += amount

    def _skip(self, job: ShadowJob) -> None:
        for i, amount in enumerate((1, len(job.raw), job.items)):
            self._skipped[i] += amount
        self._count_drop()

    def _count_drop(self) -> None:
        if self.metrics is not None:
            self.metrics.shadow_dropped.inc()

    def _failure(self, failure: Failure) -> None:
        self.failed += 1
        if self.metrics is not None:
            self.metrics.challenger_errors.labels("answer").inc()
        if not first_of_kind(failure, self._said):
            return
        if failure.refused:
            log.warning("The shadow challenger %s (version %s) refused a request the "
                        "champion answered: %s (said once per kind of error).",
                        self.ref, self.version, failure.detail)  # fmt: skip
        else:
            log.error("The shadow challenger %s (version %s) failed on a request (said "
                      "once per kind of error):\n%s", self.ref, self.version,
                      failure.detail)  # fmt: skip
