"""Everything a search needs, read and checked before the first trial.

Options override the project's ``tune`` settings; the space, grid, metric, storage and
data are each checked here, so a mistake costs no trial and leaves no run behind.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlcycle
from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings
from mlcycle.core.settings.tune import Direction
from mlcycle.models.families import ModelFamily
from mlcycle.tasks import Task, task_of
from mlcycle.train.pipeline import TrainingData, load_training_data, project_family
from mlcycle.train.tune.objective import TrialContext
from mlcycle.train.tune.space import (
    Grid,
    PointCheck,
    SearchSpace,
    load_grid_file,
    load_space_file,
    parse_space,
)
from mlcycle.train.tune.storage import StorageSpec, storage_spec
from mlcycle.train.tune.study import StudyPlan


@dataclass(frozen=True)
class Setup:
    plan: StudyPlan
    storage: StorageSpec
    context: TrialContext  # parent_run_id is filled once the parent run exists
    dataset: TrainingData
    workers: int
    grid: Grid | None
    timeout: float | None
    family: ModelFamily

    @property
    def tags(self) -> dict[str, str]:
        return {
            "mlcycle.study": self.plan.name,
            "mlcycle.session": self.context.session,
            "mlcycle.version": mlcycle.__version__,
            "mlcycle.dataset_name": self.dataset.name,
            "mlcycle.dataset_digest": self.dataset.digest,
            "mlcycle.dataset_source": self.dataset.source,
            "mlcycle.dataset_ref": self.context.data,
        }

    def trial_count(self, study: Any, asked: int | None) -> int | None:
        """Trials this command runs: a grid's queued points, else ``--trials`` or settings.

        ``None`` means until the timeout.
        """
        settings = self.context.settings
        if self.grid is not None:
            from optuna.trial import TrialState

            waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
            return waiting if asked is None else min(asked, waiting)
        if asked is not None:
            return asked
        return None if self.timeout else settings.tune.trials

    def log_space(self) -> None:
        """The searched space, the fixed parameters and the grid, as ``tune/space.json``."""
        import mlflow

        space = {
            "search": self.context.space.describe(),
            "fixed": self.context.space.fixed,
            "grid": list(self.grid.points) if self.grid else None,
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "space.json"
            path.write_text(json.dumps(space, indent=2))
            mlflow.log_artifact(str(path), artifact_path="tune")


def setup_params(setup: Setup, trials: int | None, timeout: float | None) -> dict[str, Any]:
    """The parent run's parameters: how this search was run."""
    plan = setup.plan
    return {
        "study": plan.name,
        "storage": setup.storage.shown,
        "sampler": "grid (trial queue)" if plan.grid else "TPESampler",
        "pruner": "MedianPruner (proxy fit)" if plan.prune else "none",
        "workers": setup.workers,
        "trials": "until timeout" if trials is None else trials,
        "timeout_s": timeout or "none",
        "metric": setup.context.metric,
        "direction": plan.direction,
        "seed": plan.seed,
        "validation_size": setup.context.settings.tune.validation_size,
    }


def prepare(options: Any, settings: Settings) -> Setup:
    """Check the options against the settings and build the plan every worker follows."""
    tune = settings.tune
    workers = tune.workers if options.workers is None else options.workers
    _check_options(options, workers)
    task = task_of(settings)
    metric, direction = _metric(task, tune.metric, tune.direction)
    family = project_family(settings, task)
    storage = storage_spec(options.storage, workers, settings)
    dataset = load_training_data(options.data, settings)
    check = PointCheck(family, task.name, dataset.types)
    base = trial_base(settings, family)
    check(base, reconcile=False)  # model.params, refused as `mlcycle train` would
    grid, space = _space(options, settings, base, check)
    prune = options.prune if options.prune is not None else tune.prune
    prune = (grid is None) if prune is None else prune
    fingerprint = {
        "metric": metric,
        "mode": "grid" if grid else "tpe",
        "space": space.describe(),
        "fixed": {k: v for k, v in space.fixed.items() if k != family.thread_param},
        "data": {
            "digest": dataset.digest,
            "test_size": settings.train.test_size,
            "validation_size": tune.validation_size,
            "split_seed": settings.train.seed,
        },
    }
    plan = StudyPlan(
        name=options.study or tune.study or f"{settings.experiment_name}-tune",
        direction=direction,
        fingerprint=fingerprint,
        grid=grid.points if grid else (),
        seed=tune.seed if options.seed is None else options.seed,
        prune=prune,
        pruner_startup_trials=tune.pruner_startup_trials,
    )
    # Workers and --register reload exactly this data: the version, or the file.
    data_ref = dataset.ref if dataset.version is not None else dataset.source
    context = TrialContext(
        settings,
        data_ref,
        space,
        metric,
        grid is not None,
        prune,
        tune.proxy_fraction,
        parent_run_id="",
        session=uuid.uuid4().hex[:12],
    )
    return Setup(plan, storage, context, dataset, workers, grid, options.timeout, family)


def trial_base(settings: Settings, family: ModelFamily) -> dict[str, Any]:
    """What every trial starts from: ``model.params``, and one fit's thread count where the
    family has one (trials run side by side in processes, not threads inside a fit)."""
    base = dict(settings.model.params)
    if family.thread_param is not None:
        base[family.thread_param] = settings.tune.thread
    return base


def _metric(task: Task, metric: str | None, direction: Direction | None) -> tuple[str, Direction]:
    """The metric a search optimises (the task's headline by default) and its direction."""
    metric = metric or task.headline[0]
    known = task.metric_names()
    if metric not in known:
        raise InvalidInput(
            f"Unknown tuning metric {metric!r} (tune.metric); use one of {', '.join(known)}."
        )
    return metric, direction or ("maximize" if task.higher_is_better(metric) else "minimize")


def _check_options(options: Any, workers: int) -> None:
    if options.grid is not None and options.space is not None:
        raise InvalidInput("Give either --grid (fixed points) or --space (a search), not both.")
    if options.trials is not None and options.trials < 0:
        raise InvalidInput("--trials must be 0 (summarise only) or more.")
    if options.timeout is not None and options.timeout <= 0:
        raise InvalidInput("--timeout must be a positive number of seconds.")
    if workers < 1:
        raise InvalidInput("--workers must be at least 1.")


def _space(
    options: Any, settings: Settings, base: dict[str, Any], check: PointCheck
) -> tuple[Grid | None, SearchSpace]:
    """The grid or the space: ``--grid``, ``--space``, ``tune.space``, the family's default."""
    if options.grid is not None:
        grid = load_grid_file(Path(options.grid), base, check)
        return grid, grid.space
    if options.space is not None:
        return None, load_space_file(Path(options.space), base, check)
    if settings.tune.space is not None:
        return None, parse_space(settings.tune.space, base, "project file's tune.space", check)
    default = check.family.default_space(settings.model.params, check.task)
    if not default:
        raise InvalidInput(
            f"The {check.family.name} family has no default search space; give one as "
            "tune.space in the project file (each parameter a {low, high} range or a list "
            "of choices)."
        )
    return None, parse_space(default, base, f"{check.family.name} family's default space", check)
