"""The dataset catalog in MLflow, and how version numbers are allocated safely.

Layout: one experiment (``data.experiment``, default ``mlcycle-datasets``) whose
artifacts live under the project home in the embedded mode and in the server's
artifact store otherwise. Each dataset version is a run of it holding the snapshot,
its metadata and profile. One more run, the *catalog run* (named by the experiment
tag ``mlcycle.catalog_run``), records which run is which version: its params are the
claims ``NAME/N = RUN_ID``.

Why params: MLflow never lets a logged param change value (the run and key are the
primary key of the params table, on SQLite, PostgreSQL and MySQL alike, and through a
tracking server), so logging ``NAME/N`` is an atomic compare-and-set. Of two adds
claiming the same N, exactly one succeeds; the other sees the claim taken and tries
N+1. The claim is also the commit: it is logged only once every artifact is stored,
so a process killed at any moment leaves a complete version or none (at worst an
unclaimed run that no listing shows).

The experiment itself is created under a private name, given its catalog run, then
renamed to the public one; MLflow refuses a rename onto an existing name, so exactly
one complete catalog is ever published, however many processes race to create it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from mlcycle.core.errors import Conflict, Unavailable
from mlcycle.core.settings import Settings

CATALOG_TAG = "mlcycle.catalog_run"
ROLE_TAG = "mlcycle.role"
_ATTEMPTS = 200  # claims to try before giving up: far more than concurrent adds


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


@dataclass(frozen=True)
class Catalog:
    """The experiment holding dataset versions and the run holding their claims."""

    experiment_id: str
    run_id: str

    def claims(self) -> dict[str, dict[int, str]]:
        """Every claimed version: dataset name -> {version: run id}."""
        params = _client().get_run(self.run_id).data.params
        out: dict[str, dict[int, str]] = {}
        for key, run_id in params.items():
            name, _, number = key.rpartition("/")
            if name and number.isdigit():
                out.setdefault(name, {})[int(number)] = run_id
        return out

    def versions(self, name: str) -> dict[int, str]:
        """The claimed versions of one dataset: {version: run id}."""
        return self.claims().get(name, {})

    def claim(self, name: str, run_id: str) -> int:
        """Give ``run_id`` the next free version of ``name``; return that version."""
        from mlflow.exceptions import MlflowException

        failures = 0
        for _ in range(_ATTEMPTS):
            number = max(self.versions(name), default=0) + 1
            try:
                _client().log_param(self.run_id, f"{name}/{number}", run_id)
                return number
            except MlflowException as exc:
                now = self.versions(name)
                if now.get(number) == run_id:  # our own write went through after all
                    return number
                if number not in now:  # not a lost race: the store is busy or down
                    failures += 1
                    if failures > 5:
                        raise Unavailable(
                            f"The tracking store refused the version claim ({exc.message})."
                        ) from None
                    time.sleep(0.2 * failures)
        raise Unavailable(f"Could not allocate a version of {name!r}; too many concurrent adds.")


def open_catalog(settings: Settings, create: bool = False) -> Catalog | None:
    """The catalog of this tracking store; None if it has none and ``create`` is False.

    Raises:
        Conflict: The experiment name is taken by something that is not a catalog.
    """
    client = _client()
    experiment = client.get_experiment_by_name(settings.data.experiment)
    if experiment is None:
        if not create:
            return None
        experiment = _publish(client, settings)
    return _checked(experiment, settings.data.experiment)


def _checked(experiment: Any, name: str) -> Catalog:
    if experiment.lifecycle_stage != "active":
        raise Conflict(
            f"The dataset experiment {name!r} was deleted; restore it "
            f"(mlflow experiments restore --experiment-id {experiment.experiment_id}) "
            "or set data.experiment to a new name."
        )
    run_id = (experiment.tags or {}).get(CATALOG_TAG)
    if not run_id:
        raise Conflict(
            f"Experiment {name!r} exists but is not an mlcycle dataset catalog; "
            "set data.experiment to another name."
        )
    return Catalog(experiment.experiment_id, run_id)


def _publish(client: Any, settings: Settings) -> Any:
    """Create the catalog privately, then rename it to its public name (first one wins)."""
    from mlflow.exceptions import MlflowException

    name = settings.data.experiment
    private = f"{name}.init-{uuid.uuid4().hex[:12]}"
    experiment_id = client.create_experiment(
        private, artifact_location=artifact_location(settings), tags={ROLE_TAG: "datasets"}
    )
    run = client.create_run(experiment_id, run_name="catalog", tags={ROLE_TAG: "dataset-catalog"})
    client.update_run(run.info.run_id, status="FINISHED")  # quietly: no 'View run' line
    client.set_experiment_tag(experiment_id, CATALOG_TAG, run.info.run_id)
    try:
        client.rename_experiment(experiment_id, name)
    except MlflowException:
        client.delete_experiment(experiment_id)  # another process published first
    published = client.get_experiment_by_name(name)
    if published is None:
        raise Unavailable(f"Could not create the dataset experiment {name!r}; try again.")
    return published


def artifact_location(settings: Settings) -> str | None:
    """Under the project home for the embedded store; the server's default otherwise."""
    if settings.resolved_tracking_uri().startswith("sqlite:"):
        return (settings.home / "datasets").resolve().as_uri()
    return None
