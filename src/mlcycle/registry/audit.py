"""The audit trail of alias moves, shared through the tracking store.

Each event is its own JSON artifact (``events/<time>-<id>.json``) in one audit run
per model in the governance experiment: writers never rewrite a file, so two
concurrent promotions cannot lose each other's event, and a team server shares the
log like any artifact. The version that received an alias also carries summary tags
(``mlcycle.<alias>.promoted_by`` ...) that the registry UI shows.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlcycle.core.settings import Settings
from mlcycle.core.tracking import USER_TAG, acting_user, ensure_experiment

PROMOTE, FORCE, ROLLBACK, REFUSED = "promote", "force", "rollback", "refused"
OUTSIDE = "outside"  # a move made without mlcycle, recorded when mlcycle next saw it
MOVES = (PROMOTE, FORCE, ROLLBACK, OUTSIDE)  # actions that moved the alias
_KIND = "mlcycle.kind"
_MODEL = "mlcycle.audit_model"


@dataclass(frozen=True)
class Event:
    """One alias move (or refused attempt), as recorded."""

    time: str  # ISO 8601, UTC
    user: str
    model: str
    alias: str
    action: str
    from_version: str | None
    to_version: str
    reason: str = ""
    gates: list[dict[str, Any]] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.time)

    @property
    def moved(self) -> bool:
        return self.action in MOVES


def new_event(
    model: str,
    alias: str,
    action: str,
    from_version: str | None,
    to_version: str,
    reason: str = "",
    gates: list[dict[str, Any]] | None = None,
) -> Event:
    """An event stamped now, by the current user."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    return Event(
        now,
        acting_user(),
        model,
        alias,
        action,
        from_version,
        str(to_version),
        reason,
        gates or [],
    )


def append_event(event: Event, settings: Settings) -> None:
    """Add ``event`` to the model's log (a new file) and tag the version it concerns."""
    from mlflow import MlflowClient

    client = MlflowClient()
    run_id = _audit_run(event.model, settings)
    stamp = event.moment.strftime("%Y%m%dT%H%M%S%fZ")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stamp}-{event.id}.json"
        path.write_text(json.dumps(asdict(event), indent=2, default=str))
        client.log_artifact(run_id, str(path), "events")
    if event.moved:
        _tag_version(client, event)


def _tag_version(client: Any, event: Event) -> None:
    """Summary tags on the version that received the alias (shown by ``models show``)."""
    prefix = f"mlcycle.{event.alias}."
    tags = {
        "promoted_at": event.time,
        "promoted_by": event.user,
        "action": event.action,
        "reason": event.reason[:4000],
        "from_version": event.from_version or "",
    }
    if event.gates:  # a rollback runs none: the version keeps the verdict it earned
        failed = [g["name"] for g in event.gates if not g.get("passed")]
        names = [g["name"] for g in event.gates]
        tags["gates"] = f"failed: {', '.join(failed)}" if failed else f"passed: {', '.join(names)}"
    for key, value in tags.items():
        client.set_model_version_tag(event.model, event.to_version, prefix + key, value)


def read_events(model: str, settings: Settings, alias: str | None = None) -> list[Event]:
    """The model's events, oldest first (optionally those of one alias)."""
    import mlflow

    client = mlflow.MlflowClient()
    events = []
    # Every audit run is read: two first-ever writers racing may each have made one.
    for run_id in _audit_runs(model, settings):
        if not client.list_artifacts(run_id, "events"):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="events", dst_path=tmp
            )
            for path in sorted(Path(folder).glob("*.json")):
                with contextlib.suppress(ValueError, TypeError):  # a file cut by a crash
                    events.append(Event(**json.loads(path.read_text())))
    events.sort(key=lambda e: (e.moment, e.id))
    return [e for e in events if alias is None or e.alias == alias]


def _audit_runs(model: str, settings: Settings) -> list[str]:
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.registry.governance_experiment)
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{_KIND}` = 'audit' and tags.`{_MODEL}` = '{model}'",
        order_by=["attributes.start_time ASC"],
    )
    return [run.info.run_id for run in runs]


def _audit_run(model: str, settings: Settings) -> str:
    """The run new events of ``model`` go to (the oldest audit run; made if none)."""
    from mlflow import MlflowClient

    runs = _audit_runs(model, settings)
    if runs:
        return runs[0]
    client = MlflowClient()
    experiment_id = ensure_experiment(settings.registry.governance_experiment, settings)
    # Each event names its own user; the run, who first moved the model's aliases.
    tags = {_KIND: "audit", _MODEL: model, "mlflow.runName": f"audit-{model}",
            USER_TAG: acting_user()}  # fmt: skip
    run = client.create_run(experiment_id, tags=tags)
    client.set_terminated(run.info.run_id)
    return run.info.run_id
