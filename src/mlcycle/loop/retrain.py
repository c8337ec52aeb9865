"""``mlcycle retrain``: close the loop from monitoring back to a promoted model.

1. Decide (``--if-needed``): a breached monitoring rule or a newer dataset version
   (``mlcycle.monitor.policy``); without the flag, always.
2. Data: the latest dataset version plus the production texts labelled through
   feedback, stored as the next dataset version (so the new model has lineage and a
   reference profile like any other).
3. Train a challenger with the usual pipeline (the frozen holdout stays out).
4. Promote it through the environments, each behind its gates against the current
   holder on the same holdout, up to ``monitor.retrain.stop_at`` (the environment
   before production when a human approves production). A server following the alias
   swaps to it by itself.

The training run is the retrain's one MLflow run: tagged with the trigger, the data
and the outcome, with the whole decision as ``retrain/retrain.json``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.settings.monitor import duration_seconds
from mlcycle.monitor.logstore import LogStore
from mlcycle.monitor.policy import RetrainDecision, labelled_texts, retrain_decision
from mlcycle.tasks import task_of
from mlcycle.train.pipeline import Reporter, TrainResult, load_training_data, train_model

NOT_NEEDED, PROMOTED, STAGED, REFUSED = "not-needed", "promoted", "staged", "refused"


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
    dataset, feedback_rows = build_training_set(settings, decision, end)
    trained = train_model(dataset, settings=settings, reporter=reporter)
    reporter.step(f"Promoting version {trained.version} through the gates")
    outcome, promotions = promote_through(settings, trained, trigger)
    result = RetrainResult(
        outcome, trigger, decision, dataset, feedback_rows, trained.run_id,
        trained.version, trained.metrics, promotions,
    )  # fmt: skip
    _record(result)
    return result


def _trigger(decision: RetrainDecision) -> str:
    if decision.breached:
        return "rules"
    return "dataset" if decision.needed else "manual"


def build_training_set(
    settings: Settings, decision: RetrainDecision, end: datetime
) -> tuple[str, int]:
    """The dataset version to train on (``NAME@V``) and how many feedback rows joined it."""
    from mlcycle.data.store import resolve, training_frame

    if decision.latest_dataset:
        version = resolve(decision.latest_dataset, settings)
        base = training_frame(version, task_of(settings).columns(), settings)
    else:
        base = load_training_data(None, settings).frame
    feedback = pd.DataFrame(columns=["text", "label"])
    if settings.monitor.retrain.use_feedback:
        since = end - timedelta(seconds=duration_seconds(settings.monitor.retrain.feedback_window))
        feedback = labelled_texts(LogStore.from_settings(settings), since, end).to_pandas()
        # Texts already in the data with the same label would only be repeated.
        known = set(zip(base["text"], base["label"], strict=True))
        keep = [pair not in known for pair in zip(feedback["text"], feedback["label"], strict=True)]
        feedback = feedback[keep]
    if feedback.empty and decision.latest_dataset:
        return decision.latest_dataset, 0
    combined = pd.concat([base[["text", "label"]], feedback], ignore_index=True)
    return _store_version(combined, settings), len(feedback)


def _store_version(frame: pd.DataFrame, settings: Settings) -> str:
    """Add the training set as the next version of the project's dataset."""
    from mlcycle.data.ingest import add_dataset

    name = settings.dataset_name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}-retrain.parquet"
        frame.to_parquet(path, index=False)
        added = add_dataset(str(path), name, text_col="text", label_col="label", settings=settings)
    return added.version.ref


def promote_through(
    settings: Settings, trained: TrainResult, trigger: str
) -> tuple[str, list[dict[str, Any]]]:
    """Promote environment by environment up to ``stop_at``; stop at the first refusal."""
    from mlcycle.registry.environments import environment_names
    from mlcycle.registry.promotion import promote

    names = environment_names(settings.registry)
    stop_at = settings.monitor.retrain.stop_at or names[-1]
    if stop_at not in names:
        raise InvalidInput(
            f"monitor.retrain.stop_at is {stop_at!r}, not a configured environment "
            f"({', '.join(names)}); fix it in the project file."
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
