"""Model families: named ways of building, logging and loading a model.

A project names its family (``model.family``); the name is looked up among the
built-in families, then among the ``mlcycle.families`` entry points of installed
packages, and what is found must be a :class:`ModelFamily` subclass that solves the
project's task. Every failure on the way (unknown name, a plugin that does not import,
a class of the wrong kind, a family for another task) is one :class:`InvalidInput`
naming the entry, the way Kedro resolves a dataset ``type:``.

A plugin declares, in its own ``pyproject.toml``::

    [project.entry-points."mlcycle.families"]
    my-family = "my_package.family:MyFamily"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from mlcycle.core.errors import InvalidInput

ENTRY_POINT_GROUP = "mlcycle.families"


class ModelFamily(ABC):
    """How one kind of model is built from parameters, logged to MLflow and loaded back.

    The model a family builds follows :class:`mlcycle.models.protocol.Estimator`.
    """

    name: ClassVar[str]
    # The tasks (``mlcycle.core.settings.TASK_NAMES``) this family can solve.
    tasks: ClassVar[frozenset[str]]
    # The parameter giving one fit's thread count, if the family has one: ``mlcycle tune``
    # sets it to ``tune.thread``, as its trials run side by side in several processes.
    thread_param: ClassVar[str | None] = None
    # Modules worth importing before worker processes fork (heavy or compiled ones).
    preload: ClassVar[tuple[str, ...]] = ()

    def __init__(self, task: str | None = None) -> None:
        # The task the family was chosen for (:func:`get_family`): a family serving
        # several tasks from one kind of stored model (``pyfunc``) loads by it.
        self.task = task

    @abstractmethod
    def build(
        self, params: Mapping[str, Any], task: str, types: Mapping[str, str] | None = None
    ) -> Any:
        """An unfitted model; refuses unknown or invalid parameters with one sentence.

        ``types`` are the features' types as the dataset froze them (``text`` for the
        text of a text task; ``numeric``, ``categorical``... for tabular columns).
        """

    @abstractmethod
    def log_model(self, model: Any, name: str, example: Any, workdir: Path) -> Any:
        """Log a fitted model in the active MLflow run; return MLflow's ``ModelInfo``."""

    @abstractmethod
    def load(self, path: Path) -> Any:
        """The model from a local copy of what ``log_model`` stored."""

    def params_of(self, model: Any) -> dict[str, Any]:
        """The parameters a training run records for ``model``."""
        return dict(getattr(model, "params", {}) or {})

    def default_space(self, params: Mapping[str, Any], task: str) -> dict[str, Any]:
        """The search space ``mlcycle tune`` uses when the project file gives none.

        ``params`` are the project's ``model.params``; an empty space means the family has
        no default, and the project file must give ``tune.space``.

        Raises:
            InvalidInput: There is no default for this configuration (say what to write).
        """
        return {}

    def reconcile(self, params: dict[str, Any]) -> dict[str, Any]:
        """A sampled point made consistent where parameters constrain each other.

        A sampler draws each parameter on its own; a family whose parameters depend on
        one another (fastText's ``minn <= maxn``) adjusts the point here, and the trial
        trains and records what this returns.
        """
        return params


def _fasttext() -> type[ModelFamily]:
    from mlcycle.models.fasttext.family import FastTextFamily

    return FastTextFamily


def _sklearn() -> type[ModelFamily]:
    from mlcycle.models.sklearn.family import SklearnFamily

    return SklearnFamily


def _pyfunc() -> type[ModelFamily]:
    from mlcycle.models.imported.family import PyfuncFamily

    return PyfuncFamily


# Imported on demand: naming a family must not import every library.
BUILT_IN: dict[str, Callable[[], type[ModelFamily]]] = {
    "fasttext": _fasttext,
    "sklearn": _sklearn,
    "pyfunc": _pyfunc,
}


def family_class(name: str) -> type[ModelFamily]:
    """The family called ``name``: built in, else from an installed plugin."""
    factory = BUILT_IN.get(name)
    if factory is not None:
        return factory()
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = sorted({*BUILT_IN, *metadata.entry_points(group=ENTRY_POINT_GROUP).names})
        raise InvalidInput(
            f"Unknown model family {name!r} in model.family; known: {', '.join(known)} "
            f"(a plugin registers one under the {ENTRY_POINT_GROUP!r} entry points)."
        )
    return _plugin(found[0])


def _plugin(entry: metadata.EntryPoint) -> type[ModelFamily]:
    try:
        loaded = entry.load()
    except ImportError as exc:
        package = (exc.name or entry.value).split(".")[0]
        raise InvalidInput(
            f"Model family {entry.name!r} ({entry.value}) failed to import ({exc}); install "
            f"its package: pip install {package}."
        ) from None
    if not (isinstance(loaded, type) and issubclass(loaded, ModelFamily)):
        raise InvalidInput(
            f"Model family {entry.name!r} points at {entry.value}, which is not a "
            "subclass of mlcycle.models.families.ModelFamily."
        )
    return loaded


def get_family(name: str, task: str) -> ModelFamily:
    """The family ``name``, checked to solve ``task``."""
    family = family_class(name)(task)
    if task not in family.tasks:
        raise InvalidInput(
            f"Model family {name!r} does not solve the task {task!r} (it solves "
            f"{', '.join(sorted(family.tasks))}); pick another model.family or model.task."
        )
    return family
