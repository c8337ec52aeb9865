"""The task seam: what goes in, what comes out, how a model is evaluated and judged.

``task_of(settings)`` builds the project's task; tabular tasks and the text task share
the :class:`~mlcycle.tasks.base.Task` interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlcycle.tasks.base import LABEL, BehaviourReport, Evaluation, Task

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

__all__ = ["LABEL", "BehaviourReport", "Evaluation", "Task", "task_class", "task_of"]


def task_class(name: str) -> type[Task]:
    """The class of the task called ``name`` (settings check the name already)."""
    from mlcycle.tasks.tabular.task import TabularClassification, TabularRegression
    from mlcycle.tasks.text.task import TextClassification

    classes: dict[str, type[Task]] = {
        task.name: task for task in (TextClassification, TabularClassification, TabularRegression)
    }
    return classes[name]


def task_of(settings: Settings) -> Task:
    """The project's task, built from its settings."""
    return task_class(settings.model.task)(settings)
