"""``tune``: search a model's hyperparameters with Optuna, every trial tracked in MLflow.

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
from mlcycle.train.pipeline import Reporter
from mlcycle.train.tune.objective import Objective, TrialContext
from mlcycle.train.tune.pool import run_parallel, warm_up
from mlcycle.train.tune.prepare import Setup, prepare, setup_params
from mlcycle.train.tune.report import log_report, study_report
from mlcycle.train.tune.runs import GATE, ParentRun
from mlcycle.train.tune.storage import reap_dead_local_trials
from mlcycle.train.tune.study import open_study
from mlcycle.train.tune.watch import TuneStatus, Watcher
from mlcycle.train.tune.workers import Budget, WorkerSpec, quiet_optuna, run_trials

__all__ = ["TuneInterrupted", "TuneOptions", "TuneResult", "tune"]


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
    reporter: Reporter | None = None,
) -> TuneResult:
    """Run a search (or, with ``trials=0``, only summarise a study) and report it.

    ``progress`` gets a status after every trial; ``reporter`` the steps of ``--register``.
    """
    import mlflow

    settings = settings or get_settings()
    options = options or TuneOptions()
    quiet_optuna()
    if (options.workers or settings.tune.workers) > 1:
        warm_up(settings)  # worker processes get ready while this one prepares the search
    setup = prepare(options, settings)
    storage = setup.storage.open()
    study = open_study(storage, setup.plan)
    if setup.storage.is_journal:
        reap_dead_local_trials(study, settings.tune.max_retry)
    trials = setup.trial_count(study, options.trials)
    if options.register and trials == 0 and not _complete(study):
        raise InvalidInput("The study has no complete trial to register; run more trials first.")
    use_tracking(settings)
    parent = ParentRun(settings, f"tune {setup.plan.name}", setup.tags)
    try:
        with parent, GATE:
            context = dataclasses.replace(setup.context, parent_run_id=parent.run_id)
            names = context.space.names
            watcher = Watcher(study, context.session, trials, progress, setup.plan.direction, names)
            mlflow.log_params(setup_params(setup, trials, options.timeout))
            setup.log_space()
            if trials != 0:
                _search(setup, context, storage, trials, options.timeout, watcher)
            report = study_report(study, names, setup.plan.seed)
            log_report(report, context.metric, names, setup.plan.direction)
    except KeyboardInterrupt:
        raise TuneInterrupted(setup.plan.name, parent.run_id, _complete(study)) from None
    registered = None
    if options.register:
        best = _without(report.best, setup.family.thread_param)
        registered = _register(best, context.data, settings, parent.run_id, reporter)
    return TuneResult(
        setup.plan.name,
        setup.storage.shown,
        parent.run_id,
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
    workers = setup.workers if trials is None else max(1, min(setup.workers, trials))
    specs = [WorkerSpec(setup.storage, setup.plan, context, index) for index in range(workers)]
    watcher.update()
    objective = Objective(context, setup.dataset)

    def here(after: Callable[[Any], None] | None = None) -> None:
        run_trials(specs[0], budget, after, objective, storage)

    if workers == 1:
        here(lambda _: watcher.update())
        return
    reap = watcher.study if setup.storage.is_journal else None
    run_parallel(specs[1:], budget, here, watcher.update, reap)


def _complete(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _without(best: dict[str, Any] | None, thread_param: str | None) -> dict[str, Any] | None:
    """The best trial without its thread count: trials ran single-threaded side by side,
    the final fit uses the project's own."""
    if best is None or thread_param is None:
        return best
    return {**best, "params": {k: v for k, v in best["params"].items() if k != thread_param}}


def _register(
    best: dict[str, Any] | None,
    data: str,
    settings: Settings,
    parent_run_id: str,
    reporter: Reporter | None,
) -> dict[str, Any]:
    """Train the best configuration on the full training split; register a challenger."""
    from mlflow import MlflowClient

    from mlcycle.train.pipeline import train_model

    if best is None:
        raise InvalidInput("The study has no complete trial to register; run more trials first.")
    reporter = reporter or Reporter()
    reporter.step(f"Training the best configuration (trial {best['number']}) on the full split")
    result = train_model(data, best["params"], True, settings, reporter)
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
