"""Registry operations on MLflow 3: versions and aliases only (no deprecated stages)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.logs import stderr_to_log
from mlcycle.core.tracking import raise_refusal
from mlcycle.registry.manifest import MANIFEST_TAG, manifest_of
from mlcycle.registry.refs import ModelRef

CHALLENGER = "challenger"


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: str
    run_id: str | None
    source: str
    aliases: tuple[str, ...]
    tags: dict[str, str] = field(default_factory=dict, compare=False)


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _info(mv: Any) -> VersionInfo:
    return VersionInfo(
        mv.name, str(mv.version), mv.run_id, mv.source, tuple(mv.aliases or ()), dict(mv.tags or {})
    )


def register(model_uri: str, name: str, tags: dict[str, str] | None = None) -> VersionInfo:
    """Register a logged model as a new version of ``name`` and mark it challenger.

    The version carries the manifest of its files as stored (a ``mlcycle.manifest``
    given in ``tags`` is replaced): only those exact files will load.
    """
    import mlflow

    tags = {**(tags or {}), MANIFEST_TAG: manifest_of(model_uri)}
    # MLflow prints "Successfully registered model ..." rather than logging it.
    with stderr_to_log("mlflow.registry"):
        mv = mlflow.register_model(model_uri, name, tags=tags)
    _client().set_registered_model_alias(name, CHALLENGER, mv.version)
    return _info(_client().get_model_version(name, mv.version))


def resolve(ref: str | ModelRef) -> VersionInfo:
    """The version a reference points at, or one clear ``NotFound``."""
    from mlflow.exceptions import MlflowException

    ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
    client = _client()
    try:
        client.get_registered_model(ref.name)
    except MlflowException as exc:
        raise_refusal(exc)
        raise NotFound(
            f"No registered model named {ref.name!r}; train one first (mlcycle train)."
        ) from None
    try:
        if ref.alias:
            mv = client.get_model_version_by_alias(ref.name, ref.alias)
        elif ref.version:
            mv = client.get_model_version(ref.name, ref.version)
        else:
            raise InvalidInput(f"Say which version of {ref.name!r}: {ref.name}@ALIAS or NAME/N.")
    except MlflowException as exc:
        raise_refusal(exc)
        what = f"alias {ref.alias!r}" if ref.alias else f"version {ref.version}"
        raise NotFound(
            f"Model {ref.name!r} has no {what}; see its versions with mlcycle models list."
        ) from None
    return _info(mv)


def set_alias(name: str, alias: str, version: str) -> str | None:
    """Point ``name@alias`` at ``version``; return the version that held it before."""
    previous = None
    with contextlib.suppress(NotFound):
        previous = resolve(ModelRef(name, alias=alias)).version
    resolve(ModelRef(name, version=str(version)))  # clear error if it does not exist
    _client().set_registered_model_alias(name, alias, str(version))
    return previous


def list_versions(name: str) -> list[VersionInfo]:
    """All versions of ``name``, newest first, each with the aliases it holds."""
    from mlflow.exceptions import MlflowException

    client = _client()
    try:
        holders = client.get_registered_model(name).aliases or {}
    except MlflowException as exc:
        raise_refusal(exc)
        raise NotFound(f"No registered model named {name!r}; train one first.") from None
    aliases: dict[str, list[str]] = {}
    for alias, version in holders.items():
        aliases.setdefault(str(version), []).append(alias)
    versions = client.search_model_versions(f"name = '{name}'")
    out = [
        VersionInfo(
            v.name,
            str(v.version),
            v.run_id,
            v.source,
            tuple(sorted(aliases.get(str(v.version), []))),
            dict(v.tags or {}),
        )
        for v in versions
    ]
    return sorted(out, key=lambda v: int(v.version), reverse=True)
