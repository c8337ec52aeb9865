"""Create or join a study, refusing one that was started for a different search.

The process that creates a study records what it searches (metric, space, fixed
parameters, data) as a study attribute, queues the grid points if any, and only then
marks the study ready; a process joining it waits for that mark, then compares. A
resumed grid queues again the points that never finished (an interrupted one).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mlcycle.core.errors import Conflict, NotFound
from mlcycle.core.settings.tune import Direction

FINGERPRINT_ATTR = "mlcycle.fingerprint"  # written last: the study is ready
QUEUED_ATTR = "mlcycle.queued"  # a grid point put in Optuna's trial queue
POINT_ATTR = "mlcycle.point"  # that point, readable before the trial suggests it
READY_WAIT_S = 5.0  # the creator writes the mark milliseconds after creating
# What a joining process compares, in the order its message names the first difference.
SECTIONS = ("metric", "mode", "space", "fixed", "data")


@dataclass(frozen=True)
class StudyPlan:
    """What a study searches and how, as every worker needs it."""

    name: str
    direction: Direction
    fingerprint: dict[str, Any]
    grid: tuple[dict[str, Any], ...] = ()
    seed: int = 42
    prune: bool = True
    pruner_startup_trials: int = 5


def sampler_for(plan: StudyPlan, worker_index: int = 0) -> Any:
    """TPE, seeded per worker so that parallel workers do not start on the same points.

    A grid runs from the trial queue; the sampler is never asked for its points.
    """
    import optuna

    return optuna.samplers.TPESampler(seed=plan.seed + worker_index)


def pruner_for(plan: StudyPlan) -> Any:
    import optuna

    if not plan.prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=plan.pruner_startup_trials)


def open_study(storage: Any, plan: StudyPlan, worker_index: int = 0) -> Any:
    """Create the study, or join it after checking it searches the same thing."""
    import optuna

    try:
        study = optuna.create_study(
            storage=storage,
            study_name=plan.name,
            direction=plan.direction,
            sampler=sampler_for(plan, worker_index),
            pruner=pruner_for(plan),
        )
    except optuna.exceptions.DuplicatedStudyError:
        return join_study(storage, plan, worker_index)
    _initialise(study, plan)
    return study


def join_study(storage: Any, plan: StudyPlan, worker_index: int = 0) -> Any:
    """Load an existing study, check it, and queue any grid point left unfinished."""
    study = load_existing(storage, plan, worker_index)
    recorded = _wait_ready(study)
    if recorded is None:
        # Created by other means (e.g. ``optuna create-study``) and still empty: adopt it.
        _check_direction(study, plan)
        _initialise(study, plan)
        return study
    _check_direction(study, plan)
    _check_fingerprint(plan, recorded)
    if plan.grid:
        requeue_unfinished(study, plan)
    return study


def load_existing(storage: Any, plan: StudyPlan, worker_index: int = 0) -> Any:
    import optuna

    try:
        return optuna.load_study(
            study_name=plan.name,
            storage=storage,
            sampler=sampler_for(plan, worker_index),
            pruner=pruner_for(plan),
        )
    except KeyError:
        raise NotFound(
            f"No study named {plan.name!r} in the tuning storage; run trials first "
            "(mlcycle tune --trials N)."
        ) from None


def _initialise(study: Any, plan: StudyPlan) -> None:
    for point in plan.grid:
        enqueue(study, point)
    study.set_user_attr(FINGERPRINT_ATTR, json.dumps(plan.fingerprint, sort_keys=True))


def _wait_ready(study: Any) -> dict[str, Any] | None:
    deadline = time.monotonic() + READY_WAIT_S
    while True:
        raw = study.user_attrs.get(FINGERPRINT_ATTR)
        if raw is not None:
            return json.loads(raw)
        if study.get_trials(deepcopy=False):
            raise Conflict(
                f"Study {study.study_name!r} was not created by mlcycle tune and already has "
                "trials; use another --study name."
            )
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)


def _check_direction(study: Any, plan: StudyPlan) -> None:
    current = study.direction.name.lower()
    if current != plan.direction:
        raise Conflict(
            f"Study {plan.name!r} exists and is set to {current} its objective, but this "
            f"search would {plan.direction} it; use another --study name or the same "
            "direction (tune.direction)."
        )


def _check_fingerprint(plan: StudyPlan, recorded: dict[str, Any]) -> None:
    for section in SECTIONS:
        old, new = recorded.get(section), plan.fingerprint.get(section)
        if old == new:
            continue
        detail = _difference(old, new)
        raise Conflict(
            f"Study {plan.name!r} exists with a different {section} ({detail}); use a new "
            "--study name, or the original settings to continue it."
        )


def _difference(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return f"{key}: was {_short(old.get(key))}, now {_short(new.get(key))}"
    return f"was {_short(old)}, now {_short(new)}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if value is not None else "absent"
    return text if len(text) <= 80 else text[:77] + "..."


def point_of(trial: Any, names: list[str]) -> str:
    """A trial's values for ``names`` as a comparable key (queued or already suggested).

    A waiting trial has no ``params`` yet; the point it was queued with is kept in a user
    attribute of ours, as Optuna keeps its copy in an internal attribute.
    """
    params = trial.params or json.loads(trial.user_attrs.get(POINT_ATTR, "{}"))
    return json.dumps({n: params.get(n) for n in names}, sort_keys=True)


def enqueue(study: Any, point: dict[str, Any]) -> None:
    """Put a grid point in the study's trial queue, marked as ours."""
    attrs = {QUEUED_ATTR: True, POINT_ATTR: json.dumps(point, sort_keys=True)}
    study.enqueue_trial(point, user_attrs=attrs)


def requeue_unfinished(study: Any, plan: StudyPlan) -> int:
    """Queue again the grid points with no trial done, running or waiting; return how many."""
    from optuna.trial import TrialState

    names = sorted(plan.grid[0])
    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    covered = {
        point_of(t, names)
        for t in study.get_trials(deepcopy=False, states=live)
        if not t.user_attrs.get("mlcycle.skipped")
    }
    missing = [p for p in plan.grid if json.dumps(p, sort_keys=True) not in covered]
    for point in missing:
        enqueue(study, point)
    return len(missing)
