"""Load a registered model for serving and the gates: the model itself, with its identity.

The version is pinned first, so an alias moving during the download cannot give a
model whose files and version number disagree. Only files that match the manifest the
registry holds are loaded (:mod:`mlcycle.registry.manifest`), from a copy checked once:
never a second download, never the artifact store's own folder (nothing is written
there). The model is rebuilt from that copy by the family that logged it (the version's
``mlcycle.family`` tag).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlcycle.core.errors import MlcycleError, ModelError
from mlcycle.models.protocol import ServedModel
from mlcycle.registry.manifest import download_verified
from mlcycle.registry.ops import VersionInfo, resolve
from mlcycle.registry.refs import ModelRef

FAMILY_TAG = "mlcycle.family"
TASK_TAG = "mlcycle.task"


def load_served_model(ref: str) -> ServedModel:
    """Resolve ``ref`` (``NAME@ALIAS``, ``NAME/3``), check its files, load its model.

    The checked copy is deleted once loaded: the model holds what it needs in memory.

    Raises:
        ModelError: The files do not match the version's manifest, or do not load.
    """
    version = resolve(ModelRef.parse(ref))
    what = f"Model {version.name} version {version.version}"
    family = family_of(version)
    with tempfile.TemporaryDirectory(prefix="mlcycle-model-") as tmp:
        local = download_verified(version.name, version.version, Path(tmp))
        model = _load(family, version, local, what)
    uri = f"models:/{version.name}/{version.version}"
    return ServedModel(version.name, version.version, model, uri, task_of(version), family)


def family_of(version: VersionInfo) -> str:
    """The family that logged a version (versions from before the tag were fastText)."""
    return version.tags.get(FAMILY_TAG, "fasttext")


def task_of(version: VersionInfo) -> str:
    """The task a version solves (versions from before the tag were text classifiers)."""
    return version.tags.get(TASK_TAG, "text-classification")


def _load(family: str, version: VersionInfo, folder: Path, what: str) -> Any:
    from mlcycle.models.families import get_family

    try:
        with _leaving_no_trace(folder):
            return get_family(family, task_of(version)).load(folder)
    except MlcycleError as exc:
        raise ModelError(f"{what} failed to load: {exc.message}") from None
    except Exception as exc:  # any failure to load is the model's fault, said once
        raise ModelError(f"{what} failed to load: {exc}") from None


@contextlib.contextmanager
def _leaving_no_trace(folder: Path) -> Iterator[None]:
    """Take back what loading a model from ``folder`` may leave in this process.

    A pyfunc puts the model's code folder first on ``sys.path`` for good and keeps its
    entry module in ``sys.modules``: five loads, five of each. What was loaded keeps
    working, its modules are imported by then. The installed mlcycle stays the one in
    use: it is in ``sys.modules`` before any load, so the model's copy is never imported
    over it.
    """
    root = str(folder)

    def inside(path: str | None) -> bool:
        return path is not None and (path == root or path.startswith(root + os.sep))

    try:
        yield
    finally:
        sys.path[:] = [entry for entry in sys.path if not inside(entry)]
        for name, module in list(sys.modules.items()):
            if inside(getattr(module, "__file__", None)):
                del sys.modules[name]
