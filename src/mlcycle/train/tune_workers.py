"""Workers: one loop of trials in this process, or W spawned processes on one study.

The workers of one command share a trial budget (a counter in shared memory), so the
command runs exactly the trials asked for whichever worker is faster. Each worker
opens the storage itself; the storage, not the parent, keeps them from running a trial
twice. Ctrl-C reaches every worker: each marks its running trial failed and its MLflow
run killed, then exits; finished trials stay in the study.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlcycle.core.errors import ErrorCode, MlcycleError
from mlcycle.train.tune_objective import Objective, TrialContext
from mlcycle.train.tune_runs import GATE, end_runs_killed
from mlcycle.train.tune_storage import StorageSpec, reap_dead_local_trials
from mlcycle.train.tune_study import StudyPlan, load_existing

UNLIMITED = -1
POLL_S = 0.5


class Budget:
    """Trials left for this command's workers; ``None`` means until the deadline."""

    def __init__(self, trials: int | None, deadline: float | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._left = ctx.Value("i", UNLIMITED if trials is None else trials)
        self.deadline = deadline  # time.time() after which no trial starts

    def take(self) -> bool:
        if self.deadline is not None and time.time() >= self.deadline:
            return False
        with self._left.get_lock():
            if self._left.value == UNLIMITED:
                return True
            if self._left.value <= 0:
                return False
            self._left.value -= 1
            return True

    def stop(self) -> None:
        """No more trials for anyone (Ctrl-C); a worker still starting up sees this."""
        with self._left.get_lock():
            self._left.value = 0

    def give_back(self, count: int = 1) -> None:
        with self._left.get_lock():
            if self._left.value != UNLIMITED:
                self._left.value += count


@dataclass(frozen=True)
class WorkerSpec:
    storage: StorageSpec
    plan: StudyPlan
    context: TrialContext
    index: int


def quiet_optuna() -> None:
    """Optuna logs every trial, and failed ones with a traceback; we report them ourselves."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.logging.disable_propagation()


def run_trials(
    spec: WorkerSpec,
    budget: Budget,
    after_trial: Callable[[Any], None] | None = None,
    objective: Objective | None = None,
    storage: Any = None,
) -> None:
    """Run trials until the budget, the deadline or (for a grid) the queue runs out."""
    from optuna.trial import TrialState

    quiet_optuna()
    study = load_existing(storage or spec.storage.open(), spec.plan, spec.index)
    objective = objective or Objective(spec.context)
    while True:
        GATE.check()  # a Ctrl-C noted during the last trial's bookkeeping stops here
        if not budget.take():
            break
        if spec.plan.grid and not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            budget.give_back()
            break
        # One trial per call, so the shared budget is checked before each one; a trial
        # whose configuration fastText refuses fails alone and the search goes on.
        study.optimize(objective, n_trials=1, catch=(MlcycleError,), gc_after_trial=False)
        if after_trial is not None:
            after_trial(study)


def run_parallel(
    specs: list[WorkerSpec],
    budget: Budget,
    local: Callable[[], None],
    poll: Callable[[], None],
    reap: Any = None,
) -> None:
    """Spawn one process per spec, run ``local`` (this process's own trials), then wait.

    This process is a worker too, so it starts trials while the spawned ones import;
    a thread meanwhile refreshes the progress (``poll``), reaps the trials of dead
    workers (``reap``: the study, for a journal) and stops everyone if a worker failed.
    """
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.SimpleQueue()
    procs = [ctx.Process(target=_worker_main, args=(s, budget, errors)) for s in specs]
    # Workers start with Ctrl-C ignored (Python keeps an inherited SIG_IGN), so one
    # landing while they import cannot leave a traceback; their gate takes it later.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for proc in procs:
            proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(done, poll, reap, budget, errors), name="tune-watch", daemon=True
    )
    watcher.start()
    try:
        local()
        while any(p.is_alive() for p in procs):
            next(p for p in procs if p.is_alive()).join(POLL_S)
            GATE.check()
    except KeyboardInterrupt:
        budget.stop()
        _stop(procs)
        raise
    finally:
        done.set()
        watcher.join()
    poll()
    _raise_first(errors, procs, [s.index for s in specs])


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


def _worker_main(spec: WorkerSpec, budget: Budget, errors: Any) -> None:
    """Entry point of a spawned worker."""
    from mlcycle.core.tracking import use_tracking

    os.environ.pop("MLFLOW_RUN_ID", None)  # the parent's run, never a trial's
    try:
        # Still deaf to Ctrl-C while importing and loading (see run_processes); a stop
        # meanwhile is seen through the budget.
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
