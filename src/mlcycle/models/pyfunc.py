"""The self-contained MLflow pyfunc wrapper of a text classifier.

A registered model must load with plain ``mlflow.pyfunc.load_model`` where mlcycle is
not installed, so the wrapper ships the few modules prediction needs as MLflow
``code_paths`` and records only their third-party requirements. Settings, training and the CLI are
left out.
"""

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.pyfunc import PythonModel

import mlcycle

ARTIFACT_KEY = "fasttext"
# Modules a loaded model imports, relative to the package root; checked by a test that
# loads a registered model in a fresh virtual environment without mlcycle.
RUNTIME_MODULES = (
    "__init__.py",
    "core/__init__.py",
    "core/errors.py",
    "core/predictions.py",
    "core/processes.py",
    "models/__init__.py",
    "models/calibration.py",
    "models/numba_cache.py",
    "models/protocol.py",
    "models/pyfunc.py",
    "models/fasttext/__init__.py",
    "models/fasttext/categorical_kernels.py",
    "models/fasttext/categories.py",
    "models/fasttext/classifier.py",
    "models/fasttext/cleaner.py",
    "models/fasttext/forward.py",
    "models/fasttext/gather.py",
    "models/fasttext/kernels.py",
    "models/fasttext/params.py",
    "models/fasttext/quantize.py",
    "models/fasttext/ranking.py",
    "models/fasttext/rows.py",
    "models/fasttext/training.py",
    "models/fasttext/tree.py",
    "models/fasttext/vocab.py",
)
RUNTIME_REQUIREMENTS = ("mlflow", "numpy", "pandas", "numba", "snowballstemmer", "pystemmer")


class TextClassifierModel(PythonModel):
    """Input: texts (list of str, or a DataFrame with a ``text`` column); params ``k``.
    A model with categorical columns takes a DataFrame of ``text`` and those columns
    (strings; each optional, a missing one is unknown).

    Output: per text, ``k`` entries ``{"code", "probability"}`` best first; the
    probabilities are calibrated when training calibrated the model.
    """

    def load_context(self, context: Any) -> None:
        from mlcycle.models.numba_cache import use_numba_cache, user_cache_folder

        # Loaded with plain MLflow, the kernels are this model's shipped copy: numba would
        # write its cache into the model's folder. mlcycle's commands set their own.
        use_numba_cache(user_cache_folder())
        from mlcycle.models.fasttext import FastTextClassifier

        self.model = FastTextClassifier.load(Path(context.artifacts[ARTIFACT_KEY]))

    # After schema enforcement MLflow hands over a DataFrame; hinting it so also stops
    # MLflow inferring a second schema from hints (the signature is explicit).
    def predict(self, context, model_input: pd.DataFrame, params=None):
        k = int((params or {}).get("k", 1))
        pred = self.model.predict(inputs_of(model_input, self.model.categories), k)
        return [
            [{"code": str(c), "probability": float(p)} for c, p in zip(codes, probs, strict=True)]
            for codes, probs in zip(pred.codes, pred.probs, strict=True)
        ]


def inputs_of(model_input: Any, categories: Any) -> Any:
    """The texts, or for a model with categorical columns a DataFrame holding them."""
    if categories is not None and hasattr(model_input, "columns") and "text" in model_input:
        return model_input
    return texts_of(model_input)


def texts_of(model_input: Any) -> list[str]:
    """Accept a list/array/Series of strings or a DataFrame (``text`` or first column)."""
    if hasattr(model_input, "columns"):
        column = "text" if "text" in model_input.columns else model_input.columns[0]
        model_input = model_input[column]
    if isinstance(model_input, str):
        return [model_input]
    return ["" if t is None else str(t) for t in list(model_input)]


def stage_runtime_code(workdir: Path) -> Path:
    """Copy the runtime modules into ``workdir/mlcycle``; return that folder."""
    source = Path(mlcycle.__file__).parent
    target = workdir / "mlcycle"
    for relative in RUNTIME_MODULES:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)
    return target


def pinned_requirements() -> list[str]:
    """The runtime requirements pinned to the versions installed here."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in RUNTIME_REQUIREMENTS]


def signature(columns: Sequence[str] = ()) -> Any:
    """Strings in (column ``text``), ranked ``{code, probability}`` lists out, param ``k``.

    With categorical ``columns``, the inputs are named: ``text``, then each column as an
    optional string (a plain MLflow client may leave it out)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import (
        Array,
        ColSpec,
        Object,
        ParamSchema,
        ParamSpec,
        Property,
        Schema,
        TensorSpec,
    )

    entry = Object([Property("code", "string"), Property("probability", "double")])
    inputs: list[ColSpec | TensorSpec] = [ColSpec("string")]
    if columns:
        inputs = [ColSpec("string", "text")]
        inputs += [ColSpec("string", name, required=False) for name in columns]
    return ModelSignature(
        inputs=Schema(inputs),
        outputs=Schema([ColSpec(Array(entry), "predictions")]),
        params=ParamSchema([ParamSpec("k", "long", 1)]),
    )


_ENTRY = """\
# Generated by mlcycle: MLflow runs this file to build the model (models from code).
import mlflow
from mlcycle.models.pyfunc import TextClassifierModel

mlflow.models.set_model(TextClassifierModel())
"""


def log_model(
    model_dir: Path, name: str, input_example: Any, workdir: Path, columns: Sequence[str] = ()
) -> Any:
    """Log a saved classifier folder as a pyfunc in the active run; return the ModelInfo.

    ``input_example``: a few texts, or for a model with categorical ``columns`` a
    DataFrame of ``text`` and those columns.

    The model is logged from code (a three-line entry file), not pickled, so loading it
    runs no deserialised code and survives Python upgrades.
    """
    code = stage_runtime_code(workdir)
    entry = workdir / "mlcycle_model.py"
    entry.write_text(_ENTRY)
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(entry),
        artifacts={ARTIFACT_KEY: str(model_dir)},
        code_paths=[str(code)],
        signature=signature(columns),
        input_example=input_example if columns else list(input_example),
        pip_requirements=pinned_requirements(),
    )
