"""``mlcycle models import``: register a model trained by the user's own code.

Any MLflow model URI is taken: ``runs:/<run id>/model``, ``models:/<model id>``,
``models:/NAME/VERSION`` or ``@ALIAS`` of another registered model, or a local folder
holding an ``MLmodel`` file (copied into a run of the project's experiment first, so the
registry never points at a folder that may change). The version is registered through
:func:`mlcycle.registry.ops.register` (which records its integrity manifest) and tagged
with its task and the ``pyfunc`` family, so the gates, serving, the prediction log,
monitoring and feedback treat it as any other version.

The task is read from the signature where it can be: one string column in and a string
out is text classification, typed columns in and a string out classification, a
floating-point number out regression. Anything else (integer outputs, which may be class
ids; tensors; no signature) is ambiguous, and ``--task`` says it.

The quality, champion, behaviour and latency gates judge a version on a frozen holdout.
mlcycle did not train this model, so it cannot draw one from its training data:
``--holdout NAME@V`` names a dataset version of rows the model never saw, which becomes
the holdout of dataset NAME (once: a dataset that has one keeps it) and the one the
version is judged on. Without it, the version is judged on the holdout its model's
previous version was judged on, if any.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import mlcycle
from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.settings import TASK_NAMES, Settings, get_settings
from mlcycle.core.tracking import ensure_experiment, no_progress_bar, raise_refusal, use_tracking
from mlcycle.data.holdout import Holdout, freeze_holdout
from mlcycle.registry.holdouts import inherited_tags, judging_holdout
from mlcycle.registry.loading import FAMILY_TAG, TASK_TAG
from mlcycle.registry.ops import VersionInfo, list_versions, register

FAMILY = "pyfunc"
IMPORTED_TAG = "mlcycle.imported_from"
DATASET_TAG = "mlcycle.dataset_ref"  # what monitoring reads as the training data
TEXT_TASK = "text-classification"
_RUN_URI = re.compile(r"^runs:/(?P<run>[^/]+)(?:/.*)?$")
_REGISTERED = re.compile(r"^models:/(?P<name>[^@/]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ImportResult:
    """The version an import registered, and how its task and holdout were settled."""

    name: str
    version: str
    task: str
    inferred: bool  # the task was read from the signature (not given with --task)
    source: str  # the URI as given
    run_id: str | None
    described: bool  # the project file describes this model (model.name)
    holdout: str | None  # the dataset version frozen as holdout by this import
    has_holdout: bool  # the version names a frozen holdout to be judged on
    judged_on: dict[str, Any] | None = None  # that holdout (dataset, version, rows...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_model(
    model_uri: str,
    name: str | None = None,
    task: str | None = None,
    holdout: str | None = None,
    settings: Settings | None = None,
    tags: dict[str, str] | None = None,
    trained_on: str | None = None,
) -> ImportResult:
    """Register the MLflow model at ``model_uri`` as the next version of ``name``.

    ``trained_on`` names the dataset version the model learnt from, when it is stored:
    its lineage, and the reference monitoring compares production inputs with.

    Raises:
        NotFound: No model at the URI (a run that does not exist, a missing folder).
        InvalidInput: The task cannot be told, or disagrees with the project file.
    """
    settings = settings or get_settings()
    name = name or settings.model.name
    use_tracking(settings)
    source = model_source(model_uri)
    inferred = task is None
    task = task or infer_task(model_signature(source, model_uri), model_uri)
    described = name == settings.model.name
    _check_task(task, inferred, name, model_uri, settings, described)
    rows = _holdout_rows(holdout, task, described, settings) if holdout else None
    holdout = rows[1] if rows is not None else None  # NAME@V, its version resolved
    lineage = _lineage(trained_on, settings) if trained_on else {}
    # Only now, with everything checked, is anything written.
    stored = _copy_folder(Path(source), settings) if _is_folder(source) else source
    version = register(stored, name, tags={**_tags(task, model_uri), **lineage, **(tags or {})})
    judged, frozen = _judged_on(version, rows, settings)
    return ImportResult(
        name, version.version, task, inferred, model_uri, version.run_id, described,
        holdout if frozen else None, judged is not None,
        judged.summary() if judged is not None else None,
    )  # fmt: skip


def _judged_on(
    version: VersionInfo, rows: tuple[Any, str, str] | None, settings: Settings
) -> tuple[Holdout | None, bool]:
    """Tag the version with the holdout it is judged on: the rows of ``--holdout`` frozen
    as their dataset's holdout (unless it has one), else its model's previous version's.
    Returns that holdout and whether these rows were frozen now."""
    from mlflow import MlflowClient

    if rows is not None:
        frame, ref, dataset = rows
        held, frozen = freeze_holdout(dataset, frame, settings, source=ref)
        tags = held.tags()
    else:
        frozen, tags = False, inherited_tags(list_versions(version.name), version.version)
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)
    tagged = replace(version, tags={**version.tags, **tags})
    return judging_holdout(tagged, settings).holdout if tags else None, frozen


def _tags(task: str, model_uri: str) -> dict[str, str]:
    return {
        TASK_TAG: task,
        FAMILY_TAG: FAMILY,
        IMPORTED_TAG: model_uri[:4000],
        "mlcycle.version": mlcycle.__version__,
    }


def _lineage(ref: str, settings: Settings) -> dict[str, str]:
    """The version tags naming a stored dataset version as the training data."""
    from mlcycle.data.store import DatasetRef, resolve

    version = resolve(DatasetRef.parse(ref), settings)
    return {DATASET_TAG: version.ref, "mlcycle.dataset_name": version.name,
            "mlcycle.dataset_digest": version.digest}  # fmt: skip


def model_source(model_uri: str) -> str:
    """Where the model is: the URI given, the source of a registered version, or the
    local folder (a ``file://`` URI as a path). Nothing is written.

    Raises:
        NotFound: A run, registered version or folder that does not exist.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    if run := _RUN_URI.match(model_uri):
        try:
            client.get_run(run["run"])
        except MlflowException as exc:
            raise_refusal(exc)
            raise NotFound(
                f"There is no run {run['run']} in the tracking store {client.tracking_uri}; "
                "check the run id (mlflow ui lists the runs) or point MLFLOW_TRACKING_URI at "
                "its store."
            ) from None
        return model_uri
    if registered := _REGISTERED.match(model_uri):
        return _registered_source(client, registered)
    if "://" in model_uri.removeprefix("file://") or model_uri.startswith("models:/"):
        return model_uri
    folder = Path(model_uri.removeprefix("file://"))
    if not (folder / "MLmodel").is_file():
        raise NotFound(
            f"{folder} holds no MLflow model (no MLmodel file); give a model URI "
            "(runs:/<run id>/model, models:/...) or the folder mlflow saved the model in."
        )
    return str(folder.resolve())


def _is_folder(source: str) -> bool:
    return Path(source).is_absolute() and (Path(source) / "MLmodel").is_file()


def _registered_source(client: Any, ref: re.Match[str]) -> str:
    """Where a version of another registered model is stored (so the new one points there
    too, not at a version that may be deleted)."""
    from mlflow.exceptions import MlflowException

    name, alias, version = ref["name"], ref["alias"], ref["version"]
    try:
        found = (
            client.get_model_version_by_alias(name, alias)
            if alias
            else client.get_model_version(name, version)
        )
    except MlflowException as exc:
        raise_refusal(exc)
        what = f"alias {alias!r}" if alias else f"version {version}"
        raise NotFound(
            f"There is no registered model {name!r} with {what}; see mlcycle models list {name}."
        ) from None
    return str(found.source)


def _copy_folder(folder: Path, settings: Settings) -> str:
    """Log a local model folder as the artifacts of a new run; its ``runs:/`` URI (the
    registry must not point at a folder that may change or go)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = ensure_experiment(settings.experiment_name, settings)
    run = client.create_run(experiment, run_name=f"import {folder.name}")
    client.log_artifacts(run.info.run_id, str(folder), "model")
    client.set_terminated(run.info.run_id)
    return f"runs:/{run.info.run_id}/model"


def model_signature(source: str, shown: str) -> Any:
    """The signature of the MLflow model at ``source`` (None when logged without one).

    Raises:
        NotFound: there is no model there (``shown`` names it for the user).
    """
    import mlflow

    try:
        with no_progress_bar():
            return mlflow.models.get_model_info(source).signature
    except Exception as exc:  # MLflow says "not found" many ways: one sentence for all
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotFound(f"There is no MLflow model at {shown} ({first}).") from None


def infer_task(signature: Any, shown: str = "the model") -> str:
    """The task a signature tells, or one clear ``InvalidInput`` asking for ``--task``."""
    why = _ambiguity(signature)
    if why is None:
        inputs = [_type(spec) for spec in signature.inputs.inputs]
        output = _type(signature.outputs.inputs[0])
        if output == "string":
            return TEXT_TASK if inputs == ["string"] else "classification"
        return "regression"
    raise InvalidInput(
        f"The task of {shown} cannot be told from its signature ({why}); say it with "
        f"--task {'|'.join(TASK_NAMES)}."
    )


def _ambiguity(signature: Any) -> str | None:
    """Why a signature does not tell the task, or None when it does."""
    if signature is None or signature.inputs is None or signature.outputs is None:
        return "it was logged without an input and output signature"
    if not signature.inputs.has_input_names() or signature.inputs.is_tensor_spec():
        return "its inputs are not named columns"
    outputs = signature.outputs
    if outputs.is_tensor_spec() or len(outputs.inputs) != 1:
        return "it does not answer one value per row"
    output = _type(outputs.inputs[0])
    if output == "string" or output in ("double", "float"):
        return None
    return f"it answers {output} values, which may be classes or numbers"


def _type(spec: Any) -> str:
    """A column's type name (``string``, ``double``...); arrays and objects by their text."""
    return str(getattr(spec.type, "name", spec.type))


def _check_task(
    task: str, inferred: bool, name: str, shown: str, settings: Settings, described: bool
) -> None:
    if task not in TASK_NAMES:
        raise InvalidInput(f"--task {task!r} is not a task; use one of {', '.join(TASK_NAMES)}.")
    if described and settings.model.task != task:
        how = "looks like" if inferred else "was given as"
        raise InvalidInput(
            f"The project file says {name} solves {settings.model.task}, but {shown} {how} "
            f"{task}; fix model.task in the project file, --task, or import under another --name."
        )


def _holdout_rows(ref: str, task: str, described: bool, settings: Settings) -> tuple[Any, str, str]:
    """The rows of dataset version ``ref`` as the project's task reads them, the
    version's ``NAME@V`` and its dataset's name."""
    from mlcycle.data.store import DatasetRef, resolve, training_frame
    from mlcycle.tasks import task_class

    if not described:
        raise InvalidInput(
            f"--holdout needs the project file to describe the model (model.name is "
            f"{settings.model.name!r}), so its columns are read right; import under that "
            "name or point MLCYCLE_PROJECT at the model's project file."
        )
    version = resolve(DatasetRef.parse(ref), settings)
    frame = training_frame(version, task_class(task)(settings).columns(), settings)
    return frame, version.ref, version.name
