"""MLflow runs of a search, and where Ctrl-C may land so none is left half-written.

A Ctrl-C raised in the middle of a database write (MLflow's run table, Optuna's
storage) can leave a run marked running forever or a connection in a broken state.
While :data:`GATE` is entered, Ctrl-C is only noted; it is raised inside a fit (pure
computation, the long part of a trial) or at the next check between trials. Every run
opened is therefore ended, with the status the trial earned.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlcycle.core.settings import Settings
from mlcycle.train.pipeline import start_run


class InterruptGate:
    """Defers SIGINT in this process to the points where raising it is safe."""

    def __init__(self) -> None:
        self.pending = False
        self._in_fit = False
        self._previous: Any = None
        self._previous_hook: Any = None
        self._installed = False

    def __enter__(self) -> InterruptGate:
        if threading.current_thread() is threading.main_thread():
            self.pending, self._installed = False, True
            self._previous = signal.signal(signal.SIGINT, self._note)
            self._previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, kind: type[BaseException] | None, error: Any, tb: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._previous_hook
            self._installed = False
        if kind is None and self.pending:
            raise KeyboardInterrupt  # noted during the last steps: never swallowed

    def _note(self, signum: int, frame: Any) -> None:
        if self._in_fit and not self.pending:
            self.pending, self._in_fit = True, False
            raise KeyboardInterrupt
        self.pending = True

    def _unraisable(self, unraisable: Any) -> None:
        """A Ctrl-C raised while a finalizer ran (a garbage-collected SQLAlchemy object)
        cannot propagate; Python would print it as "Exception ignored" with a traceback.
        It is noted (``pending``), so the next check raises it: nothing to print."""
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and self.pending:
            return
        self._previous_hook(unraisable)

    def check(self) -> None:
        """Raise a noted Ctrl-C now (call between trials)."""
        if self.pending:
            raise KeyboardInterrupt

    @contextmanager
    def fit(self) -> Iterator[None]:
        """A window where Ctrl-C is raised at once: nothing is being written."""
        self.check()
        self._in_fit = True
        try:
            yield
        finally:
            self._in_fit = False


GATE = InterruptGate()  # signals are per process, and so is the gate


class TrialRun:
    """``with TrialRun(...) as run:`` — a child run of the parent, ended with the trial's state.

    The run ends FINISHED for a complete or pruned trial (its ``mlcycle.trial_state`` tag
    tells which), KILLED on Ctrl-C and FAILED on an error, with ``duration_s`` logged.
    """

    def __init__(self, settings: Settings, parent_run_id: str, study: str, number: int) -> None:
        self.settings, self.parent_run_id = settings, parent_run_id
        self.tags = {"mlcycle.study": study, "mlcycle.trial": str(number)}
        self.name = f"trial {number}"
        self.run_id = ""
        self.started = 0.0

    def __enter__(self) -> TrialRun:
        run = start_run(
            self.settings,
            run_name=self.name,
            nested=True,
            parent_run_id=self.parent_run_id,
            tags=self.tags,
        )
        self.run_id, self.started = run.info.run_id, time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: Any, tb: Any) -> None:
        import mlflow
        import optuna

        state, status = "FAIL", "FAILED"
        if kind is None:
            state, status = "COMPLETE", "FINISHED"
        elif issubclass(kind, optuna.TrialPruned):
            state, status = "PRUNED", "FINISHED"
        elif issubclass(kind, KeyboardInterrupt):
            status = "KILLED"
        try:
            mlflow.log_metric("duration_s", self.duration)
            mlflow.set_tag("mlcycle.trial_state", state)
        finally:
            mlflow.end_run(status)

    @property
    def duration(self) -> float:
        return time.perf_counter() - self.started


class ParentRun:
    """``with ParentRun(...):`` — the run of one tune command, ended by how the block ends.

    FINISHED normally, KILLED on Ctrl-C, FAILED on an error; any trial run still open
    above it is ended first.
    """

    def __init__(self, settings: Settings, name: str, tags: dict[str, str]) -> None:
        self.settings, self.name, self.tags = settings, name, tags
        self.run_id = ""

    def __enter__(self) -> ParentRun:
        run = start_run(self.settings, run_name=self.name, tags=self.tags)
        self.run_id = run.info.run_id
        return self

    def __exit__(self, kind: type[BaseException] | None, error: Any, tb: Any) -> None:
        import mlflow

        status = "FINISHED"
        if kind is not None:
            status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        end_runs_killed(keep=self.run_id)
        if mlflow.active_run() is not None:
            mlflow.end_run(status)


def end_runs_killed(keep: str | None = None) -> None:
    """End every active MLflow run above ``keep`` as KILLED (after an interruption)."""
    import mlflow

    while (active := mlflow.active_run()) is not None and active.info.run_id != keep:
        mlflow.end_run("KILLED")
