"""The ``pyfunc`` family: any MLflow model, trained by the user's own code.

``mlcycle models import MODEL_URI`` registers such a model with this family; it loads
with ``mlflow.pyfunc`` and predicts through it (:class:`PyfuncModel`). mlcycle does not
train it: ``mlcycle retrain`` runs the MLproject named by ``model.retrain`` in the
project file and imports what that run logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import TASK_NAMES
from mlcycle.models.families import ModelFamily
from mlcycle.models.imported.model import PyfuncModel

NOT_TRAINED_HERE = (
    "Models of the pyfunc family are trained by your own code: register one with "
    "mlcycle models import MODEL_URI, and retrain it through model.retrain (an MLproject) "
    "in the project file."
)


class PyfuncFamily(ModelFamily):
    name = "pyfunc"
    tasks = frozenset(TASK_NAMES)

    def build(
        self, params: Mapping[str, Any], task: str, types: Mapping[str, str] | None = None
    ) -> Any:
        raise InvalidInput(NOT_TRAINED_HERE)

    def log_model(self, model: Any, name: str, example: Any, workdir: Path) -> Any:
        raise InvalidInput(NOT_TRAINED_HERE)

    def load(self, path: Path) -> PyfuncModel:
        if self.task is None:
            raise InvalidInput("Say which task a pyfunc model solves to load it.")
        return PyfuncModel.load(path, self.task)
