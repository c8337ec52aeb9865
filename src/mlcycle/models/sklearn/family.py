"""The ``sklearn`` family: any scikit-learn estimator named by import path, for tabular
tasks, with its preprocessing inside the logged pipeline.

In the project file::

    model:
      task: regression
      family: sklearn
      params:
        estimator: sklearn.ensemble.HistGradientBoostingRegressor   # or a class name
        max_iter: 200                                               # its own arguments
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.models.families import ModelFamily
from mlcycle.models.sklearn.estimators import EXAMPLES, import_class
from mlcycle.models.sklearn.flavor import load_model, log_model
from mlcycle.models.sklearn.model import SklearnModel
from mlcycle.models.sklearn.preprocess import MODEL
from mlcycle.models.sklearn.spaces import default_space

ESTIMATOR = "estimator"
# Parameters a run records: plain values only (an estimator's nested objects are not).
_PLAIN = (str, int, float, bool, type(None))


class SklearnFamily(ModelFamily):
    name = "sklearn"
    tasks = frozenset({"classification", "regression"})

    def build(
        self, params: Mapping[str, Any], task: str, types: Mapping[str, str] | None = None
    ) -> SklearnModel:
        kind = _kind(task)
        if not types:
            raise InvalidInput(
                "The sklearn family needs the types of the features; train on a dataset "
                "version (mlcycle data add) or a file the project's data settings describe."
            )
        rest = dict(params)
        estimator = _estimator(rest.pop(ESTIMATOR, None), kind)
        columns: dict[str, ColumnType] = {k: v for k, v in types.items() if v != "text"}  # type: ignore[misc]
        return SklearnModel.build(estimator, rest, kind, columns)

    def log_model(self, model: SklearnModel, name: str, example: Any, workdir: Path) -> Any:
        return log_model(model, name, example)

    def load(self, path: Path) -> SklearnModel:
        return load_model(path)

    def params_of(self, model: SklearnModel) -> dict[str, Any]:
        estimator = model.pipeline.named_steps[MODEL]
        found = {k: v for k, v in estimator.get_params(deep=False).items() if isinstance(v, _PLAIN)}
        path = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
        return {ESTIMATOR: path, **found}

    def default_space(self, params: Mapping[str, Any], task: str) -> dict[str, Any]:
        """The usual space of the estimator ``model.params`` names (see ``spaces``)."""
        return default_space(import_class(_estimator(params.get(ESTIMATOR), _kind(task))))


def _kind(task: str) -> TaskKind:
    return "classification" if task == "classification" else "regression"


def _estimator(named: Any, kind: TaskKind) -> str:
    """The estimator's import path: the one named, else the task's usual one."""
    return str(named or EXAMPLES[kind])
