"""W workers on one machine: this process plus W-1 worker processes on one study.

The worker processes come from a fork server that :func:`warm_up` starts as soon as a
command knows it wants several workers: it imports mlflow, optuna and mlcycle while
this process prepares the search, then forks workers that are ready at once. This
process runs trials too. A thread meanwhile refreshes the progress, reaps the trials
of dead workers and stops everyone if a worker failed.

Ctrl-C reaches every worker (from the terminal, or forwarded here): each marks its
running trial failed and its MLflow run killed, then exits; finished trials stay.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mlcycle.core.errors import ErrorCode, MlcycleError
from mlcycle.core.settings import Settings
from mlcycle.tasks import task_of
from mlcycle.train.pipeline import project_family
from mlcycle.train.tune.objective import Objective
from mlcycle.train.tune.runs import GATE, end_runs_killed
from mlcycle.train.tune.storage import reap_dead_local_trials
from mlcycle.train.tune.workers import (
    START_METHOD,
    Budget,
    WorkerSpec,
    process_context,
    run_trials,
)

POLL_S = 0.5
PRELOAD = ["mlcycle.train.tune.pool", "mlflow", "optuna"]


def warm_up(settings: Settings) -> None:
    """Start the fork server now; it imports the heavy modules in the background (ours,
    and the project's model family with what it names to preload)."""
    if START_METHOD != "forkserver":
        return
    from multiprocessing import forkserver

    family = project_family(settings, task_of(settings))
    forkserver.set_forkserver_preload([*PRELOAD, type(family).__module__, *family.preload])
    # Started with Ctrl-C ignored, the server hands that to the workers it forks: a
    # Ctrl-C cannot land while they set up (a stop then reaches them via the budget).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def run_parallel(
    specs: list[WorkerSpec],
    budget: Budget,
    local: Callable[[], None],
    poll: Callable[[], None],
    reap: Any = None,
) -> None:
    """Start a process per spec, run ``local`` (this process's trials), wait for theirs.

    Returns once every worker has finished its trials; a worker's own exit (its
    interpreter shutting down) is not waited for. ``reap`` is the study when it lives
    in a journal, whose dead workers' trials are failed and queued again.
    """
    warm_up(specs[0].context.settings)
    ctx = process_context()
    errors, finished = ctx.SimpleQueue(), ctx.Value("i", 0)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_ID"}
    procs = [
        ctx.Process(target=_worker_main, args=(replace(s, env=env), budget, errors, finished))
        for s in specs
    ]
    starter = _start(procs)
    done = threading.Event()
    watch = threading.Thread(
        target=_watch, args=(done, poll, reap, budget, errors), name="tune-watch", daemon=True
    )
    watch.start()
    try:
        local()
        starter.join()
        while finished.value < len(procs) and any(p.is_alive() for p in procs):
            next(p for p in procs if p.is_alive()).join(0.1)
            GATE.check()
    except KeyboardInterrupt:
        budget.stop()
        starter.join()
        _stop(procs)
        raise
    finally:
        done.set()
        watch.join()
    poll()
    _raise_first(errors, procs, [s.index for s in specs])


def _start(procs: list[Any]) -> threading.Thread:
    """Start the processes; with a fork server, from a thread, as its first fork waits
    for its imports, and this process runs trials meanwhile."""
    if START_METHOD == "forkserver":
        # Forked by the server, workers take its ignored Ctrl-C (see warm_up).
        starter = threading.Thread(target=lambda: [p.start() for p in procs], daemon=True)
        starter.start()
        return starter
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited through exec
    try:
        for proc in procs:
            proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    starter = threading.Thread(target=lambda: None)
    starter.start()
    return starter


def _watch(
    done: threading.Event, poll: Callable[[], None], reap: Any, budget: Budget, errors: Any
) -> None:
    """The progress thread; reading the study must never break the search itself."""
    while not done.wait(POLL_S):
        try:
            if not errors.empty():
                budget.stop()  # a worker failed: the others stop after their trial
            if reap is not None:
                budget.give_back(len(reap_dead_local_trials(reap)))
            poll()
        except Exception:
            continue


def _stop(procs: list[Any]) -> None:
    """Forward Ctrl-C (a signal sent to the parent alone), then wait for a clean exit."""
    for proc in procs:
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + 60
    for proc in procs:
        proc.join(max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def _raise_first(errors: Any, procs: list[Any], indexes: list[int]) -> None:
    if not errors.empty():
        code, message = errors.get()
        raise MlcycleError(message, code=ErrorCode(code))
    for index, proc in zip(indexes, procs, strict=True):
        if proc.exitcode not in (0, None):
            raise MlcycleError(
                f"Tuning worker {index} stopped with exit code {proc.exitcode}; its running "
                "trial was marked failed. Run the same command again to continue the study.",
                code=ErrorCode.UNAVAILABLE,
            )


def _worker_main(spec: WorkerSpec, budget: Budget, errors: Any, finished: Any) -> None:
    """Entry point of a worker process."""
    from mlcycle.core.tracking import use_tracking

    # A fork server keeps the environment it started with; take the parent's as now.
    os.environ.clear()
    os.environ.update(spec.env)
    try:
        use_tracking(spec.context.settings)
        objective, storage = Objective(spec.context), spec.storage.open()
        with GATE:
            run_trials(spec, budget, objective=objective, storage=storage)
    except KeyboardInterrupt:
        end_runs_killed()
        sys.exit(130)
    except MlcycleError as exc:
        errors.put((exc.code.value, exc.message))
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("MLCYCLE_DEBUG"):
            raise
        errors.put(
            (
                ErrorCode.MODEL.value,
                f"Tuning worker {spec.index} failed unexpectedly ({type(exc).__name__}: {exc}); "
                "rerun with MLCYCLE_DEBUG=1 for the traceback and report it.",
            )
        )
        sys.exit(1)
    with finished.get_lock():
        finished.value += 1
