"""``tune``: search fastText's hyperparameters with Optuna, every trial tracked in MLflow.

One command = one MLflow parent run; each trial is a nested child run. The study lives
in an Optuna storage (a journal file under the project home by default, or a shared
PostgreSQL database) so a later command, another worker process or another machine
continues it. ``mlcycle tune`` is a thin wrapper over :func:`tune`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.train.pipeline import start_run
from mlcycle.train.tune_objective import Objective, TrialContext, end_runs_killed
from mlcycle.train.tune_report import log_report, study_report
from mlcycle.train.tune_setup import Setup, prepare, setup_params
from mlcycle.train.tune_storage import reap_dead_local_trials
from mlcycle.train.tune_study import open_study
from mlcycle.train.tune_watch import TuneStatus, Watcher
from mlcycle.train.tune_workers import Budget, WorkerSpec, quiet_optuna, run_processes, run_trials

__all__ = ["TuneInterrupted", "TuneOptions", "TuneResult", "TuneStatus", "tune"]


@dataclass(frozen=True)
class TuneOptions:
    """The command-line choices; ``None`` takes the project's ``tune`` settings."""

    trials: int | None = None
    timeout: float | None = None
    workers: int | None = None
    space: Path | None = None
    storage: str | None = None
    study: str | None = None
    grid: Path | None = None
    register: bool = False
    seed: int | None = None
    data: str | None = None
    prune: bool | None = None


@dataclass(frozen=True)
class TuneResult:
    study: str
    storage: str
    run_id: str
    metric: str
    direction: str
    ran: int  # trials this command finished
    counts: dict[str, int]  # over the whole study, by state
    best: dict[str, Any] | None
    importance: dict[str, float] = field(default_factory=dict)
    registered: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class TuneInterrupted(KeyboardInterrupt):
    """Ctrl-C: finished trials are kept and the parent run is marked killed."""

    def __init__(self, study: str, run_id: str, complete: int) -> None:
        super().__init__(study)
        self.study, self.run_id, self.complete = study, run_id, complete


def tune(
    options: TuneOptions | None = None,
    settings: Settings | None = None,
    progress: Callable[[TuneStatus], None] | None = None,
) -> TuneResult:
    """Run a search (or, with ``trials=0``, only summarise a study) and report it."""
    import mlflow

    settings = settings or get_settings()
    options = options or TuneOptions()
    quiet_optuna()
    setup = prepare(options, settings)
    storage = setup.storage.open()
    study = open_study(storage, setup.plan)
    if setup.storage.is_journal:
        reap_dead_local_trials(study, settings.tune.max_retry)
    trials = setup.trial_count(study, options.trials)
    if options.register and trials == 0 and not _has_complete(study):
        raise InvalidInput("The study has no complete trial to register; run more trials first.")
    use_tracking(settings)
    run = start_run(settings, run_name=f"tune {setup.plan.name}", tags=setup.tags)
    context = dataclasses.replace(setup.context, parent_run_id=run.info.run_id)
    watcher = Watcher(
        study, context.session, trials, progress, setup.plan.direction, context.space.names
    )
    try:
        mlflow.log_params(setup_params(setup, trials, options.timeout))
        setup.log_space()
        if trials != 0:
            _search(setup, context, storage, trials, options.timeout, watcher)
        report = study_report(study, context.space.names, setup.plan.seed)
        log_report(report, context.metric, context.space.names, setup.plan.direction)
    except KeyboardInterrupt:
        end_runs_killed()  # a trial's run may still be open above the parent
        raise TuneInterrupted(setup.plan.name, run.info.run_id, watcher.complete()) from None
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")
    registered = (
        _register(report.best, options, settings, run.info.run_id) if options.register else None
    )
    return TuneResult(
        setup.plan.name,
        setup.storage.shown,
        run.info.run_id,
        context.metric,
        setup.plan.direction,
        watcher.done(),
        report.counts,
        report.best,
        report.importance,
        registered,
    )


def _search(
    setup: Setup,
    context: TrialContext,
    storage: Any,
    trials: int | None,
    timeout: float | None,
    watcher: Watcher,
) -> None:
    budget = Budget(trials, time.time() + timeout if timeout else None)
    specs = [
        WorkerSpec(setup.storage, setup.plan, context, index) for index in range(setup.workers)
    ]
    watcher.update()
    if setup.workers == 1:
        objective = Objective(context, setup.dataset)
        run_trials(specs[0], budget, lambda _: watcher.update(), objective, storage)
        return
    reap = watcher.study if setup.storage.is_journal else None
    run_processes(specs, budget, watcher.update, reap)


def _has_complete(study: Any) -> bool:
    from optuna.trial import TrialState

    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _register(
    best: dict[str, Any] | None, options: TuneOptions, settings: Settings, parent_run_id: str
) -> dict[str, Any]:
    """Train the best configuration on the full training split; register a challenger."""
    from mlflow import MlflowClient

    from mlcycle.train.pipeline import train_model

    if best is None:
        raise InvalidInput("The study has no complete trial to register; run more trials first.")
    # Trials ran single-threaded side by side; the final fit uses the training thread count.
    overrides = {k: v for k, v in best["params"].items() if k != "thread"}
    result = train_model(options.data, overrides, register=True, settings=settings)
    client = MlflowClient()
    client.set_tag(result.run_id, "mlcycle.tune_run", parent_run_id)
    client.set_tag(result.run_id, "mlcycle.tune_trial", str(best["number"]))
    client.set_tag(parent_run_id, "mlcycle.registered_version", str(result.version))
    return {
        "name": result.name,
        "version": result.version,
        "run_id": result.run_id,
        "model_uri": result.model_uri,
        "metrics": result.metrics,
    }
