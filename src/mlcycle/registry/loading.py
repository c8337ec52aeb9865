"""Load a registered model for serving: the classifier behind the pyfunc, with its identity."""

from __future__ import annotations

from dataclasses import dataclass

from mlcycle.core.errors import ModelError
from mlcycle.models.protocol import TextClassifier
from mlcycle.registry.ops import resolve
from mlcycle.registry.refs import ModelRef


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    classifier: TextClassifier
    model_uri: str


def load_served_model(ref: str) -> ServedModel:
    """Resolve ``ref`` (``nace@production``, ``nace/3``) and load its classifier.

    The version is pinned first, so an alias moving during the download cannot give a
    model whose files and version number disagree.
    """
    import mlflow.pyfunc

    version = resolve(ModelRef.parse(ref))
    uri = f"models:/{version.name}/{version.version}"
    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
        classifier = pyfunc.unwrap_python_model().model
    except Exception as exc:  # any failure to load is the model's fault, said once
        raise ModelError(
            f"Model {version.name} version {version.version} failed to load: {exc}"
        ) from None
    return ServedModel(version.name, version.version, classifier, uri)
