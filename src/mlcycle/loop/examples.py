"""The example projects mlcycle ships, which ``mlcycle demo --example NAME`` runs.

Each is a project file (the repository's ``examples/NAME/mlcycle.yaml``, shipped in the
package) and a way to get its data without a download: the default project (the
flagship text classifier) has its task's synthetic set; the tabular examples have data
made from what scikit-learn bundles (:mod:`mlcycle.data.examples`).

For the demo's drift, a tabular example names a column: the rows with its highest
values (the top ``DRIFT_SHARE``) are kept out of the first dataset and arrive later as
production traffic, so the model meets inputs unlike any it was trained on, with true
targets to send as feedback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, default_project, get_settings, project_source
from mlcycle.core.settings.root import PROJECT_FILE_ENV

DRIFT_SHARE = 0.3


@dataclass(frozen=True)
class Example:
    """One shipped example project."""

    name: str
    project: Path  # its project file, as shipped in the package
    drift_column: str | None = None  # tabular: its highest values arrive as drift
    drift: str = ""  # what the drifted traffic is, in a few words


def _packaged(name: str) -> Path:
    return Path(str(resources.files("mlcycle").joinpath(f"loop/projects/{name}.yaml")))


TABULAR = {
    "diabetes": Example(
        "diabetes", _packaged("diabetes"), "bmi",
        "patients with a higher body-mass index than any the model was trained on",
    ),
    "quality": Example(
        "quality", _packaged("quality"), "alcohol",
        "stronger wines than any the model was trained on",
    ),
}  # fmt: skip


def flagship() -> Example:
    """The default project: an example too, under its model's name."""
    path = default_project()
    name = yaml.safe_load(path.read_text())["model"]["name"]
    return Example(name, path, None, "new vocabulary and another mix of classes")


def examples() -> dict[str, Example]:
    """Every shipped example by name."""
    first = flagship()
    return {first.name: first, **TABULAR}


def example(name: str) -> Example:
    """The example called ``name``, or one clear ``InvalidInput`` listing them."""
    found = examples()
    if name not in found:
        raise InvalidInput(f"There is no example {name!r}; the examples are {', '.join(found)}.")
    return found[name]


def current_example(settings: Settings) -> Example:
    """The project in effect as the demo's example: it must have a synthetic set (as
    the default project has), since the demo makes its data.

    Raises:
        InvalidInput: The project has neither; the demo needs ``--example``.
    """
    from mlcycle.tasks import task_of

    if task_of(settings).has_synthetic:
        return Example(settings.model.name, project_source(), None, flagship().drift)
    raise InvalidInput(
        f"The demo makes its data, and this project ({settings.model.name}, "
        f"{settings.model.task}) has no synthetic set; run an example instead: mlcycle demo "
        f"--example {' or '.join(TABULAR)}."
    )


def use_example(chosen: Example) -> None:
    """Make ``chosen``'s project file the project of this process and its children (the
    demo's server)."""
    os.environ[PROJECT_FILE_ENV] = str(chosen.project)
    get_settings.cache_clear()
