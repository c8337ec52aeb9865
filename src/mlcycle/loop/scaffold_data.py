"""What ``mlcycle init`` reads from the data: columns, types, a sample, behaviour cases.

The data is a user's file (read with mlcycle's own readers and type inference), else
data mlcycle makes offline: a tabular example's (:mod:`mlcycle.data.examples`) or, for
text, the packaged example project's synthetic set and cases. The sample is a few
hundred rows the generated project commits for its tests; every row of it passes
``mlcycle data add`` (rows mlcycle could not read are left out, and so are classes too
rare to learn), so the tests pass on a fresh clone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlcycle.core.errors import InvalidInput
from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.data.checks import column_checks, target_type
from mlcycle.data.columns import coerce, infer_types
from mlcycle.data.readers import read_raw

TEXT_TASK = "text-classification"
SAMPLE_ROWS = 300  # rows of a tabular or text file kept as the committed sample
MAX_CLASSES = 10  # classification: the most frequent classes kept in the sample
MIN_CLASS_ROWS = 10  # and the rows each needs (a holdout and a test split both take some)
# A text classifier learns a class's words from examples: up to this many rows a class
# (a 300-row sample taught fastText too little to get its own cases right).
TEXT_CLASS_ROWS = 100
CASES = 8  # behaviour cases taken from the data
SEED = 0


@dataclass(frozen=True)
class DataPlan:
    """The columns a project reads, its sample and its behaviour cases."""

    sample: pd.DataFrame
    target: str
    features: list[str]
    types: dict[str, ColumnType]
    cases: list[dict[str, Any]]
    source: str  # what the rows came from, in a few words
    left_out: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # more data settings (nomenclature)


def file_columns(path: Path) -> list[str]:
    """The columns of a data file (mlcycle's readers: one sentence if it cannot be read)."""
    return list(read_raw(Path(path)).table.column_names)


def plan_file(
    path: Path, task: str, target: str | None, text: str | None, only: list[str] | None = None
) -> DataPlan:
    """Plan a project on the data file at ``path``; ``only`` limits the features.

    Raises:
        NotFound, DataError: The file is missing or cannot be read.
        InvalidInput: The target or text column is not given or not in the file.
    """
    table = read_raw(Path(path)).table
    return plan_table(table, task, target, text, Path(path).name, only)


def plan_table(
    table: pa.Table,
    task: str,
    target: str | None,
    text: str | None,
    shown: str,
    only: list[str] | None = None,
) -> DataPlan:
    """Plan a project on the rows of ``table`` (``shown`` names it in messages)."""
    target = _column(table, target, "--target", f"Say which column of {shown} to predict", shown)
    if task == TEXT_TASK:
        ask = f"Say which column of {shown} holds the text"
        text = _column(table, text or _default_text(table), "--text", ask, shown)
        frame = _usable_text(table, text, target)
        sample = _classes_sample(frame, target, TEXT_CLASS_ROWS)
        return DataPlan(sample, target, [text], {}, _text_cases(sample, text, target), shown)
    features, types, left_out = _features(table, task, target, only)
    frame = _usable_rows(table, types, target, task)
    sample = _classes_sample(frame, target) if task == "classification" else _rows(frame)
    cases = _tabular_cases(sample, types, target, task)
    return DataPlan(sample, target, features, types, cases, shown, left_out)


def _column(table: pa.Table, name: str | None, flag: str, ask: str, shown: str) -> str:
    columns = ", ".join(repr(column) for column in table.column_names)
    if name is None:
        raise InvalidInput(f"{ask} with {flag} COLUMN (its columns: {columns}).")
    if name not in table.column_names:
        raise InvalidInput(f"{shown} has no column {name!r}; its columns are {columns}.")
    return name


def _default_text(table: pa.Table) -> str | None:
    return "text" if "text" in table.column_names else None


def _features(
    table: pa.Table, task: str, target: str, only: list[str] | None
) -> tuple[list[str], dict[str, ColumnType], list[str]]:
    """The features, their types, and the columns left out (constant, empty, an
    identifier or free text: what ``data add`` would warn about)."""
    columns = [c for c in table.column_names if c != target and (only is None or c in only)]
    types = {name: kind for name, kind in infer_types(table.select(columns)).items()}
    issues = column_checks(table, types, target, _kind(task))
    for issue in issues:
        if issue.severity == "error" and issue.problem != "rare classes":
            raise InvalidInput(issue.message)
    dropped = {i.column for i in issues if i.leave_out or i.problem == "high cardinality"}
    kept = [name for name in columns if name not in dropped]
    if not kept:
        raise InvalidInput(f"No column beside the target {target!r} can be a feature.")
    return kept, {name: types[name] for name in kept}, [c for c in columns if c in dropped]


def _kind(task: str) -> TaskKind:
    return "classification" if task == "classification" else "regression"


def _usable_text(table: pa.Table, text: str, target: str) -> pd.DataFrame:
    frame = table.select([text, target]).to_pandas()
    filled = frame[text].astype("string").str.strip().ne("") & frame[target].notna()
    return frame[filled.fillna(False).astype(bool)]


def _usable_rows(
    table: pa.Table, types: dict[str, ColumnType], target: str, task: str
) -> pd.DataFrame:
    """The rows every value of which mlcycle reads (the others would be bad rows)."""
    columns = [*types, target]
    coerced = coerce(table, {**types, target: target_type(_kind(task))})
    present = coerced.table.column(target).is_valid().to_numpy(zero_copy_only=False)
    keep = present & ~coerced.bad
    return table.select(columns).to_pandas()[keep]


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(min(SAMPLE_ROWS, len(frame)), random_state=SEED).sort_index()


def _classes_sample(frame: pd.DataFrame, target: str, per_class: int = 0) -> pd.DataFrame:
    """The most frequent classes with enough rows: ``per_class`` rows each (at most), or
    in proportion to :data:`SAMPLE_ROWS` with at least :data:`MIN_CLASS_ROWS` each."""
    counts = frame[target].astype(str).value_counts()
    kept = counts[counts >= MIN_CLASS_ROWS].head(MAX_CLASSES)
    if len(kept) < 2:
        raise InvalidInput(
            f"The data has fewer than two classes of {target!r} with {MIN_CLASS_ROWS} rows "
            "or more; a classifier needs at least two."
        )
    if per_class:
        rows = pd.Series(per_class, index=kept.index)
    else:
        rows = (kept / kept.sum() * SAMPLE_ROWS).round().clip(lower=MIN_CLASS_ROWS)
    labels = frame[target].astype(str)
    parts = [
        frame[labels == label].sample(min(int(n), int(kept[label])), random_state=SEED)
        for label, n in rows.items()
    ]
    return pd.concat(parts).sort_index()


def _text_cases(sample: pd.DataFrame, text: str, target: str) -> list[dict[str, Any]]:
    """One text per frequent class: its most repeated text, else its shortest."""
    cases = []
    for label in sample[target].astype(str).value_counts().index[:CASES]:
        texts = sample.loc[sample[target].astype(str) == label, text].astype(str)
        counts = texts.value_counts()
        best = sorted(counts.index, key=lambda t: (-counts[t], len(t), t))[0]
        cases.append({"text": best, "expect": label})
    return _distinct_texts(cases)


def _distinct_texts(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for case in cases:
        seen.setdefault(case["text"], case)
    return list(seen.values())


def _tabular_cases(
    sample: pd.DataFrame, types: dict[str, ColumnType], target: str, task: str
) -> list[dict[str, Any]]:
    if task == "regression":
        values = pd.to_numeric(sample[target], errors="coerce")
        spread = float(values.std()) or 1.0
        picks = [int((values - values.quantile(q)).abs().idxmin()) for q in (0.25, 0.5, 0.75)]
        rows = [(index, None) for index in dict.fromkeys(picks)]
        bounds = {i: [round(values[i] - spread, 4), round(values[i] + spread, 4)] for i in picks}
    else:
        labels = sample[target].astype(str)
        rows = [(labels[labels == label].index[0], label) for label in labels.unique()[:CASES]]
    records = _records(sample.loc[[index for index, _ in rows]], types)
    if task == "regression":
        return [
            {"record": record, "expect_between": bounds[index]}
            for record, (index, _) in zip(records, rows, strict=True)
        ]
    return [{"record": r, "expect": label} for r, (_, label) in zip(records, rows, strict=True)]


def _records(rows: pd.DataFrame, types: dict[str, ColumnType]) -> list[dict[str, Any]]:
    """Rows as a client sends them: typed values, missing ones left out."""
    table = pa.Table.from_pandas(rows[list(types)], preserve_index=False)
    typed = coerce(table, types).table.to_pylist()
    return [{name: _plain(v) for name, v in row.items() if _present(v)} for row in typed]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)


def _plain(value: Any) -> Any:
    """A value YAML and JSON write as they read: dates as ISO text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return round(value, 6) if isinstance(value, float) else value
