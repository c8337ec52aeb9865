"""Log a tabular model as an MLflow scikit-learn model, and load it back.

The logged model is the plain pipeline in MLflow's ``sklearn`` flavor: it loads and
serves with ``mlflow.pyfunc.load_model`` where mlcycle is not installed (only
scikit-learn classes, pandas and the standard library inside). It is saved in the
``skops`` format (MLflow's default, no arbitrary code run at load), with its requirements
pinned to the versions installed here. The signature types every feature column
(``double``, ``string``, ``boolean``, ``datetime``) and marks each *required*: MLflow
lets nulls through required columns (the imputers fill them) but refuses a request
missing a column with a sentence naming it, where an optional column would reach the
pipeline and fail there. The signature also lets :func:`load_model` rebuild the feature
types, so a pipeline logged this way by other code loads too.
"""

from __future__ import annotations

import json
from importlib.metadata import packages_distributions, version
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import is_classifier

from mlcycle.core.errors import ModelError
from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.models.sklearn.model import SklearnModel
from mlcycle.models.sklearn.preprocess import MODEL

SIGNATURE_TYPES: dict[ColumnType, str] = {
    "numeric": "double",
    "categorical": "string",
    "boolean": "boolean",
    "datetime": "datetime",
}
_COLUMN_TYPES: dict[str, ColumnType] = {name: kind for kind, name in SIGNATURE_TYPES.items()}
RUNTIME_REQUIREMENTS = ("mlflow", "scikit-learn", "pandas", "numpy")
EXAMPLE_ROWS = 5


def signature(model: SklearnModel) -> Any:
    """Typed, required feature columns in; a class (text) or a value (double) out."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    inputs: list[Any] = [ColSpec(SIGNATURE_TYPES[kind], name) for name, kind in model.types.items()]
    output = "string" if model.kind == "classification" else "double"
    return ModelSignature(inputs=Schema(inputs), outputs=Schema([ColSpec(output)]))


def log_model(model: SklearnModel, name: str, example_frame: pd.DataFrame) -> Any:
    """Log the fitted ``model`` in the active run as ``name``; return MLflow's ModelInfo.

    Args:
        model: A fitted model.
        name: The model's name in the run (``model``).
        example_frame: Raw rows like those clients send; the first few are the example.
    """
    import mlflow.sklearn

    serialization, trusted = _serialization(model.pipeline)
    example = example_frame.loc[:, model.features].head(EXAMPLE_ROWS)
    return mlflow.sklearn.log_model(
        sk_model=model.pipeline,
        name=name,
        signature=signature(model),
        input_example=example,
        pip_requirements=requirements(model.pipeline, serialization),
        serialization_format=serialization,
        skops_trusted_types=trusted,
    )


def _serialization(pipeline: Any) -> tuple[str, list[str] | None]:
    """skops, trusting the types this pipeline holds; cloudpickle when skops cannot."""
    import skops.io

    try:
        return "skops", skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    except Exception:  # skops knows scikit-learn's types, not every other library's
        return "cloudpickle", None


def requirements(pipeline: Any, serialization: str) -> list[str]:
    """The packages loading ``pipeline`` needs, pinned to the versions installed here."""
    names = [*RUNTIME_REQUIREMENTS, "skops" if serialization == "skops" else "cloudpickle"]
    root = type(pipeline.named_steps[MODEL]).__module__.split(".")[0]
    names += [d for d in packages_distributions().get(root, []) if d not in names]
    return [f"{name}=={version(name)}" for name in dict.fromkeys(names)]


def load_model(local_dir: Path | str) -> SklearnModel:
    """A model logged by :func:`log_model` (or any pipeline with a typed signature).

    Raises:
        ModelError: The folder holds no scikit-learn model with a column signature.
    """
    import mlflow.sklearn
    from mlflow.models import Model

    try:
        pipeline = mlflow.sklearn.load_model(str(local_dir))
        logged = Model.load(str(local_dir))
        inputs = logged.signature.inputs
        types: dict[str, ColumnType] = {
            spec.name: _COLUMN_TYPES[spec.type.name] for spec in inputs.inputs
        }
    except Exception as exc:
        raise ModelError(
            f"{local_dir} holds no scikit-learn model with a typed column signature ({exc})."
        ) from None
    kind: TaskKind = "classification" if is_classifier(pipeline) else "regression"
    model = SklearnModel(pipeline, kind, types)
    model.example = _example_records(logged, local_dir)
    return model


def _example_records(logged: Any, local_dir: Path | str) -> list[dict[str, Any]] | None:
    """The logged input example as JSON records (what a client would send), if any:
    serving checks a newly loaded version on it."""
    try:
        example = logged.load_input_example(str(local_dir))
    except Exception:  # no example, or one this MLflow cannot read: a smoke record is made
        return None
    if not isinstance(example, pd.DataFrame) or example.empty:
        return None
    return json.loads(example.to_json(orient="records", date_format="iso"))
