"""A pipeline run in MLflow: one parent run, one nested run per step.

The experiment ``<model>-pipeline`` holds them. A step's run carries its cache key,
its status (succeeded, skipped, failed, blocked), the fingerprints of what it wrote and
how long it took: the cache is a search for a succeeded run with the same key, and
``pipeline show`` reads each step's latest run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from mlcycle.core.settings import Settings
from mlcycle.core.tracking import ensure_experiment, use_tracking

STEP, KEY, STATUS, OUTPUTS, TRIGGER = (
    f"mlcycle.pipeline.{t}" for t in ("step", "key", "status", "outputs", "trigger")
)
SUCCEEDED, SKIPPED, FAILED, BLOCKED = "succeeded", "skipped", "failed", "blocked"


@dataclass
class StepRecord:
    """What happened to one step in one run."""

    step: str
    status: str
    key: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""
    run_id: str = ""
    reused: str = ""  # the run whose outputs a skipped step reused

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def experiment_name(settings: Settings) -> str:
    return f"{settings.experiment or settings.model.name}-pipeline"


class Recorder:
    """Writes a pipeline run and its steps; finds earlier steps by key."""

    def __init__(self, settings: Settings) -> None:
        from mlflow import MlflowClient

        use_tracking(settings)
        self.client = MlflowClient()
        self.experiment = ensure_experiment(experiment_name(settings), settings)
        self.parent = ""

    def start(self, trigger: str, steps: list[str]) -> str:
        run = self.client.create_run(
            self.experiment,
            run_name=f"pipeline ({trigger})",
            tags={TRIGGER: trigger, "mlcycle.pipeline.selected": ",".join(steps)},
        )
        self.parent = run.info.run_id
        return self.parent

    def finish(self, failed: bool) -> None:
        self.client.set_terminated(self.parent, "FAILED" if failed else "FINISHED")

    def write(self, record: StepRecord) -> None:
        """One nested run for the step, finished as it ended."""
        tags = {
            "mlflow.parentRunId": self.parent, STEP: record.step, KEY: record.key,
            STATUS: record.status, OUTPUTS: json.dumps(record.outputs, sort_keys=True),
        }  # fmt: skip
        if record.message:
            tags["mlcycle.pipeline.message"] = record.message[:4000]
        if record.reused:
            tags["mlcycle.pipeline.reused"] = record.reused
        run = self.client.create_run(self.experiment, run_name=record.step, tags=tags)
        record.run_id = run.info.run_id
        self.client.log_metric(run.info.run_id, "duration_s", record.seconds)
        ended = "FAILED" if record.status == FAILED else "FINISHED"
        self.client.set_terminated(run.info.run_id, ended, end_time=int(time.time() * 1000))

    def succeeded(self, step: str, key: str | None = None) -> StepRecord | None:
        """The step's latest successful run (with this key, when given)."""
        condition = f"tags.`{STEP}` = '{step}'"
        if key is not None:
            condition += f" AND tags.`{KEY}` = '{key}'"
        return self._latest(condition, (SUCCEEDED, SKIPPED))

    def last(self, step: str) -> StepRecord | None:
        """The step's latest run, whatever became of it."""
        return self._latest(f"tags.`{STEP}` = '{step}'", None)

    def _latest(self, condition: str, statuses: tuple[str, ...] | None) -> StepRecord | None:
        # MLflow's search has no IN over tags: the status is filtered here, newest first.
        runs = self.client.search_runs(
            [self.experiment], condition, max_results=200, order_by=["attributes.start_time DESC"]
        )
        for run in runs:
            tags = run.data.tags
            if statuses is None or tags.get(STATUS) in statuses:
                return _record(run)
        return None


def _record(run: Any) -> StepRecord:
    tags = run.data.tags
    reused = tags.get("mlcycle.pipeline.reused", "")
    return StepRecord(
        tags[STEP], tags.get(STATUS, ""), tags.get(KEY, ""),
        json.loads(tags.get(OUTPUTS) or "{}"), run.data.metrics.get("duration_s", 0.0),
        tags.get("mlcycle.pipeline.message", ""), run.info.run_id, reused or run.info.run_id,
    )  # fmt: skip
