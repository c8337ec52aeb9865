"""One trial: suggest parameters, fit, score on validation rows, log a nested MLflow run.

Trials never see the evaluation rows of the training split: they fit on part of the
training rows and are scored on the rest (``tune.validation_size``), so the best
configuration can later be trained on the full training split and evaluated honestly.

Pruning. A family fits in one call (fastText's learning rate decays over all epochs, a
scikit-learn estimator has no steps to report), so there is no faithful intermediate
score. A trial that may be pruned first fits the same configuration on a fixed share of
its training rows (``tune.proxy_fraction``, drawn as the task splits: by class for
classification), reports that validation score at step 0, and ``MedianPruner`` stops it
if the score is worse than the median of earlier trials at that step. The value a trial
returns always comes from a full fit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings
from mlcycle.tasks import Task, task_of
from mlcycle.train.pipeline import (
    Split,
    TrainingData,
    fit_and_evaluate,
    load_training_data,
    project_family,
    split_data,
)
from mlcycle.train.tune.runs import GATE, TrialRun
from mlcycle.train.tune.space import SearchSpace
from mlcycle.train.tune.storage import WORKER_ATTR, worker_id
from mlcycle.train.tune.study import QUEUED_ATTR, point_of

SESSION_ATTR = "mlcycle.session"  # which `mlcycle tune` command ran the trial
SKIPPED_ATTR = "mlcycle.skipped"  # a grid trial that found its point taken
PARAMS_ATTR = "mlcycle.params"  # the full parameter set the trial trained with
METRICS_ATTR = "mlcycle.metrics"
RUN_ATTR = "mlcycle.run_id"
DURATION_ATTR = "mlcycle.duration_s"


@dataclass(frozen=True)
class TrialContext:
    """Everything a worker process needs to run trials (picklable)."""

    settings: Settings
    data: str  # the data file (the synthetic set's path when synthetic)
    space: SearchSpace
    metric: str
    grid: bool
    prune: bool
    proxy_fraction: float
    parent_run_id: str
    session: str


def validation_split(dataset: TrainingData, settings: Settings, task: Task) -> Split:
    """The training rows of the usual split, split again into fit and validation rows
    (both splits the task's own: stratified by class for classification)."""
    outer = split_data(dataset, settings, task)
    frame = dataset.frame.iloc[outer.train].reset_index(drop=True)
    inner = settings.model_copy(
        update={
            "train": settings.train.model_copy(update={"test_size": settings.tune.validation_size})
        }
    )
    rows = dataclasses.replace(dataset, frame=frame)
    return split_data(rows, inner, task)


def proxy_split(split: Split, task: Task, fraction: float, seed: int) -> Split:
    """The same validation rows, and a fixed seeded share of the fit rows, drawn as the
    task splits (so a classifier's proxy fit sees every class in its share)."""
    rows = split.frame.iloc[split.train]
    keep, _ = task.split(rows, 1.0 - fraction, seed)
    if len(keep) < 2:
        keep = np.arange(min(2, len(split.train)))
    return Split(split.frame, np.sort(split.train[keep]), split.test)


class Objective:
    """Callable for ``study.optimize``; builds the data splits once per worker."""

    def __init__(self, context: TrialContext, dataset: TrainingData | None = None) -> None:
        self.context = context
        self.task = task_of(context.settings)
        self.family = project_family(context.settings, self.task)
        dataset = dataset or load_training_data(context.data, context.settings)
        self.types = dataset.types
        self.split = validation_split(dataset, context.settings, self.task)
        seed = context.settings.tune.seed
        self.proxy = proxy_split(self.split, self.task, context.proxy_fraction, seed)

    def __call__(self, trial: Any) -> float:
        import optuna

        trial.set_user_attr(WORKER_ATTR, worker_id())
        trial.set_user_attr(SESSION_ATTR, self.context.session)
        if self.context.grid and not self._claim(trial):
            trial.set_user_attr(SKIPPED_ATTR, True)
            raise optuna.TrialPruned("its grid point was taken by another worker")
        params = self.family.reconcile(self.context.space.suggest(trial))
        trial.set_user_attr(PARAMS_ATTR, params)
        return self._run(trial, params)

    def _run(self, trial: Any, params: dict[str, Any]) -> float:
        import mlflow

        ctx = self.context
        run = TrialRun(ctx.settings, ctx.parent_run_id, trial.study.study_name, trial.number)
        try:
            with run, _threads(ctx.settings.tune.thread):
                trial.set_user_attr(RUN_ATTR, run.run_id)
                mlflow.log_params(params)
                return self._fit(trial, params)
        finally:
            if run.started:
                trial.set_user_attr(DURATION_ATTR, round(run.duration, 3))

    def _fit(self, trial: Any, params: dict[str, Any]) -> float:
        import mlflow
        import optuna

        metric = self.context.metric
        if self.context.prune:
            with GATE.fit():
                fitted = fit_and_evaluate(self._model(params), self.task, self.proxy)
                proxy = self._score(fitted.evaluation.metrics)
            mlflow.log_metric(f"proxy_{metric}", proxy)
            trial.report(proxy, step=0)
            if trial.should_prune():
                raise optuna.TrialPruned(f"proxy {metric} {proxy:.4f} is below the median")
        with GATE.fit():
            fitted = fit_and_evaluate(self._model(params), self.task, self.split)
            metrics = fitted.evaluation.metrics
        mlflow.log_metrics(metrics)
        trial.set_user_attr(METRICS_ATTR, metrics)
        return self._score(metrics)

    def _model(self, params: dict[str, Any]) -> Any:
        return self.family.build(params, self.task.name, self.types)

    def _score(self, metrics: dict[str, float]) -> float:
        if self.context.metric not in metrics:
            raise InvalidInput(
                f"Metric {self.context.metric!r} is not computed for this data; choose one of "
                f"{', '.join(sorted(metrics))} (tune.metric)."
            )
        return float(metrics[self.context.metric])

    def _claim(self, trial: Any) -> bool:
        """Whether this grid trial should run its point (exactly one trial per point).

        A trial the sampler created because the queue emptied meanwhile has no point.
        Two queued trials with one point (a resumed grid queued twice) both see each
        other running; the one that started later gives way.
        """
        from optuna.trial import TrialState

        if not trial.user_attrs.get(QUEUED_ATTR):
            return False
        trials = trial.study.get_trials(deepcopy=False)
        me = next(t for t in trials if t.number == trial.number)
        names = self.context.space.names
        mine, order = point_of(me, names), (me.datetime_start, me.number)
        for other in trials:
            if other.number == me.number or other.user_attrs.get(SKIPPED_ATTR):
                continue
            if point_of(other, names) != mine:
                continue
            if other.state in (TrialState.COMPLETE, TrialState.PRUNED):
                return False
            if other.state == TrialState.RUNNING and (other.datetime_start, other.number) < order:
                return False
        return True


def _threads(count: int) -> Any:
    """At most ``count`` threads for the native pools a fit uses (OpenMP, BLAS), as trials
    run side by side in processes; ``0`` leaves them at one per core."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(count) if count > 0 else nullcontext()


def trial_summary(trial: Any) -> dict[str, Any]:
    """One finished trial as plain data (for tables, JSON and the trials artifact)."""
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "params": trial.user_attrs.get(PARAMS_ATTR, trial.params),
        "metrics": trial.user_attrs.get(METRICS_ATTR, {}),
        "duration_s": trial.user_attrs.get(DURATION_ATTR),
        "run_id": trial.user_attrs.get(RUN_ATTR),
    }
