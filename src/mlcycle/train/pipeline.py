"""The training pipeline: data -> split -> fit -> evaluate -> log to MLflow -> register.

``train_model`` is what ``mlcycle train`` and ``mlflow run .`` call; tests call it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import mlcycle
from mlcycle.core.errors import DataError
from mlcycle.core.gitinfo import git_state
from mlcycle.core.private import private_dirs
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import ensure_experiment, use_tracking
from mlcycle.data.leakage import separate_duplicates
from mlcycle.data.readers import read_labelled
from mlcycle.data.store import find_training_dataset, training_frame
from mlcycle.models.fasttext import FastTextClassifier, FastTextParams
from mlcycle.registry.holdout import ensure_holdout, is_held_out
from mlcycle.train.evaluate import Evaluation, evaluate
from mlcycle.train.split import stratified_split

SYNTHETIC = "synthetic"
SYNTHETIC_ROWS = 30_000


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_uri: str
    name: str
    version: str | None
    metrics: dict[str, float]
    params: dict[str, Any]


@dataclass
class Reporter:
    """Receives progress: a step name, then fractions of the fit in 0..1."""

    step: Callable[[str], None] = lambda message: None
    fit_progress: Callable[[float], None] = lambda fraction: None


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame  # columns text, label
    source: str
    name: str
    digest: str = field(default="")
    version: int | None = None  # set when the data is a stored dataset version
    uri: str | None = None  # where that version's snapshot is stored

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}" if self.version is not None else self.name


def load_training_data(data: str | None, settings: Settings) -> TrainingData:
    """A dataset version (``NAME@V``), a file path, or ``synthetic``: the generated set.

    By default, the latest version of the project's dataset when one was added, else
    the synthetic set.
    """
    version = find_training_dataset(data, settings)
    if version is not None:
        frame = training_frame(version, settings)
        return TrainingData(
            frame, version.source, version.name, version.digest, version.version, version.uri()
        )
    if data in (None, "", SYNTHETIC):
        data = str(synthetic_file(settings))
    path = Path(data)
    frame = read_labelled(path, settings.train.text_col, settings.train.label_col)
    hashed = pd.util.hash_pandas_object(frame[["text", "label"]], index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes()).hexdigest()[:16]
    return TrainingData(frame[["text", "label"]], str(path.resolve()), path.stem, digest)


def synthetic_file(settings: Settings, rows: int = SYNTHETIC_ROWS) -> Path:
    """The embedded synthetic set, written once under the project home and reused."""
    from mlcycle.data.generator import generate, write_dataset

    # The version is in the name: a newer generator must not reuse an older set.
    name = f"synthetic-{mlcycle.__version__}-{rows}-seed{settings.train.seed}.csv"
    path = settings.home / "data" / name
    if not path.exists():
        private_dirs(path.parent)
        write_dataset(generate(rows, settings.train.seed), path)
    return path


@dataclass(frozen=True)
class Split:
    """Texts and labels of one data set, with the rows of each part."""

    texts: np.ndarray
    labels: np.ndarray
    train: np.ndarray  # row indices
    test: np.ndarray
    duplicates_removed: int = 0  # evaluation rows moved to training: their text was there


@dataclass(frozen=True)
class Fitted:
    model: FastTextClassifier
    evaluation: Evaluation


def split_data(
    dataset: TrainingData, settings: Settings, holdout: frozenset[str] = frozenset()
) -> Split:
    """The seeded stratified split of a data set (reproducible from data and seed).

    ``holdout`` holds the normalised texts of the frozen promotion holdout: rows that
    normalise to one of them are never trained on.
    """
    texts = dataset.frame["text"].to_numpy()
    labels = dataset.frame["label"].to_numpy()
    train, test = stratified_split(labels, settings.train.test_size, settings.train.seed)
    if len(test) == 0:
        raise DataError(
            f"No code has enough rows to set one aside for evaluation ({len(labels):,} rows, "
            f"{len(np.unique(labels)):,} codes, train.test_size {settings.train.test_size}); "
            "add more rows per code or raise train.test_size."
        )
    # Leakage guard: evaluation rows whose normalised text is in training move there.
    train, test, moved = separate_duplicates(texts, train, test)
    if holdout:
        train = train[~is_held_out(texts[train], holdout)]
    return Split(texts, labels, train, test, moved)


def fit_and_evaluate(
    params: FastTextParams, split: Split, reporter: Reporter | None = None
) -> Fitted:
    """Fit on the training rows, score the evaluation rows (no MLflow involved)."""
    reporter = reporter or Reporter()
    reporter.step(f"Training on {len(split.train):,} rows")
    model = FastTextClassifier(**params.as_dict()).fit(
        split.texts[split.train].tolist(),
        split.labels[split.train].tolist(),
        reporter.fit_progress,
    )
    reporter.step(f"Evaluating on {len(split.test):,} rows")
    top = model.predict(split.texts[split.test].tolist(), k=5).codes
    return Fitted(model, evaluate(split.labels[split.test], top))


def start_run(settings: Settings, **kwargs: Any) -> Any:
    """An MLflow run in the project's experiment, or the one ``mlflow run`` opened."""
    import mlflow

    if os.environ.get("MLFLOW_RUN_ID"):
        return mlflow.start_run(**kwargs)
    return mlflow.start_run(
        experiment_id=ensure_experiment(settings.experiment, settings), **kwargs
    )


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
    params = FastTextParams.from_mapping({**settings.train.params, **(overrides or {})})
    reporter.step("Reading data")
    dataset = load_training_data(data, settings)
    use_tracking(settings)
    holdout = ensure_holdout(settings.model_name, dataset.frame, settings)
    split = split_data(dataset, settings, holdout.normalised)
    with start_run(settings) as run:
        _log_inputs(dataset, params, len(split.train), len(split.test))
        mlflow.log_param("eval_duplicates_removed", split.duplicates_removed)
        reporter.step(
            f"Leakage check: {split.duplicates_removed:,} evaluation rows repeated a training "
            "text and moved to training"
        )
        mlflow.set_tags(holdout.tags())
        fitted = fit_and_evaluate(params, split, reporter)
        mlflow.log_metrics(fitted.evaluation.metrics)
        reporter.step("Logging the model")
        example = split.texts[split.test][:3].tolist()
        version, uri = _log_model(fitted.model, fitted.evaluation, example, settings, register)
    return TrainResult(
        run.info.run_id,
        uri,
        settings.model_name,
        version,
        fitted.evaluation.metrics,
        params.as_dict(),
    )


def _log_inputs(dataset: TrainingData, params: FastTextParams, n_train: int, n_test: int) -> None:
    import mlflow

    mlflow.log_params({**params.as_dict(), "thread_used": params.threads()})
    mlflow.log_params({"train_rows": n_train, "eval_rows": n_test})
    git = git_state()
    mlflow.set_tags(
        {
            "mlcycle.version": mlcycle.__version__,
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
        frame = mlflow.data.from_pandas(
            dataset.frame,
            source=dataset.uri or dataset.source,
            name=dataset.ref,
            targets="label",
            digest=dataset.digest,
        )
    mlflow.log_input(frame, context="training")


def _log_model(
    model: FastTextClassifier,
    result: Evaluation,
    example: list[str],
    settings: Settings,
    register: bool,
) -> tuple[str | None, str]:
    import mlflow

    from mlcycle.models import pyfunc
    from mlcycle.registry.ops import register as register_version
    from mlcycle.tasks.plots import confusion_png

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result.report.to_csv(work / "classification_report.csv", float_format="%.4f")
        (work / "metrics.json").write_text(json.dumps(result.metrics, indent=2))
        confusion_png(result.confusion, work / "confusion.png")
        for name in ("classification_report.csv", "metrics.json", "confusion.png"):
            mlflow.log_artifact(str(work / name), artifact_path="evaluation")
        model.save(work / "fasttext")
        info = pyfunc.log_model(work / "fasttext", "model", example, work)
    if not register:
        return None, info.model_uri
    version = register_version(info.model_uri, settings.model_name, tags=_version_tags())
    return version.version, info.model_uri


def _version_tags() -> dict[str, str]:
    """The run's lineage tags, copied onto the model version so the registry shows them."""
    import mlflow

    tags = mlflow.get_run(mlflow.active_run().info.run_id).data.tags
    return {k: v for k, v in tags.items() if k.startswith("mlcycle.")}
