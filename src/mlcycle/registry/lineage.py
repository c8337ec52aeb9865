"""Lineage both ways: which data and code made a model, which models a dataset made.

Training tags its run with the dataset (name, version, digest, source) and the git
commit, and copies those ``mlcycle.*`` tags onto the registered version; both
directions read them back from the registry.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

from mlcycle.registry.ops import VersionInfo, resolve
from mlcycle.registry.refs import ModelRef

_PREFIX = "mlcycle."


@dataclass(frozen=True)
class ModelLineage:
    """What a model version was made from."""

    model: str
    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    git_commit: str
    git_dirty: str
    dataset: str | None  # NAME@V when trained on a stored dataset version
    dataset_name: str
    dataset_version: str | None
    dataset_digest: str
    dataset_source: str
    mlcycle_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_lineage(ref: str) -> ModelLineage:
    """The dataset version, git commit and run behind a model (``churn@production``).

    Raises:
        NotFound: No such model, alias or version.
    """
    info = resolve(ModelRef.parse(ref))
    tags = _tags(info)
    return ModelLineage(
        model=info.name,
        version=info.version,
        aliases=info.aliases,
        run_id=info.run_id,
        git_commit=tags.get("git_commit", "unknown"),
        git_dirty=tags.get("git_dirty", "unknown"),
        dataset=tags.get("dataset_ref"),
        dataset_name=tags.get("dataset_name", "unknown"),
        dataset_version=tags.get("dataset_version"),
        dataset_digest=tags.get("dataset_digest", "unknown"),
        dataset_source=tags.get("dataset_source", "unknown"),
        mlcycle_version=tags.get("version", "unknown"),
    )


def _tags(info: VersionInfo) -> dict[str, str]:
    """The version's ``mlcycle.*`` tags, completed from its run's (older versions lack some)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    tags: dict[str, str] = {}
    if info.run_id:
        # A deleted run leaves the version's own tags to tell.
        with contextlib.suppress(MlflowException):
            tags.update(client.get_run(info.run_id).data.tags)
    tags.update(client.get_model_version(info.name, info.version).tags)
    return {k.removeprefix(_PREFIX): v for k, v in tags.items() if k.startswith(_PREFIX)}


@dataclass(frozen=True)
class TrainedModel:
    """A registered model version trained on a given dataset version."""

    name: str
    version: str
    run_id: str | None
    aliases: tuple[str, ...]


def models_trained_on(dataset_ref: str) -> list[TrainedModel]:
    """The registered model versions trained on dataset version ``dataset_ref`` (NAME@V)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    found = client.search_model_versions(f"tags.`{_PREFIX}dataset_ref` = '{dataset_ref}'")
    aliases: dict[str, dict[str, list[str]]] = {}
    out = []
    for mv in found:
        if mv.name not in aliases:
            holders = client.get_registered_model(mv.name).aliases or {}
            aliases[mv.name] = {}
            for alias, version in holders.items():
                aliases[mv.name].setdefault(str(version), []).append(alias)
        held = tuple(sorted(aliases[mv.name].get(str(mv.version), [])))
        out.append(TrainedModel(mv.name, str(mv.version), mv.run_id, held))
    return sorted(out, key=lambda m: (m.name, int(m.version)))
