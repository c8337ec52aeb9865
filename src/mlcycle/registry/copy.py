"""Copy a registered version to another tracking server (dev to prod), lineage included.

The target gets a run carrying the source run's params, metrics, tags, dataset inputs
and evaluation artifacts, the model files as they were registered (checked against the
source's manifest; the target records its own), and a new version (marked
``challenger``) tagged with where it came from. The frozen holdout the version is
judged on is copied too when the target lacks it, so the target's gates compare on the
same rows.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlcycle.core.errors import InvalidInput, Unavailable
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import ensure_experiment, pointed_at
from mlcycle.data.holdout import find_holdout, store_copy
from mlcycle.registry.holdouts import judging_holdout
from mlcycle.registry.manifest import download_verified
from mlcycle.registry.ops import VersionInfo, register, resolve
from mlcycle.registry.refs import ModelRef

COPIED_FROM_TAG = "mlcycle.copied_from"  # on a copy: "SOURCE_URI NAME/VERSION"


@dataclass(frozen=True)
class CopyResult:
    source: str  # name/version in the source store
    target_uri: str
    name: str
    version: str  # the new version in the target store
    run_id: str
    holdout_copied: bool


def public_uri(uri: str) -> str:
    """``uri`` without user name or password, safe to record in tags."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def _target_settings(uri: str, settings: Settings) -> Settings:
    """Settings whose embedded paths sit beside a target SQLite file (artifacts there)."""
    if uri.startswith("sqlite:///"):
        home = Path(uri.removeprefix("sqlite:///")).resolve().parent
        return settings.model_copy(update={"home": home, "tracking_uri": uri})
    return settings.model_copy(update={"tracking_uri": uri})


def copy_version(ref: str, to_tracking_uri: str, settings: Settings | None = None) -> CopyResult:
    """Copy the version ``ref`` points at into the registry at ``to_tracking_uri``."""
    import mlflow

    settings = settings or get_settings()
    source_uri = mlflow.get_tracking_uri()
    if to_tracking_uri.rstrip("/") == source_uri.rstrip("/"):
        raise InvalidInput("The target tracking URI is the source's; name another registry.")
    info = resolve(ModelRef.parse(ref))
    holdout = judging_holdout(info, settings).holdout
    with tempfile.TemporaryDirectory() as tmp:
        bundle = _export(info, Path(tmp))
        target = _target_settings(to_tracking_uri, settings)
        try:
            with pointed_at(to_tracking_uri):
                run_id, version = _import(info, bundle, public_uri(source_uri), target)
                copied = False
                if holdout is not None and (
                    find_holdout(holdout.dataset, target, holdout.version) is None
                ):
                    store_copy(holdout, target)
                    copied = True
        except (OSError, mlflow.exceptions.MlflowException) as exc:
            raise Unavailable(
                f"Could not copy to {public_uri(to_tracking_uri)} ({exc}); check the URI "
                "and that the server is reachable."
            ) from None
    return CopyResult(
        f"{info.name}/{info.version}",
        public_uri(to_tracking_uri),
        info.name,
        version,
        run_id,
        copied,
    )


def _export(info: VersionInfo, work: Path) -> dict[str, Any]:
    """Download what the copy needs from the source store (model files checked)."""
    import mlflow

    client = mlflow.MlflowClient()
    model_dir = str(download_verified(info.name, info.version, work / "model"))
    mv = client.get_model_version(info.name, info.version)
    bundle: dict[str, Any] = {
        "model": model_dir,
        "version_tags": dict(mv.tags or {}),
        "run": None,
        "evaluation": None,
    }
    if info.run_id:
        bundle["run"] = client.get_run(info.run_id)
        if client.list_artifacts(info.run_id, "evaluation"):
            bundle["evaluation"] = mlflow.artifacts.download_artifacts(
                run_id=info.run_id, artifact_path="evaluation", dst_path=str(work / "eval")
            )
    return bundle


def _import(
    info: VersionInfo, bundle: dict[str, Any], source_uri: str, settings: Settings
) -> tuple[str, str]:
    """Create the run and the version in the target store (the current tracking URI)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient()
    origin = {
        COPIED_FROM_TAG: f"{source_uri} {info.name}/{info.version}",
        "mlcycle.copied_from_run": info.run_id or "",
    }
    experiment = ensure_experiment(settings.experiment_name, settings)
    run = bundle["run"]
    tags = {
        k: v
        for k, v in (run.data.tags if run else {}).items()
        if not k.startswith("mlflow.log-model")
    }
    new = client.create_run(experiment, tags={**tags, **origin})
    run_id = new.info.run_id
    if run is not None:
        params = [Param(k, v) for k, v in run.data.params.items()]
        metrics = [Metric(k, v, 0, 0) for k, v in run.data.metrics.items()]
        for start in range(0, max(len(params), len(metrics)), 100):  # the batch API's limit
            client.log_batch(
                run_id, metrics=metrics[start : start + 100], params=params[start : start + 100]
            )
        if run.inputs and run.inputs.dataset_inputs:
            client.log_inputs(run_id, datasets=run.inputs.dataset_inputs)
    if bundle["evaluation"]:
        client.log_artifacts(run_id, bundle["evaluation"], "evaluation")
    client.log_artifacts(run_id, bundle["model"], "model")
    client.set_terminated(run_id)
    # Lineage tags travel; promotion summaries (mlcycle.<alias>.*) describe the source's
    # aliases and stay behind: the copy starts as a challenger in its new registry.
    version_tags = {
        k: v
        for k, v in {**bundle["version_tags"], **origin}.items()
        if k.startswith("mlcycle.") and k.count(".") == 1
    }
    version = register(f"runs:/{run_id}/model", info.name, tags=version_tags)
    return run_id, version.version
