"""``mlcycle init``: a project a team can push as is, rendered from a packaged template.

The template (``loop/templates/project``, a copier template) holds every file's text;
this module only decides the answers: the task, the model's name, the columns and
types read from the data (:mod:`~mlcycle.loop.scaffold_data`), the sample the tests
run on and the behaviour cases. Then it writes the sample, copies the wrapped model
(``--from-model``, :mod:`~mlcycle.loop.scaffold_model`), checks that the project file
loads without a warning, and renders the deploy overlays with mlcycle's own renderer.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

import mlcycle
from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import (
    TASK_NAMES,
    Settings,
    behaviour_cases,
    default_project,
    get_settings,
    load_settings,
)
from mlcycle.core.settings.root import PROJECT_FILE_ENV
from mlcycle.data.examples import example_frame
from mlcycle.data.writers import write_dataset
from mlcycle.loop.scaffold_data import (
    TEXT_CLASS_ROWS,
    TEXT_TASK,
    DataPlan,
    plan_file,
    plan_table,
)

SAMPLE = Path("tests/data/sample.csv")
ENVIRONMENTS = ("dev", "staging", "prod")
TEXT_EXAMPLE_ROWS = 20000
# Tabular tasks without data start from a shipped example's data.
EXAMPLE_DATA = {"classification": "quality", "regression": "diabetes"}
PARAMS: dict[str, dict[str, Any]] = {
    # fastText's advice for data of a few thousand rows: a high rate, more epochs.
    TEXT_TASK: {"dim": 100, "lr": 0.5, "epoch": 40, "wordNgrams": 2, "minn": 3, "maxn": 4,
                "minCount": 2, "bucket": 100000, "thread": 0, "loss": "ova"},
    "classification": {"estimator": "sklearn.ensemble.RandomForestClassifier",
                       "n_estimators": 100, "random_state": 0},
    "regression": {"estimator": "sklearn.ensemble.RandomForestRegressor",
                   "n_estimators": 100, "random_state": 0},
}  # fmt: skip
# Gates in the spirit of the examples: floors that say "learnt something", the champion
# compared on the headline metrics, a latency budget for one request.
GATES: dict[str, dict[str, Any]] = {
    TEXT_TASK: {"minimums": {"accuracy_top1": 0.5, "f1_macro": 0.3},
                "champion": ["accuracy_top1", "f1_macro"], "margin": 0.01, "p99_ms": 50},
    "classification": {"minimums": {"accuracy": 0.7, "f1_macro": 0.6},
                       "champion": ["accuracy", "f1_macro"], "margin": 0.02, "p99_ms": 100},
    "regression": {"minimums": {"r2": 0.1}, "champion": ["r2"], "margin": 0.03,
                   "p99_ms": 100},
}  # fmt: skip
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Answers:
    """What ``mlcycle init`` is told (every flag; None: read or default)."""

    task: str | None = None
    data: Path | None = None
    name: str | None = None
    target: str | None = None
    text: str | None = None
    from_model: str | None = None
    force: bool = False


@dataclass
class InitResult:
    """The project written: where, which model, how many sample rows, which files."""

    folder: Path
    name: str
    task: str
    source: str
    sample_rows: int
    from_model: str | None = None
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "folder": str(self.folder)}


def template() -> Path:
    """The packaged copier template of a project."""
    return Path(str(resources.files("mlcycle.loop").joinpath("templates/project")))


def init_project(folder: Path, answers: Answers) -> InitResult:
    """Write a new project into ``folder`` (empty, or any folder with ``force``).

    Raises:
        InvalidInput: A non-empty folder, an unknown or missing task, a target or text
            column not given or not in the data, a bad name.
        NotFound, DataError: The data file or the model cannot be found or read.
    """
    folder = Path(folder)
    _check_folder(folder, answers.force)
    name = _name(answers.name, folder)
    if answers.from_model:
        from mlcycle.loop.scaffold_model import plan_model

        task, plan, copy_model = plan_model(answers)
    else:
        task = _task(answers.task)
        plan, copy_model = _plan(task, answers), None
    _render(folder, _context(name, task, plan, answers.from_model))
    write_dataset(plan.sample, folder / SAMPLE)
    if copy_model is not None:
        copy_model(folder / "model")
    _render_deploy(folder)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return InitResult(folder, name, task, plan.source, len(plan.sample), answers.from_model, files)


def _check_folder(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file; give a folder for the new project.")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise InvalidInput(
            f"{folder} is not empty; init a project into a new or empty folder, or pass "
            "--force to write over the files there."
        )


def _name(given: str | None, folder: Path) -> str:
    name = given or _NOT_NAME.sub("-", folder.resolve().name).strip("-._").lower() or "model"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
        raise InvalidInput(
            f"--name {name!r} cannot name a model; use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def _task(task: str | None) -> str:
    if task is None:
        raise InvalidInput(f"Say what the model does with --task {'|'.join(TASK_NAMES)}.")
    if task not in TASK_NAMES:
        raise InvalidInput(f"Unknown task {task!r}; the tasks are {', '.join(TASK_NAMES)}.")
    return task


def _plan(task: str, answers: Answers) -> DataPlan:
    if answers.data is not None:
        return plan_file(answers.data, task, answers.target, answers.text)
    if task == TEXT_TASK:
        return _text_example()
    example = EXAMPLE_DATA[task]
    table = pa.Table.from_pandas(example_frame(example), preserve_index=False)
    shown = f"the {example} example data (mlcycle data example {example})"
    return plan_table(table, task, answers.target or _example_target(example), None, shown)


def _example_target(example: str) -> str:
    from mlcycle.loop.examples import TABULAR

    project = yaml.safe_load(TABULAR[example].project.read_text(encoding="utf-8"))
    return str(project["data"]["target"])


def _text_example() -> DataPlan:
    """The packaged text example's data settings, curated cases and synthetic rows of
    the labels those cases expect."""
    from mlcycle.tasks import task_of

    with using_project(default_project()):
        settings = load_settings()
        cases = behaviour_cases(settings)
    assert isinstance(cases, dict)  # a text task's cases: text -> label
    frame = task_of(settings).synthetic(TEXT_EXAMPLE_ROWS, seed=17)
    assert frame is not None
    target, text = settings.data.target, settings.data.text_feature()
    frame = frame[frame[target].isin(set(cases.values()))][[text, target]]
    sample = frame.groupby(target).head(TEXT_CLASS_ROWS).sort_index()
    extra = {"nomenclature": settings.data.nomenclature,
             "normalise_labels": settings.data.normalise_labels}  # fmt: skip
    listed = [{"text": t, "expect": label} for t, label in cases.items()]
    return DataPlan(sample, target, [text], {}, listed, "generated data", extra=extra)


def _context(name: str, task: str, plan: DataPlan, from_model: str | None) -> dict[str, Any]:
    """Every answer of the template's questions."""
    return {
        "name": name, "task": task, "target": plan.target,
        "text": plan.features[0] if task == TEXT_TASK else "text",
        "family": "pyfunc" if from_model else _family(task),
        "params": {} if from_model else PARAMS[task],
        "features": plan.features, "types": plan.types, "left_out": plan.left_out,
        "data_extra": {k: v for k, v in plan.extra.items() if v is not None},
        "gates": {**GATES[task], **_behaviour_columns(task, plan)},
        "cases": plan.cases, "source": plan.source, "sample_rows": len(plan.sample),
        "from_model": from_model or "", "mlcycle_version": mlcycle.__version__,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
    }  # fmt: skip


def _family(task: str) -> str:
    return "fasttext" if task == TEXT_TASK else "sklearn"


def _behaviour_columns(task: str, plan: DataPlan) -> dict[str, Any]:
    """Columns the commented invariance and direction examples name."""
    if task == TEXT_TASK:
        return {}
    numeric = [name for name, kind in plan.types.items() if kind == "numeric"]
    categorical = [name for name, kind in plan.types.items() if kind == "categorical"]
    first_class = plan.cases[0].get("expect") if plan.cases else None
    return {
        "invariance_column": (categorical or plan.features)[0],
        "direction_column": numeric[0] if numeric else None,
        "direction_target": "target" if task == "regression" else first_class,
    }


def _render(folder: Path, context: dict[str, Any]) -> None:
    from copier import run_copy

    run_copy(
        str(template()), str(folder), data=context, defaults=True, overwrite=True,
        quiet=True, unsafe=False, skip_tasks=True,
    )  # fmt: skip


def _render_deploy(folder: Path) -> None:
    """Load the new project file (a warning is an error: the file must be clean) and
    render its overlays into ``deploy/``."""
    from mlcycle.deploy import render

    with using_project(folder / "mlcycle.yaml"), warnings.catch_warnings():
        warnings.simplefilter("error")
        settings: Settings = load_settings()
        render(settings, ENVIRONMENTS, folder / settings.deploy.path)


@contextmanager
def using_project(path: Path) -> Iterator[None]:
    """Settings read from ``path`` for the block; the project in effect before after."""
    before = os.environ.get(PROJECT_FILE_ENV)
    os.environ[PROJECT_FILE_ENV] = str(Path(path).resolve())
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROJECT_FILE_ENV, None)
        else:
            os.environ[PROJECT_FILE_ENV] = before
        get_settings.cache_clear()
