"""``mlcycle retrain``: close the loop from monitoring back to a promoted model.

1. Decide (``--if-needed``): a breached monitoring rule or a newer dataset version
   (``mlcycle.monitor.policy``); without the flag, always.
2. Data: the latest dataset version plus the production inputs (texts, or tabular
   records) labelled through feedback, stored as the next dataset version (so the new
   model has lineage and a reference profile like any other;
   :mod:`mlcycle.loop.training_set`).
3. Train a challenger with the usual pipeline (the frozen holdout stays out); a model
   trained by the user's own code (family ``pyfunc``) is retrained by running their
   MLproject instead, and what it logs is imported (:mod:`mlcycle.loop.mlproject`).
4. Promote it through the environments, each behind its gates against the current
   holder on the same holdout, up to ``monitor.retrain.stop_at`` (the environment
   before production when a human approves production). A server following the alias
   swaps to it by itself. ``stop_at: challenger`` promotes nowhere: the new version
   holds ``challenger`` (recorded in the audit trail), a server in shadow or canary
   mode picks it up, and the ``live`` gate decides its promotion on live feedback.

The training run is the retrain's one MLflow run: tagged with the trigger, the data
and the outcome, with the whole decision as ``retrain/retrain.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.settings.monitor import duration_seconds
from mlcycle.loop.mlproject import retrain_project
from mlcycle.loop.training_set import build_training_set
from mlcycle.monitor.policy import RetrainDecision, retrain_decision
from mlcycle.train.pipeline import Reporter, TrainResult, train_model

IMPORTED_FAMILY = "pyfunc"  # models trained by the user's own code (models import)
NOT_NEEDED, PROMOTED, STAGED, REFUSED = "not-needed", "promoted", "staged", "refused"
CHALLENGER = "challenger"  # stop_at challenger: the live gate decides later


@dataclass
class RetrainResult:
    """What a retrain decided and did."""

    outcome: str
    trigger: str
    decision: RetrainDecision
    dataset: str | None = None
    feedback_rows: int = 0
    run_id: str | None = None
    version: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    promotions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "decision": self.decision.to_dict()}


def retrain(
    settings: Settings | None = None,
    if_needed: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
    reporter: Reporter | None = None,
) -> RetrainResult:
    """Retrain on the latest data plus feedback and promote if the gates agree.

    The rules are judged over [start, end): by default the last ``monitor.window``.
    """
    settings = settings or get_settings()
    reporter = reporter or Reporter()
    end = end or datetime.now(UTC)
    start = start or end - timedelta(seconds=duration_seconds(settings.monitor.window))
    reporter.step("Checking the monitoring rules and dataset versions")
    decision = retrain_decision(settings, start, end)
    trigger = _trigger(decision)
    if if_needed and not decision.needed:
        return RetrainResult(NOT_NEEDED, trigger, decision)
    reporter.step("Building the training set from the latest data and feedback")
    dataset, feedback_rows = build_training_set(settings, decision.latest_dataset, end)
    trained = train_challenger(settings, dataset, reporter)
    reporter.step(f"Promoting version {trained.version} through the gates")
    outcome, promotions = promote_through(settings, trained, trigger)
    result = RetrainResult(
        outcome, trigger, decision, dataset, feedback_rows, trained.run_id,
        trained.version, trained.metrics, promotions,
    )  # fmt: skip
    _record(result)
    return result


def train_challenger(settings: Settings, dataset: str, reporter: Reporter) -> TrainResult:
    """Train on ``dataset`` with the project's family, or run the user's MLproject."""
    if settings.model.family == IMPORTED_FAMILY:
        return retrain_project(settings, dataset, reporter)
    return train_model(dataset, settings=settings, reporter=reporter)


def _trigger(decision: RetrainDecision) -> str:
    if decision.breached:
        return "rules"
    return "dataset" if decision.needed else "manual"


def promote_through(
    settings: Settings, trained: TrainResult, trigger: str
) -> tuple[str, list[dict[str, Any]]]:
    """Promote environment by environment up to ``stop_at``; stop at the first refusal."""
    from mlcycle.registry.environments import environment_names
    from mlcycle.registry.promotion import promote

    names = environment_names(settings.registry)
    stop_at = settings.monitor.retrain.stop_at or names[-1]
    if stop_at == CHALLENGER:
        return CHALLENGER, [_name_challenger(settings, trained, trigger)]
    if stop_at not in names:
        raise InvalidInput(
            f"monitor.retrain.stop_at is {stop_at!r}, not a configured environment "
            f"({', '.join(names)}) nor {CHALLENGER!r}; fix it in the project file."
        )
    targets = names[: names.index(stop_at) + 1]
    promotions = []
    for alias in targets:
        moved = promote(
            trained.name, str(trained.version), alias, reason=f"retrain ({trigger})",
            settings=settings,
        )  # fmt: skip
        promotions.append(moved.to_dict())
        if not moved.moved and moved.action != "none":
            return REFUSED, promotions
    return (PROMOTED if stop_at == names[-1] else STAGED), promotions


def _name_challenger(settings: Settings, trained: TrainResult, trigger: str) -> dict[str, Any]:
    """Hold ``challenger`` with the new version, recorded; the live gate judges later."""
    from mlcycle.registry.challenger import name_challenger

    reason = f"retrain ({trigger}): challenger until the live gate decides"
    moved = name_challenger(trained.name, str(trained.version), reason, settings)
    return moved.to_dict()


def _record(result: RetrainResult) -> None:
    """Tag the training run with the trigger, the data and the outcome."""
    import mlflow

    with mlflow.start_run(run_id=result.run_id):
        mlflow.set_tags(
            {
                "mlcycle.retrain": "true",
                "mlcycle.retrain.trigger": result.trigger,
                "mlcycle.retrain.outcome": result.outcome,
                "mlcycle.retrain.breached": ",".join(result.decision.breached) or "none",
                "mlcycle.retrain.dataset": result.dataset or "",
                "mlcycle.retrain.feedback_rows": str(result.feedback_rows),
                "mlcycle.retrain.trained_on_before": result.decision.trained_on or "",
            }
        )
        mlflow.log_dict(result.to_dict(), "retrain/retrain.json")
