"""The pipeline as a graph: its steps, who produces what, the order they run in.

A step depends on the step producing one of its inputs. An input no step produces is a
source: it must exist when the pipeline runs (a data file, a dataset added by hand).
Without declared steps, the project runs the default pipeline: the loop ``train`` and
``models promote`` run by hand (train the model on the default data, then promote it
through the gates of the first environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import PipelineStep, Settings, parse_reference


@dataclass(frozen=True)
class Pipeline:
    """Steps in the order they run, and each step's upstream steps."""

    steps: dict[str, PipelineStep]  # in run order
    upstream: dict[str, list[str]] = field(default_factory=dict)
    producer: dict[str, str] = field(default_factory=dict)  # reference -> step
    default: bool = False  # the project declares no steps

    def downstream(self, name: str) -> list[str]:
        """``name`` and every step that reads, directly or not, what it writes."""
        reached = {name}
        for step in self.steps:  # run order: a step comes after all it depends on
            if any(up in reached for up in self.upstream[step]):
                reached.add(step)
        return [step for step in self.steps if step in reached]

    def ancestors(self, name: str) -> list[str]:
        """``name`` and every step it depends on."""
        reached = {name}
        for step in reversed(self.steps):
            if step in reached:
                reached.update(self.upstream[step])
        return [step for step in self.steps if step in reached]

    def select(self, start: str | None = None, stop: str | None = None) -> list[str]:
        """The steps from ``start`` (and what depends on it) to ``stop`` (and what it
        depends on), in run order; every step when neither is given."""
        chosen = list(self.steps)
        if start is not None:
            chosen = [s for s in chosen if s in set(self.downstream(self.known(start)))]
        if stop is not None:
            chosen = [s for s in chosen if s in set(self.ancestors(self.known(stop)))]
        if not chosen:
            raise InvalidInput(f"No step runs from {start!r} to {stop!r}: {stop} comes first.")
        return chosen

    def known(self, name: str) -> str:
        if name not in self.steps:
            raise InvalidInput(
                f"The pipeline has no step {name!r}; its steps: {', '.join(self.steps)}."
            )
        return name


def pipeline_of(settings: Settings) -> Pipeline:
    """The project's pipeline, checked: outputs produced once, no cycle.

    Raises:
        InvalidInput: two steps write the same output, or the steps form a cycle.
    """
    declared = settings.pipeline.steps or default_steps(settings)
    producer: dict[str, str] = {}
    for name, step in declared.items():
        for ref in step.outputs:
            if ref in producer:
                raise InvalidInput(
                    f"Steps {producer[ref]!r} and {name!r} both write {ref}; "
                    "one output has one producer."
                )
            producer[ref] = name
    upstream = {
        name: sorted({producer[ref] for ref in step.inputs if ref in producer})
        for name, step in declared.items()
    }
    order = _run_order(upstream)
    steps = {name: declared[name] for name in order}
    return Pipeline(steps, upstream, producer, default=not settings.pipeline.steps)


def default_steps(settings: Settings) -> dict[str, PipelineStep]:
    """What ``mlcycle train`` then ``mlcycle models promote`` do, as two steps."""
    model = f"model:{settings.model.name}"
    first = settings.registry.environments[0].name
    return {
        "train": PipelineStep(uses="train", outputs=[model]),
        "promote": PipelineStep(uses="promote", inputs=[model], params={"to": first}),
    }


def _run_order(upstream: dict[str, list[str]]) -> list[str]:
    """Steps after all they depend on, declared order kept among equals; a cycle refused."""
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(upstream):
        ready = [s for s in upstream if s not in placed and set(upstream[s]) <= placed]
        if not ready:
            raise InvalidInput(f"The pipeline has a cycle: {_cycle(upstream, placed)}.")
        order.append(ready[0])
        placed.add(ready[0])
    return order


def _cycle(upstream: dict[str, list[str]], placed: set[str]) -> str:
    """One cycle among the unplaced steps, as ``a -> b -> a``."""
    path = [next(s for s in upstream if s not in placed)]
    while True:
        step = next(u for u in upstream[path[-1]] if u not in placed)
        if step in path:
            loop = [*path[path.index(step) :], step]
            return " -> ".join(reversed(loop))  # reads in the direction data flows
        path.append(step)


def sources(pipeline: Pipeline, names: list[str]) -> dict[str, list[str]]:
    """Inputs of ``names`` that no step produces, by step."""
    found: dict[str, list[str]] = {}
    for name in names:
        missing = [r for r in pipeline.steps[name].inputs if r not in pipeline.producer]
        if missing:
            found[name] = missing
    return found


def kind_of(ref: str) -> str:
    return parse_reference(ref)[0]


def value_of(ref: str) -> str:
    return parse_reference(ref)[1]
