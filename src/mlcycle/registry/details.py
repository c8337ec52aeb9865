"""What the registry knows about versions: lineage, metrics, promotions (read-only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlcycle.core.errors import NotFound
from mlcycle.core.settings import Settings, get_settings
from mlcycle.registry.environments import environment_names
from mlcycle.registry.ops import list_versions, resolve
from mlcycle.registry.refs import ModelRef

_PROMOTION_KEYS = ("promoted_at", "promoted_by", "action", "reason", "gates", "from_version")


@dataclass(frozen=True)
class VersionDetails:
    """One version as ``models show`` prints it."""

    name: str
    version: str
    aliases: list[str]
    created: str
    run_id: str | None
    source: str
    dataset: dict[str, str]  # the run's mlcycle.dataset_* tags, prefix dropped
    holdout: dict[str, str]  # the holdout the run excluded (version, digest, run)
    metrics: dict[str, float]
    params: dict[str, str]
    promotions: dict[str, dict[str, str]]  # alias -> who, when, why, gates
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(millis: int | None) -> str:
    if not millis:
        return ""
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")


def _prefixed(tags: dict[str, str], prefix: str) -> dict[str, str]:
    return {k.removeprefix(prefix): v for k, v in sorted(tags.items()) if k.startswith(prefix)}


def describe(ref: str, settings: Settings | None = None) -> VersionDetails:
    """Details of the version ``ref`` (``churn@production``, ``churn/3``) points at."""
    from mlflow import MlflowClient

    settings = settings or get_settings()
    info = resolve(ModelRef.parse(ref))
    client = MlflowClient()
    mv = client.get_model_version(info.name, info.version)
    run_tags: dict[str, str] = {}
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    if mv.run_id:
        try:
            run = client.get_run(mv.run_id)
            run_tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
        except Exception:  # a run deleted after registration: the version still stands
            run_tags = {}
    tags = dict(mv.tags or {})
    lineage = {**tags, **run_tags}
    promotions = {
        alias: {key: tags.get(f"mlcycle.{alias}.{key}", "") for key in _PROMOTION_KEYS}
        for alias in {*environment_names(settings.registry), *info.aliases}
        if f"mlcycle.{alias}.promoted_at" in tags
    }
    return VersionDetails(
        info.name,
        info.version,
        _ordered(info.aliases, settings),
        _iso(mv.creation_timestamp),
        mv.run_id,
        mv.source or "",
        _prefixed(lineage, "mlcycle.dataset_"),
        _prefixed(lineage, "mlcycle.holdout_"),
        dict(metrics),
        dict(params),
        promotions,
        tags,
    )


def _ordered(aliases: tuple[str, ...] | list[str], settings: Settings) -> list[str]:
    """Environment aliases in their configured order, then the others."""
    envs = environment_names(settings.registry)
    return sorted(aliases, key=lambda a: (envs.index(a) if a in envs else len(envs), a))


def versions_table(name: str, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every version of ``name``, newest first: aliases, creation time, run, dataset."""
    from mlflow import MlflowClient

    settings = settings or get_settings()
    versions = list_versions(name)
    found = {str(mv.version): mv for mv in MlflowClient().search_model_versions(f"name = '{name}'")}
    rows = []
    for v in versions:
        mv = found.get(v.version)
        tags = dict(mv.tags or {}) if mv else {}
        rows.append(
            {
                "version": v.version,
                "aliases": _ordered(v.aliases, settings),
                "created": _iso(mv.creation_timestamp if mv else None),
                "run_id": v.run_id,
                "dataset": tags.get("mlcycle.dataset_name", ""),
                "dataset_digest": tags.get("mlcycle.dataset_digest", ""),
            }
        )
    return rows


def environment_holders(name: str, settings: Settings | None = None) -> dict[str, str | None]:
    """Each configured environment and the version holding it (None if empty)."""
    settings = settings or get_settings()
    holders: dict[str, str | None] = {}
    for env in environment_names(settings.registry):
        try:
            holders[env] = resolve(ModelRef(name, alias=env)).version
        except NotFound:
            holders[env] = None
    return holders
