"""What every predictor gives and is: the answer it sends, and what the holder asks of it.

A predictor answers ``/predict`` with one loaded model: ``mlcycle.serve.text.Predictor``
for a text classifier, ``mlcycle.serve.tabular.TabularPredictor`` for a tabular model
(``mlcycle.serve.predictors`` picks one by the model's task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from mlcycle.models.protocol import ServedModel

if TYPE_CHECKING:
    from mlcycle.serve.bodies import Inputs
    from mlcycle.serve.validation import Limits


# The official name of a label (its nomenclature's), or None.
LabelNamer = Callable[[str], str | None]


class Answer(NamedTuple):
    """A ready-to-send ``/predict`` body and the ranked codes and probabilities in it.

    The lists (one per text or record, best first) are what the prediction log and the
    metrics record: Python objects the answer needed anyway, cheap to hand over.
    """

    body: bytes
    codes: list[list[str]]  # empty lists for a regression
    probs: list[list[float]]
    values: list[float] | None = None  # a regression's values
    inputs: list[str] | None = None  # tabular: each record as a JSON object


class AnyPredictor(Protocol):
    """What the holder keeps and ``/predict`` asks, for a model of any task."""

    served: ServedModel
    n_labels: int

    @property
    def version(self) -> str: ...

    def info(self) -> dict[str, Any]: ...

    def request_limits(self, limits: Limits) -> Limits: ...

    def parse(self, body: bytes, limits: Limits) -> Inputs: ...

    def request_schema(self, limits: Limits) -> dict[str, Any]: ...

    async def respond(self, inputs: Inputs, request_id: str) -> Answer: ...

    def smoke_test(self) -> None: ...


# Builds the predictor of a loaded model (mlcycle.serve.predictors: by task).
PredictorFactory = Callable[[ServedModel, "LabelNamer"], AnyPredictor]
