"""Load a registered model for serving: the classifier behind the pyfunc, with its identity.

Loading runs the model's code, so only files that match the manifest the registry holds
are loaded (:mod:`mlcycle.registry.manifest`), from a copy checked once: never a second
download, never the artifact store's own folder (nothing is written there).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlcycle.core.errors import ModelError
from mlcycle.models.protocol import TextClassifier
from mlcycle.registry.manifest import download_verified
from mlcycle.registry.ops import resolve
from mlcycle.registry.refs import ModelRef


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    classifier: TextClassifier
    model_uri: str


def load_served_model(ref: str) -> ServedModel:
    """Resolve ``ref`` (``nace@production``, ``nace/3``), check its files, load its classifier.

    The version is pinned first, so an alias moving during the download cannot give a
    model whose files and version number disagree. The checked copy is deleted once
    loaded: the classifier holds its weights in memory.

    Raises:
        ModelError: The files do not match the version's manifest, or do not load.
    """
    version = resolve(ModelRef.parse(ref))
    with tempfile.TemporaryDirectory(prefix="mlcycle-model-") as tmp:
        local = download_verified(version.name, version.version, Path(tmp))
        classifier = _load_classifier(local, f"Model {version.name} version {version.version}")
    uri = f"models:/{version.name}/{version.version}"
    return ServedModel(version.name, version.version, classifier, uri)


def _load_classifier(folder: Path, what: str) -> TextClassifier:
    import mlflow.pyfunc

    try:
        with _leaving_no_trace(folder):
            return mlflow.pyfunc.load_model(str(folder)).unwrap_python_model().model
    except Exception as exc:  # any failure to load is the model's fault, said once
        raise ModelError(f"{what} failed to load: {exc}") from None


@contextlib.contextmanager
def _leaving_no_trace(folder: Path) -> Iterator[None]:
    """Take back what loading a pyfunc from ``folder`` leaves in this process.

    MLflow puts the model's code folder first on ``sys.path`` for good and keeps its entry
    module in ``sys.modules``: five loads, five of each. What was loaded keeps working,
    its modules are imported by then. The installed mlcycle stays the one in use: it is
    in ``sys.modules`` before any load, so the model's copy is never imported over it.
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
