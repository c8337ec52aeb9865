"""Retraining a model trained by the user's own code: run their MLproject, import the result.

``model.retrain`` in the project file names an MLproject folder, an entry point and its
parameters. The training set (the latest dataset version plus feedback) is written as
CSV under the project home and its path replaces ``{data}`` in the parameters; the
entry point runs with ``mlflow run`` in the current environment (no new virtual
environment: the user's code runs with what is installed here), in the project's
experiment. The model that run logged is imported as the next version of the model
(:func:`mlcycle.registry.imports.import_model`), with the dataset version as lineage;
the retrain then promotes it through the gates like any other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput, ModelError
from mlcycle.core.private import private_dirs
from mlcycle.core.settings import ProjectRetrain, Settings, project_source
from mlcycle.core.tracking import ensure_experiment, use_tracking
from mlcycle.train.pipeline import Reporter, TrainResult

DATA_PLACEHOLDER = "{data}"


def retrain_project(settings: Settings, dataset: str, reporter: Reporter) -> TrainResult:
    """Run ``model.retrain`` on dataset version ``dataset``; import what it logged.

    Raises:
        InvalidInput: The project file names no MLproject, or one that is not there.
        ModelError: The entry point failed, or logged no model.
    """
    project = _project(settings)
    folder = project_folder(project.project)
    use_tracking(settings)
    data = export_dataset(dataset, settings)
    parameters = {
        k: str(v).replace(DATA_PLACEHOLDER, str(data)) for k, v in project.parameters.items()
    }
    reporter.step(f"Running {folder} entry point {project.entry_point!r} (mlflow run, here)")
    run_id = run_entry_point(folder, project.entry_point, parameters, settings)
    reporter.step(f"Importing the model run {run_id} logged")
    return import_logged(run_id, dataset, parameters, settings)


def _project(settings: Settings) -> ProjectRetrain:
    if settings.model.retrain is None:
        raise InvalidInput(
            f"Model {settings.model.name!r} is trained by your own code (family pyfunc) and "
            "the project file says no model.retrain: name the MLproject that retrains it "
            "(model: {retrain: {project: FOLDER, entry_point: main}})."
        )
    return settings.model.retrain


def project_folder(path: str) -> Path:
    """The MLproject folder: as given when absolute, else beside the project file."""
    folder = Path(path)
    if not folder.is_absolute():
        folder = project_source().resolve().parent / folder
    if not (folder / "MLproject").is_file():
        raise InvalidInput(
            f"model.retrain.project is {path!r}, and {folder} holds no MLproject file; "
            "fix the path (relative paths start at the project file's folder)."
        )
    return folder


def export_dataset(ref: str, settings: Settings) -> Path:
    """The rows of dataset version ``ref`` as a CSV file under the project home."""
    from mlcycle.data.store import resolve, training_frame

    version = resolve(ref, settings)
    folder = private_dirs(settings.home / "retrain")
    path = folder / f"{version.name}-{version.version}.csv"
    if not path.exists():  # a version never changes: written once
        partial = path.with_name(f".{path.name}.tmp")
        training_frame(version, None, settings).to_csv(partial, index=False)
        partial.replace(path)
    return path


def run_entry_point(
    folder: Path, entry_point: str, parameters: dict[str, str], settings: Settings
) -> str:
    """``mlflow run`` the entry point in this environment; the run's id."""
    import mlflow.projects
    from mlflow.exceptions import ExecutionException

    experiment = ensure_experiment(settings.experiment_name, settings)
    try:
        with _output_on_stderr():
            submitted = mlflow.projects.run(
                str(folder), entry_point=entry_point, parameters=parameters,
                experiment_id=experiment, env_manager="local", synchronous=True,
            )  # fmt: skip
    except ExecutionException as exc:
        raise ModelError(
            f"The MLproject entry point {entry_point!r} in {folder} failed ({exc}); run it "
            f"yourself to see why: mlflow run {folder} -e {entry_point} --env-manager local."
        ) from None
    return str(submitted.run_id)


@contextmanager
def _output_on_stderr() -> Iterator[None]:
    """The entry point's output goes to stderr: stdout stays ours (``retrain --json``)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def import_logged(
    run_id: str, dataset: str, parameters: dict[str, str], settings: Settings
) -> TrainResult:
    """Import the model run ``run_id`` logged as the next version, with its lineage."""
    import mlflow

    from mlcycle.registry.imports import import_model

    uri = logged_model_uri(run_id)
    imported = import_model(
        uri, settings.model.name, settings.model.task, settings=settings, trained_on=dataset
    )
    run = mlflow.get_run(run_id)
    return TrainResult(
        run_id, uri, imported.name, imported.version, dict(run.data.metrics), dict(parameters)
    )


def logged_model_uri(run_id: str) -> str:
    """``models:/<id>`` of the model the run logged (the last, if it logged several)."""
    import mlflow

    run = mlflow.get_run(run_id)
    found: list[Any] = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        output_format="list",
    )
    if not found:
        raise ModelError(
            f"The MLproject run {run_id} logged no model; log one in the entry point "
            "(mlflow.sklearn.log_model(model, name='model', input_example=...))."
        )
    latest = max(found, key=lambda model: model.creation_timestamp)
    return f"models:/{latest.model_id}"
