"""The data a retrain trains on: the latest dataset version plus production feedback.

The production inputs labelled through feedback join the rows of the latest version of
the project's dataset, and the whole is stored as its next version through ``data add``
(the same validation and profile; a tabular dataset keeps the column types its previous
version froze), so the retrained model has lineage and a drift reference like any other.
Feedback rows the data already holds are left out.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from mlcycle.core.settings import Settings
from mlcycle.core.settings.monitor import duration_seconds
from mlcycle.loop.labelled import labelled_records, text_columns
from mlcycle.tasks import Task, task_of
from mlcycle.train.pipeline import TrainingData, load_training_data

TEXT_COLUMNS = ["text", "label"]


def build_training_set(settings: Settings, latest: str | None, end: datetime) -> tuple[str, int]:
    """The dataset version to train on (``NAME@V``) and how many feedback rows joined it.

    ``latest`` is the newest version of the project's dataset (None: there is none, and
    the task's synthetic set is the base).
    """
    task = task_of(settings)
    base = load_training_data(latest, settings)
    feedback = _feedback(settings, task, end) if settings.monitor.retrain.use_feedback else None
    added = new_rows(base.frame, feedback) if feedback is not None else base.frame.iloc[:0]
    if added.empty and latest:
        return latest, 0
    combined = pd.concat([base.frame, added], ignore_index=True)
    return store_version(combined, task, base, settings), len(added)


def _feedback(settings: Settings, task: Task, end: datetime) -> pd.DataFrame:
    """Production inputs with their true label or value, in the dataset's layout."""
    from mlcycle.monitor.logstore import LogStore
    from mlcycle.monitor.policy import labelled_texts

    since = end - timedelta(seconds=duration_seconds(settings.monitor.retrain.feedback_window))
    if task.text_column is not None:
        texts = labelled_texts(LogStore.from_settings(settings), since, end).to_pandas()
        return text_columns(texts, task.categorical_columns)
    regression = task.kind == "regression"
    return labelled_records(settings, since, end, task.target_column, regression)


def new_rows(base: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """The feedback rows (in ``base``'s columns) that ``base`` does not already hold.

    Repeats among the feedback stay: an input labelled often in production weighs more.
    """
    rows = feedback.reindex(columns=base.columns)
    if rows.empty:
        return rows
    known = set(_row_keys(base, base))
    return rows[[key not in known for key in _row_keys(rows, base)]]


def _row_keys(frame: pd.DataFrame, like: pd.DataFrame) -> list[tuple[object, ...]]:
    """Each row as comparable values: numbers as floats where ``like`` has numbers (a
    record may say 59 where the data says 59.0), the rest as text, gaps as None."""
    columns = []
    for name in like.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(like[name]) and not pd.api.types.is_bool_dtype(like[name]):
            values = pd.to_numeric(column, errors="coerce").round(9).astype(object)
        else:
            values = column.astype(object).map(str)
        columns.append(values.where(column.notna(), None).tolist())
    return list(zip(*columns, strict=True))


def store_version(frame: pd.DataFrame, task: Task, base: TrainingData, settings: Settings) -> str:
    """Add ``frame`` as the next version of the dataset ``base`` is a version of (so its
    frozen holdout stays the same), else of the project's dataset; its ``NAME@V``."""
    from mlcycle.data.ingest import add_dataset

    name = base.name if base.version is not None else settings.dataset_name
    with tempfile.TemporaryDirectory() as tmp:
        if task.text_column is not None:
            path = Path(tmp) / f"{name}-retrain.parquet"
            # The text, the label and the categorical columns the project reads beside it.
            frame[task.columns() or TEXT_COLUMNS].to_parquet(path, index=False)
            added = add_dataset(
                str(path), name, text_col="text", label_col="label", settings=settings
            )
        else:
            # Records arrive as JSON: CSV lets data add read both halves alike, with the
            # types the previous version froze.
            path = Path(tmp) / f"{name}-retrain.csv"
            frame.to_csv(path, index=False)
            added = add_dataset(str(path), name, settings=frozen_types(settings, base.types))
    return added.version.ref


def frozen_types(settings: Settings, types: dict[str, str]) -> Settings:
    """``settings`` reading the columns with the ``types`` a dataset version froze."""
    tabular = {column: kind for column, kind in types.items() if kind != "text"}
    data = settings.data.model_copy(update={"types": {**settings.data.types, **tabular}})
    return settings.model_copy(update={"data": data})
