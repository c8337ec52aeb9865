"""Load a registered model for serving and the gates: the model itself, with its identity.

The version is pinned first, so an alias moving during the download cannot give a
model whose files and version number disagree. The model is rebuilt by the family that
logged it (the version's ``mlcycle.family`` tag), from a local copy of its files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mlcycle.core.errors import MlcycleError, ModelError
from mlcycle.models.protocol import ServedModel
from mlcycle.registry.ops import VersionInfo, resolve
from mlcycle.registry.refs import ModelRef

FAMILY_TAG = "mlcycle.family"
TASK_TAG = "mlcycle.task"


def load_served_model(ref: str) -> ServedModel:
    """Resolve ``ref`` (``nace@production``, ``nace/3``) and load its model."""
    import mlflow

    version = resolve(ModelRef.parse(ref))
    uri = f"models:/{version.name}/{version.version}"
    family = family_of(version)
    try:
        with tempfile.TemporaryDirectory(prefix="mlcycle-model-") as tmp:
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
            model = _family(family, version).load(Path(local))
    except MlcycleError as exc:
        raise ModelError(
            f"Model {version.name} version {version.version} failed to load: {exc.message}"
        ) from None
    except Exception as exc:  # any failure to load is the model's fault, said once
        raise ModelError(
            f"Model {version.name} version {version.version} failed to load: {exc}"
        ) from None
    return ServedModel(version.name, version.version, model, uri, task_of(version), family)


def family_of(version: VersionInfo) -> str:
    """The family that logged a version (versions from before the tag were fastText)."""
    return version.tags.get(FAMILY_TAG, "fasttext")


def task_of(version: VersionInfo) -> str:
    """The task a version solves (versions from before the tag were text classifiers)."""
    return version.tags.get(TASK_TAG, "text-classification")


def _family(name: str, version: VersionInfo) -> Any:
    from mlcycle.models.families import get_family

    return get_family(name, task_of(version))
