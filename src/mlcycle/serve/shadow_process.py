"""The shadow challenger's own process, started by a worker's link
(:mod:`mlcycle.serve.shadow_link`) and fed over a pipe.

It scores at the lowest CPU priority the system has (``SCHED_IDLE`` on Linux, else nice
19), so it takes only the CPU the worker leaves (in a container, what the container's
other processes leave): with the challenger in the worker, its
scoring shared the worker's interpreter lock and slowed the champion's answers. It loads
the challenger, follows its alias as a worker does, scores each request it is sent
(:class:`mlcycle.serve.shadow.ShadowScorer`), writes the shadow log, and reports to the
worker: ``("reloaded", ReloadResult)``, ``("failed", reason)``, ``("done", [Failure or
None, ...])``, one outcome per request of a group the worker sent. It stops when the
worker sends None, or when the worker is gone (its end of the pipe closed), after
writing the log of what it scored.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from mlcycle.core.errors import MlcycleError
from mlcycle.core.processes import serving_process
from mlcycle.core.settings import Settings
from mlcycle.data.predlog import shadow_root
from mlcycle.serve.answers import INLINE_ITEMS
from mlcycle.serve.components import alias_follower, load_registered, log_recorder, model_holder
from mlcycle.serve.follow import ReloadResult
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.shadow import ShadowJob, ShadowScorer
from mlcycle.serve.validation import Limits

log = logging.getLogger(__name__)

# How often the process looks whether the champion is idle, the longest it waits, and
# the requests that wait: those of more texts or records than the server answers inline.
YIELD_POLL_S = 0.0005
YIELD_MAX_S = 0.1
YIELD_FROM_ITEMS = INLINE_ITEMS + 1


def run(conn: Connection, settings: Settings, ref: str, champion_busy: ctypes.c_int) -> None:
    """The process's body: load ``ref``, then score what ``conn`` brings until told to
    stop, a large request once the champion is idle (``champion_busy``: the champion's
    requests in hand, in memory shared with the worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which stops us
    serving_process()
    logging.basicConfig(format="%(levelname)s:     shadow challenger: %(message)s")
    report = Reporter(conn)
    holder = model_holder(settings, ref)
    recorder = log_recorder(settings, None, shadow_root(settings))
    follower = alias_follower(
        holder, settings, lambda result: report("reloaded", result),
        on_error=lambda exc: report("failed", exc.message), always=True,
    )  # fmt: skip
    scorer = ShadowScorer(holder, Limits.from_settings(settings.serve), recorder)
    first_load(holder, settings, report)
    recorder.start()
    follower.start()
    if settings.serve.experiment.shadow_priority == "idle":
        lowest_priority()  # the scoring thread only: loads and log writes are not starved
    try:
        while (jobs := next_jobs(conn)) is not None:
            report("done", [scorer.score(job) for job in after_champion(jobs, champion_busy)])
    finally:
        follower.stop()
        recorder.stop()


def after_champion(jobs: list[ShadowJob], busy: ctypes.c_int) -> Iterator[ShadowJob]:
    """Each job; a large one once the champion answers nothing, or after ``YIELD_MAX_S``.

    Idle CPU priority keeps the challenger off a core the champion wants, not off the
    cache and memory both share: scoring the same batch beside the champion made its
    1,000-text answers 10-15% slower. Waiting for an idle champion keeps the two apart
    where there is room, and the bound keeps the challenger scoring where there is none.
    A small request is scored at once: it takes less time than looking (measured, the
    single-text p99 with shadow on rose from 0.8-1.1x to 1.0-1.2x of off when they waited).
    """
    for job in jobs:
        deadline = time.monotonic() + YIELD_MAX_S
        while job.items >= YIELD_FROM_ITEMS and busy.value > 0 and time.monotonic() < deadline:
            time.sleep(YIELD_POLL_S)
        yield job


def lowest_priority() -> None:
    """Run the calling thread (and those it starts) only on CPU nothing else wants.

    On Linux a thread's policy and nice value are its own: the follower's and the log
    writer's threads, started before, keep the usual priority.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        with contextlib.suppress(OSError):
            os.nice(19)


def first_load(holder: ModelHolder, settings: Settings, report: Reporter) -> None:
    """Load the challenger and say how it went (the follower retries a failure)."""
    try:
        served = load_registered(holder.ref, settings)
        holder.swap(served)
    except MlcycleError as exc:
        report("failed", exc.message)
    except Exception as exc:
        log.exception("Loading the challenger %s failed", holder.ref)
        report("failed", repr(exc))
    else:
        report("reloaded", ReloadResult(None, str(served.version), swapped=True))


def next_jobs(conn: Connection) -> list[ShadowJob] | None:
    """The next group of requests to score; None once the worker says stop or is gone."""
    try:
        jobs: list[ShadowJob] | None = conn.recv()
    except (EOFError, OSError):
        return None
    return jobs


class Reporter:
    """Sends reports to the worker from any thread (the follower's and the main one)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def __call__(self, kind: str, value: Any) -> None:
        # A worker that is gone ends the loop at its next read.
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.conn.send((kind, value))
