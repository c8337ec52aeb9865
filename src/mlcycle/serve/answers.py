"""What every predictor gives and is: the answer it sends, and what the holder asks of it.

A predictor answers ``/predict`` with one loaded model: ``mlcycle.serve.text.Predictor``
for a text classifier, ``mlcycle.serve.tabular.TabularPredictor`` for a tabular model
(``mlcycle.serve.predictors`` picks one by the model's task).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import orjson

from mlcycle.models.protocol import ServedModel

if TYPE_CHECKING:
    from mlcycle.serve.bodies import Inputs
    from mlcycle.serve.faults import Fault
    from mlcycle.serve.validation import Limits


class LabelBook(Protocol):
    """What answers say about a label beyond its code: the task's nomenclature, if any
    (a :class:`mlcycle.tasks.Task` is one)."""

    def label_name(self, label: str) -> str | None:
        """The official name of a label, or None."""

    def label_parents(self, label: str) -> Mapping[str, tuple[str, str]]:
        """The ``(code, name)`` of each level above a label, coarsest first; empty when
        the label has none or is unknown."""


class NoLabels:
    """A book that knows no label: plain codes, without names or parents."""

    def label_name(self, label: str) -> str | None:
        return None

    def label_parents(self, label: str) -> Mapping[str, tuple[str, str]]:
        return {}


NO_LABELS = NoLabels()
# The parents of a code no nomenclature knows.
NO_PARENTS = orjson.Fragment(b"{}")
# Requests of at most this many texts or records are answered on the event loop (when
# the model is free), larger ones in a worker thread.
INLINE_ITEMS = 64


class LabelFacts(NamedTuple):
    """What an answer says of each code besides its probability, looked up once per
    loaded model: the single-text answer must not pay for a nomenclature lookup."""

    names: dict[str, str | None]  # code -> official name
    # code -> ``{"section": {"code", "label"}, ...}`` already as JSON (orjson embeds it
    # as it is): the same few hundred bytes for every answer of that code.
    parents: dict[str, orjson.Fragment]

    @classmethod
    def of(cls, labels: Iterable[str], book: LabelBook) -> LabelFacts:
        names, parents = {}, {}
        for label in labels:
            names[label] = book.label_name(label)
            above = {
                level: {"code": code, "label": name}
                for level, (code, name) in book.label_parents(label).items()
            }
            parents[label] = orjson.Fragment(orjson.dumps(above)) if above else NO_PARENTS
        return cls(names, parents)


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
    faults: tuple[Fault, ...] = ()  # the items answered with an error (none in the lists)
    auto_coded: int = 0  # texts whose answer says auto_codable (the model's own threshold)


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

    def score_inputs(self, inputs: Inputs) -> Answer: ...

    def smoke_test(self) -> None: ...


# Builds the predictor of a loaded model (mlcycle.serve.predictors: by task).
PredictorFactory = Callable[[ServedModel, LabelBook], AnyPredictor]
