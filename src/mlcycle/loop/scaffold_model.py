"""``mlcycle init --from-model``: a project around an MLflow model trained elsewhere.

The model is found where ``mlcycle models import`` finds it (the tracking store of
``MLFLOW_TRACKING_URI`` or the current project), its task read from its signature
unless ``--task`` says it, and its files copied into the project's ``model/`` folder,
so the project's README and tests register it (``mlcycle models import model``) on any
clone, with no access to the store it came from. The data file gives the sample the
tests run on; its features are the model's input columns.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import TASK_NAMES, get_settings
from mlcycle.core.tracking import no_progress_bar, use_tracking
from mlcycle.loop.scaffold_data import TEXT_TASK, DataPlan, plan_file
from mlcycle.registry.imports import infer_task, model_signature, model_source

if TYPE_CHECKING:
    from mlcycle.loop.scaffold import Answers

Copy = Callable[[Path], None]


def plan_model(answers: Answers) -> tuple[str, DataPlan, Copy]:
    """The task, the data plan and how to copy the model of ``answers.from_model``.

    Raises:
        NotFound: The URI resolves to no model.
        InvalidInput: The task cannot be told (``--task``), or no data file is given.
    """
    uri = str(answers.from_model)
    use_tracking(get_settings())
    source = model_source(uri)
    signature = model_signature(source, uri)
    task = answers.task or infer_task(signature, uri)
    if task not in TASK_NAMES:
        raise InvalidInput(f"Unknown task {task!r}; the tasks are {', '.join(TASK_NAMES)}.")
    if answers.data is None:
        raise InvalidInput(
            "--from-model needs --data FILE: rows with the model's input columns and the "
            "target, for the project's sample and tests."
        )
    inputs = _input_names(signature)
    if task == TEXT_TASK:
        text = answers.text or (inputs[0] if inputs and len(inputs) == 1 else None)
        plan = plan_file(answers.data, task, answers.target, text)
    else:
        plan = plan_file(answers.data, task, answers.target, None, only=inputs)
    return task, plan, lambda folder: copy_model(source, folder)


def _input_names(signature: Any) -> list[str] | None:
    if signature is None or signature.inputs is None or not signature.inputs.has_input_names():
        return None
    return [str(name) for name in signature.inputs.input_names()]


def copy_model(source: str, folder: Path) -> None:
    """The model's files (an MLflow URI or a local folder) copied into ``folder``."""
    if Path(source).is_absolute() and (Path(source) / "MLmodel").is_file():
        shutil.copytree(source, folder, dirs_exist_ok=True)
        return
    import mlflow

    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch, no_progress_bar():
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=scratch))
        shutil.copytree(local, folder, dirs_exist_ok=True)
