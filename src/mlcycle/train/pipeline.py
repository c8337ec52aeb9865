"""The training pipeline: data -> split -> fit -> evaluate -> log to MLflow -> register.

``train_model`` is what ``mlcycle train`` and ``mlflow run .`` call; tests call it too.
The project's task says how to split and evaluate, its model family how to build, log
and load the model; this module only strings the steps together.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

import mlcycle
from mlcycle.core.errors import DataError
from mlcycle.core.gitinfo import git_state
from mlcycle.core.private import private_dirs
from mlcycle.core.settings import CalibrationSettings, Settings, get_settings
from mlcycle.core.tracking import USER_TAG, acting_user, ensure_experiment, use_tracking
from mlcycle.data.holdout import Holdout, ensure_holdout, is_held_out
from mlcycle.data.leakage import input_keys, separate_duplicates
from mlcycle.data.store import find_training_dataset, read_metadata, training_frame
from mlcycle.data.writers import write_dataset
from mlcycle.models.calibration import Calibratable, Calibration
from mlcycle.models.families import ModelFamily, get_family
from mlcycle.tasks import LABEL, Evaluation, Task, task_of
from mlcycle.train import calibrate as calibration_step

SYNTHETIC = "synthetic"
SYNTHETIC_ROWS = 30_000
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_uri: str
    name: str
    version: str | None
    metrics: dict[str, float]
    params: dict[str, Any]
    # What it was trained on (name, version, rows, why) and the holdout it left out.
    data: dict[str, Any] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reporter:
    """Receives progress: a step name, then fractions of the fit in 0..1."""

    step: Callable[[str], None] = lambda message: None
    fit_progress: Callable[[float], None] = lambda fraction: None


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame  # the canonical layout: feature columns and ``label``
    source: str
    name: str
    digest: str = field(default="")
    version: int | None = None  # set when the data is a stored dataset version
    uri: str | None = None  # where that version's snapshot is stored
    dropped: int = 0  # invalid rows of a file left out (a dataset version has none)
    # feature -> type, as the data was checked (``text`` for the text of a text task).
    types: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # why this data, when the user did not name it

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}" if self.version is not None else self.name

    @property
    def lineage(self) -> str:
        """The dataset its frozen holdout belongs to: a stored dataset's name, or the
        data file's name (made safe as a name)."""
        if self.version is not None:
            return self.name
        return _NOT_IN_A_NAME.sub("-", self.name).strip("-") or "data"

    @property
    def origin(self) -> str:
        """Where the rows come from, short: ``sirene@2``, or a file's name."""
        return self.ref if self.version is not None else Path(self.source).name

    def describe(self) -> str:
        """What a run trains on, in a few words."""
        what = f"dataset {self.ref}" if self.version is not None else self.source
        left = f", {self.dropped:,} invalid rows left out" if self.dropped else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{what} ({len(self.frame):,} rows{left}){why}"

    def summary(self) -> dict[str, Any]:
        """Name, version, rows and why, for a training's result."""
        return {
            "name": self.name, "version": self.version, "rows": len(self.frame),
            "source": self.source, "reason": self.reason,
        }  # fmt: skip


def load_training_data(data: str | None, settings: Settings) -> TrainingData:
    """A dataset version (``NAME@V``), a file path, or ``synthetic``: the generated set.

    By default, the latest version of the project's dataset: the one ``data.dataset``
    names, else the dataset added last; with none added, the task's synthetic set
    where it has one. ``reason`` then says which rule chose the data.
    """
    task = task_of(settings)
    version = find_training_dataset(data, settings)
    if version is not None:
        frame = training_frame(version, task.columns(), settings)
        types = read_metadata(version, settings).get("feature_types") or {"text": "text"}
        return TrainingData(
            frame, version.source, version.name, version.digest, version.version, version.uri(),
            types=types, reason="" if data else _default_reason(settings),
        )  # fmt: skip
    if data not in (None, "", SYNTHETIC):
        return read_training_file(Path(data), settings, task)
    path = synthetic_file(settings, task, explicit=bool(data))
    why = "" if data else "the generated set: no dataset was added (mlcycle data add FILE --name N)"
    return replace(read_training_file(path, settings, task), reason=why)


def _default_reason(settings: Settings) -> str:
    if settings.data.dataset:
        return "the dataset data.dataset names in the project file"
    return "the latest dataset added (data.dataset in the project file picks another)"


def read_training_file(path: Path, settings: Settings, task: Task) -> TrainingData:
    """A data file checked as ``data add`` checks it; its bad rows are left out."""
    from mlcycle.data.readers import read_raw
    from mlcycle.data.shape import check_file
    from mlcycle.data.snapshot import table_digest

    checked = check_file(read_raw(path), settings, "drop", str(path))
    frame = checked.table.to_pandas()
    columns = task.columns()
    frame = frame[columns] if columns is not None else frame
    return TrainingData(
        frame, str(path.resolve()), path.stem, table_digest(checked.table),
        dropped=checked.validated.bad.num_rows, types=checked.types,
    )  # fmt: skip


def synthetic_file(
    settings: Settings, task: Task, rows: int = SYNTHETIC_ROWS, explicit: bool = True
) -> Path:
    """The task's synthetic set, written once under the project home and reused.

    Raises:
        NotFound: The project's task has no synthetic set and no dataset was added.
    """
    from mlcycle.core.errors import NotFound

    frame = task.synthetic(rows, settings.train.seed) if task.has_synthetic else None
    if frame is None:
        hint = "" if explicit else " and no dataset was added"
        raise NotFound(
            f"The {task.name} task of this project has no synthetic set{hint}; add your data "
            f"with mlcycle data add FILE --name {settings.dataset_name}, or pass --data FILE."
        )
    # The version is in the name: a newer generator must not reuse an older set; so are
    # the columns beyond the text and target, when the project reads some.
    extra = [c for c in frame.columns if c not in (settings.data.text_feature(), task.target)]
    columns = "".join(f"-{c}" for c in extra)
    name = f"synthetic-{mlcycle.__version__}-{rows}-seed{settings.train.seed}{columns}.csv"
    path = settings.home / "data" / name
    if not path.exists():
        private_dirs(path.parent)
        write_dataset(frame, path)
    return path


@dataclass(frozen=True)
class Split:
    """The rows of one data set, with the rows of each part."""

    frame: pd.DataFrame  # canonical layout
    train: np.ndarray  # row indices
    test: np.ndarray
    duplicates_removed: int = 0  # evaluation rows moved to training: their input was there
    held_out: int = 0  # training rows left out: their input is in the frozen holdout
    # Training rows set aside to calibrate the model (``train.calibrate``); None: the run
    # does not calibrate, empty: too few rows for it, and ``calibration_note`` says so.
    calibration: np.ndarray | None = None
    calibration_note: str = ""


@dataclass(frozen=True)
class Fitted:
    model: Any  # follows mlcycle.models.protocol.Estimator
    evaluation: Evaluation
    calibration: Calibration | None = None


def split_data(
    dataset: TrainingData, settings: Settings, task: Task, holdout: Holdout | None = None
) -> Split:
    """The seeded split of a data set (reproducible from data and seed).

    No evaluation input is also a training input, and no input of the frozen promotion
    holdout is trained on.
    """
    frame = dataset.frame
    keys = input_keys(frame, task.text_column, task.target_column)
    train, test = task.split(frame, settings.train.test_size, settings.train.seed)
    if len(test) == 0:
        raise DataError(
            f"No {task.target!r} value has enough rows to set one aside for evaluation "
            f"({len(frame):,} rows, train.test_size {settings.train.test_size}); add more "
            "rows per value or raise train.test_size."
        )
    train, test, moved = separate_duplicates(keys, train, test)
    held = 0
    if holdout is not None:
        excluded = is_held_out(keys[train], holdout.keys(task.text_column, task.target_column))
        train, held = train[~excluded], int(excluded.sum())
    return Split(frame, train, test, moved, held)


def fit_and_evaluate(
    model: Any,
    task: Task,
    split: Split,
    reporter: Reporter | None = None,
    calibration: CalibrationSettings | None = None,
) -> Fitted:
    """Fit on the training rows, calibrate on the split's calibration rows when it has
    them (``calibration`` settings given), score the evaluation rows (no MLflow)."""
    reporter = reporter or Reporter()
    reporter.step(f"Training on {len(split.train):,} rows")
    rows = split.frame.iloc[split.train]
    model.fit(task.inputs(rows), task.truth(rows), reporter.fit_progress)
    fitted = None
    if calibration is not None and split.calibration is not None:
        fitted = _calibrate(model, task, split, calibration, reporter)
    reporter.step(f"Evaluating on {len(split.test):,} rows")
    held = split.frame.iloc[split.test]
    truth = task.truth(held)
    prediction = model.predict(task.inputs(held), k=task.prediction_width(model))
    evaluation = task.evaluate(truth, prediction)
    if fitted is not None:
        evaluation = calibration_step.with_calibration(evaluation, prediction, truth, fitted)
    return Fitted(model, evaluation, fitted)


def _calibrate(
    model: Any, task: Task, split: Split, settings: CalibrationSettings, reporter: Reporter
) -> Calibration:
    if split.calibration is not None and len(split.calibration):
        reporter.step(f"Calibrating on {len(split.calibration):,} held-out training rows")
    calibration = calibration_step.calibrate(model, task, split, settings)
    if calibration.note:
        reporter.step(f"Warning: {calibration.note}")
    return calibration


def start_run(settings: Settings, **kwargs: Any) -> Any:
    """An MLflow run in the project's experiment, or the one ``mlflow run`` opened.

    The run names who trained: the account signed in to a team server, not the login
    of the machine (MLflow's default).
    """
    import mlflow

    kwargs["tags"] = {USER_TAG: acting_user(), **(kwargs.get("tags") or {})}
    if os.environ.get("MLFLOW_RUN_ID"):
        return mlflow.start_run(**kwargs)
    return mlflow.start_run(
        experiment_id=ensure_experiment(settings.experiment_name, settings), **kwargs
    )


def project_family(settings: Settings, task: Task) -> ModelFamily:
    """The project's model family, checked to solve its task."""
    return get_family(settings.model.family or task.default_family, task.name)


def train_model(
    data: str | None = None,
    overrides: dict[str, Any] | None = None,
    register: bool = True,
    settings: Settings | None = None,
    reporter: Reporter | None = None,
) -> TrainResult:
    """Train, evaluate, log and (by default) register a new version of the model."""
    import mlflow

    settings = settings or get_settings()
    reporter = reporter or Reporter()
    task = task_of(settings)
    family = project_family(settings, task)
    dataset = load_training_data(data, settings)
    reporter.step(f"Training data: {dataset.describe()}")
    params = {**settings.model.params, **(overrides or {})}
    model = family.build(params, task.name, dataset.types)
    use_tracking(settings)
    holdout = training_holdout(dataset, task, settings)
    reporter.step(f"Holdout: {holdout.describe()}, left out of training; the gates judge on it")
    split = split_data(dataset, settings, task, holdout)
    calibration = _calibration_settings(model, settings)
    if calibration is not None:
        split = calibration_step.set_aside(split, task, calibration, settings.train.seed)
    with start_run(settings) as run:
        _log_inputs(dataset, family.params_of(model), split, task, family)
        mlflow.set_tags(holdout.tags())
        reporter.step(
            f"Leakage check: {split.duplicates_removed:,} evaluation rows repeated a training "
            "input and moved to training"
        )
        fitted = fit_and_evaluate(model, task, split, reporter, calibration)
        mlflow.log_metrics(fitted.evaluation.metrics)
        if fitted.calibration is not None:
            mlflow.set_tags(calibration_step.calibration_tags(fitted.calibration))
        reporter.step("Logging the model")
        example = task.inputs(split.frame.iloc[split.test[:3]])
        version, uri = _log_model(fitted, family, example, settings, register)
    params = family.params_of(fitted.model)
    return TrainResult(
        run.info.run_id, uri, settings.model.name, version, fitted.evaluation.metrics, params,
        dataset.summary(), holdout.summary(),
    )  # fmt: skip


def _calibration_settings(model: Any, settings: Settings) -> CalibrationSettings | None:
    """The project's calibration settings when this model calibrates, else None."""
    wanted = settings.train.calibration
    return wanted if isinstance(model, Calibratable) and wanted.share > 0 else None


def training_holdout(dataset: TrainingData, task: Task, settings: Settings) -> Holdout:
    """The frozen holdout of the data's lineage, drawn from this data the first time."""
    keys, curated = holdout_keys(dataset, task)
    return ensure_holdout(dataset.lineage, dataset.frame, keys, curated, settings, dataset.origin)


def holdout_keys(dataset: TrainingData, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """The input key of each row, and those of the behaviour gate's cases (never held out)."""
    keys = input_keys(dataset.frame, task.text_column, task.target_column)
    cases = task.curated_inputs()
    curated = keys[:0] if cases is None else input_keys(cases, task.text_column, LABEL)
    return keys, curated


def _log_inputs(
    dataset: TrainingData, params: dict[str, Any], split: Split, task: Task, family: ModelFamily
) -> None:
    import mlflow

    mlflow.log_params(params)
    mlflow.log_params(
        {
            "train_rows": len(split.train),
            "eval_rows": len(split.test),
            "eval_duplicates_removed": split.duplicates_removed,
            "holdout_rows_excluded": split.held_out,
        }
    )
    if split.calibration is not None:
        mlflow.log_param("calibration_rows", len(split.calibration))
    git = git_state()
    mlflow.set_tags(
        {
            "mlcycle.version": mlcycle.__version__,
            "mlcycle.task": task.name,
            "mlcycle.family": family.name,
            "mlcycle.git_commit": git["commit"],
            "mlcycle.git_dirty": git["dirty"],
            "mlcycle.dataset_name": dataset.name,
            "mlcycle.dataset_digest": dataset.digest,
            "mlcycle.dataset_source": dataset.source,
        }
    )
    if dataset.version is not None:
        mlflow.set_tags(
            {"mlcycle.dataset_version": str(dataset.version), "mlcycle.dataset_ref": dataset.ref}
        )
    with warnings.catch_warnings():
        # A local path matches two of MLflow's source types; either is right for us.
        warnings.filterwarnings("ignore", message=".*multiple ways.*", category=UserWarning)
        # MLflow attaches its dataset constructors to mlflow.data with setattr at import.
        frame = mlflow.data.from_pandas(  # type: ignore[attr-defined]
            dataset.frame,
            source=_input_source(dataset.uri or dataset.source),
            name=dataset.ref,
            targets=task.target_column,
            digest=dataset.digest,
        )
    mlflow.log_input(frame, context="training")


def _input_source(uri: str) -> Any:
    """Where a run's training data came from, in a form MLflow records.

    MLflow resolves no dataset source for its own artifact proxy (``mlflow-artifacts:``,
    where a team server keeps dataset versions): its HTTP address is recorded instead,
    the one a client downloads the file from.
    """
    if not uri.startswith("mlflow-artifacts:"):
        return uri
    import mlflow
    from mlflow.data.http_dataset_source import HTTPDatasetSource

    path = urlsplit(uri).path.lstrip("/")
    base = mlflow.get_tracking_uri().rstrip("/")
    return HTTPDatasetSource(url=f"{base}/api/2.0/mlflow-artifacts/artifacts/{path}")


def _log_model(
    fitted: Fitted, family: ModelFamily, example: Any, settings: Settings, register: bool
) -> tuple[str | None, str]:
    import mlflow

    from mlcycle.registry.ops import register as register_version

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for path in fitted.evaluation.write(work / "evaluation"):
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        info = family.log_model(fitted.model, "model", example, work)
    if not register:
        return None, info.model_uri
    version = register_version(info.model_uri, settings.model.name, tags=_version_tags())
    return version.version, info.model_uri


def _version_tags() -> dict[str, str]:
    """The run's lineage tags, copied onto the model version so the registry shows them."""
    import mlflow

    run = mlflow.active_run()
    if run is None:  # only called inside the training run
        return {}
    tags = mlflow.get_run(run.info.run_id).data.tags
    return {k: v for k, v in tags.items() if k.startswith("mlcycle.")}
