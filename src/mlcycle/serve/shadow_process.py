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
import logging
import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from mlcycle.core.errors import MlcycleError
from mlcycle.core.processes import serving_process
from mlcycle.core.settings import Settings
from mlcycle.data.predlog import shadow_root
from mlcycle.serve.components import alias_follower, load_registered, log_recorder, model_holder
from mlcycle.serve.follow import ReloadResult
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.shadow import ShadowJob, ShadowScorer
from mlcycle.serve.validation import Limits

log = logging.getLogger(__name__)


def run(conn: Connection, settings: Settings, ref: str) -> None:
    """The process's body: load ``ref``, then score what ``conn`` brings until told to stop."""
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
            report("done", [scorer.score(job) for job in jobs])
    finally:
        follower.stop()
        recorder.stop()


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
