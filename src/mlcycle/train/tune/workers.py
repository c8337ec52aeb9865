"""A worker: the loop of trials one process runs, under a budget shared by all workers.

The workers of one command share a trial budget (a counter in shared memory), so the
command runs exactly the trials asked for whichever worker is faster. Each worker
opens the storage itself; the storage, not the parent, keeps them from running a trial
twice. The processes themselves are started by :mod:`mlcycle.train.tune.pool`.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import Any, Literal

from mlcycle.core.errors import MlcycleError
from mlcycle.train.tune.objective import Objective, TrialContext
from mlcycle.train.tune.runs import GATE
from mlcycle.train.tune.storage import StorageSpec
from mlcycle.train.tune.study import StudyPlan, load_existing

UNLIMITED = -1
# A fork server imports once, then forks ready workers; spawn where there is none.
START_METHOD: Literal["forkserver", "spawn"] = (
    "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
)


def process_context() -> ForkServerContext | SpawnContext:
    """The multiprocessing context trial workers start from (``START_METHOD``)."""
    if START_METHOD == "forkserver":
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


class Budget:
    """Trials left for this command's workers; ``None`` means until the deadline."""

    def __init__(self, trials: int | None, deadline: float | None) -> None:
        ctx = process_context()
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
    env: dict[str, str] = field(default_factory=dict)  # the parent's, for a worker process


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
        # whose configuration the model family refuses fails alone and the search goes on.
        study.optimize(objective, n_trials=1, catch=(MlcycleError,), gc_after_trial=False)
        if after_trial is not None:
            after_trial(study)
