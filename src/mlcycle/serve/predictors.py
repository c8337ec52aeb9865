"""Which predictor answers a loaded model: the one of its task, if it is the project's.

A server answers for one project, whose task says what ``/predict`` takes and gives and
what ``/feedback`` accepts: a model of another task (a regression pointed at by a
classification project's alias) is refused when it is loaded, with one sentence, and a
server already answering keeps its model.
"""

from __future__ import annotations

from mlcycle.core.errors import ModelError
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.answers import AnyPredictor, LabelBook, PredictorFactory
from mlcycle.serve.tabular import TabularPredictor
from mlcycle.serve.text import Predictor
from mlcycle.tasks import Task


def predictor_factory(task: Task, max_value_chars: int) -> PredictorFactory:
    """Builds the predictor of models of ``task`` (records' texts up to ``max_value_chars``)."""

    def make(served: ServedModel, labels: LabelBook) -> AnyPredictor:
        if served.task != task.name:
            raise ModelError(
                f"Model {served.name} version {served.version} is a {served.task} model, but "
                f"this project's task is {task.name} (model.task); serve a model of that task."
            )
        if task.text_column is not None:
            return Predictor(served, labels, task.settings.monitor.auto_coding_threshold)
        return TabularPredictor(served, labels, max_value_chars)

    return make
