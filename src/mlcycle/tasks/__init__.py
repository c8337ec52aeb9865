"""The task seam: what goes in, what comes out, how a model is evaluated and judged.

``task_of(settings)`` builds the project's task; tabular tasks and the text task share
the :class:`~mlcycle.tasks.base.Task` interface.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mlcycle.tasks.base import LABEL, BehaviourReport, Evaluation, Task

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

__all__ = ["LABEL", "BehaviourReport", "Evaluation", "Task", "task_class", "task_of"]


# Each task's module, imported only when the project has that task: the tabular
# tasks bring scikit-learn and SciPy (about a second), which a text project never needs.
_TASK_CLASSES = {
    "text-classification": ("mlcycle.tasks.text.task", "TextClassification"),
    "classification": ("mlcycle.tasks.tabular.task", "TabularClassification"),
    "regression": ("mlcycle.tasks.tabular.task", "TabularRegression"),
}


def task_class(name: str) -> type[Task]:
    """The class of the task called ``name`` (settings check the name already)."""
    module, cls = _TASK_CLASSES[name]
    task: type[Task] = getattr(importlib.import_module(module), cls)
    return task


def task_of(settings: Settings) -> Task:
    """The project's task, built from its settings."""
    return task_class(settings.model.task)(settings)
