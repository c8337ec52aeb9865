"""The forms a ``/predict`` body may take: ours, and the scoring bodies of MLflow.

Ours are ``{"texts": [...], "k": 3}`` for a text model and ``{"records": [{column:
value}, ...], "k": 3}`` for a tabular one. MLflow's are those ``mlflow models serve``
reads, so its clients switch without a change: ``dataframe_records`` (a list of records),
``dataframe_split`` (``{"columns": [...], "data": [[...], ...]}``, an ``index`` is
ignored), ``inputs`` or ``instances`` (a list of records, an object of columns, or for a
text model a list of texts), each with optional ``params`` (``{"k": 3}``). Whatever the
form, a request comes out as :class:`Inputs`; an MLflow body is answered in MLflow's
shape (``mlcycle.serve.tabular``). A text model with categorical columns takes them
beside the texts (``mlcycle.serve.text_columns``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from mlcycle.core.errors import InvalidInput
from mlcycle.serve import text_columns
from mlcycle.serve.faults import Fault, answered, split_texts
from mlcycle.serve.validation import (
    TEXT_EXAMPLE,
    Limits,
    check_count,
    check_k,
    check_texts,
    kind,
    load_object,
    parse_texts,
)

MLFLOW_FIELDS = ("dataframe_records", "dataframe_split", "inputs", "instances")
RECORDS_EXAMPLE = '{"records": [{"age": 52, "city": "Lyon"}], "k": 3}'
TEXT_COLUMN = "text"


class Inputs(NamedTuple):
    """What one request asks: its items (texts or records), k, and its form."""

    items: list[Any]  # texts: only those the model can read (see ``faults``)
    k: int
    mlflow: bool  # an MLflow scoring body, answered the way MLflow answers it
    faults: tuple[Fault, ...] = ()  # the items answered with an error, in index order
    # A text model's categorical columns sent beside the texts (one value per item).
    columns: dict[str, list[Any]] | None = None


def mlflow_field(payload: dict[str, Any]) -> str | None:
    """The MLflow data field of a body (None when it has none); two is one too many."""
    found = [name for name in MLFLOW_FIELDS if name in payload]
    if len(found) > 1:
        raise InvalidInput(f"The request has both '{found[0]}' and '{found[1]}'; send one of them.")
    return found[0] if found else None


def record_inputs(body: bytes, limits: Limits) -> Inputs:
    """The records and k of a tabular model's request, in our form or MLflow's.

    Records are checked as lists of objects here; their columns and values by
    ``mlcycle.serve.records``.
    """
    payload = load_object(body, RECORDS_EXAMPLE)
    field = mlflow_field(payload)
    if field is not None:
        return Inputs(mlflow_rows(payload, field, limits), _params_k(payload, limits), True)
    for key in payload:
        if key not in ("records", "k"):
            raise InvalidInput(
                f"Unknown field '{key}'; a request has 'records' and 'k' (or is an MLflow "
                "scoring body: dataframe_records, dataframe_split, inputs)."
            )
    records = payload.get("records")
    if records is None:
        raise InvalidInput(f"The request has no 'records'; send a JSON object like "
                           f"{RECORDS_EXAMPLE}.")  # fmt: skip
    if not isinstance(records, list):
        raise InvalidInput(f"'records' must be a list of objects, not {kind(records)}.")
    check_count("records", len(records), limits)
    return Inputs(records, check_k(payload.get("k", 1), limits), False)


def text_inputs(body: bytes, limits: Limits, columns: Sequence[str] = ()) -> Inputs:
    """The texts and k of a text model's request, in our form or MLflow's, with the
    model's categorical ``columns`` where it has some."""
    payload = load_object(body, TEXT_EXAMPLE)
    field = mlflow_field(payload)
    if field is None and columns:
        texts, k, values = text_columns.parse_ours(payload, limits, columns)
        return _text_inputs(texts, k, False, limits, "texts", values)
    if field is None:
        texts, k = parse_texts(payload, limits)
        return _text_inputs(texts, k, False, limits, "texts")
    return _mlflow_texts(payload, field, limits, columns)


def _mlflow_texts(
    payload: dict[str, Any], field: str, limits: Limits, columns: Sequence[str] = ()
) -> Inputs:
    """The texts of an MLflow body: its ``text`` column (and the model's columns), or
    plain strings (``{"inputs": ["..."]}``)."""
    rows = mlflow_rows(payload, field, limits)
    texts = [
        _text_of(i, row, columns) if isinstance(row, dict) else row for i, row in enumerate(rows)
    ]
    k = _params_k(payload, limits)
    values = text_columns.record_columns(rows, columns, limits) if columns else None
    return _text_inputs(check_texts(texts, limits, field), k, True, limits, field, values)


def _text_inputs(
    texts: list[Any],
    k: int,
    mlflow: bool,
    limits: Limits,
    name: str,
    columns: dict[str, list[Any]] | None = None,
) -> Inputs:
    """The texts the model reads, their columns' values, and the faults of the others
    (``name`` is their field)."""
    good, faults = split_texts(texts, limits.max_text_chars, name)
    if faults and columns:
        kept = answered(faults, len(texts))
        columns = {column: [values[i] for i in kept] for column, values in columns.items()}
    return Inputs(good, k, mlflow, faults, columns)


def mlflow_rows(payload: dict[str, Any], field: str, limits: Limits) -> list[Any]:
    """The rows of an MLflow body: records (objects), or the values of a plain list."""
    for key in payload:
        if key not in (field, "params"):
            raise InvalidInput(
                f"Unknown field '{key}' beside '{field}'; an MLflow scoring body has one "
                "data field and 'params'."
            )
    value = payload[field]
    if field == "dataframe_split":
        return _split_rows(value, limits)
    if isinstance(value, dict) and field != "dataframe_records":
        return _column_rows(field, value, limits)
    if not isinstance(value, list):
        raise InvalidInput(f"'{field}' must be a list of records, not {kind(value)}.")
    check_count(field, len(value), limits)
    return value


def _split_rows(split: Any, limits: Limits) -> list[dict[str, Any]]:
    """``{"columns": [...], "data": [[...]]}`` (pandas' ``orient="split"``) as records."""
    if not isinstance(split, dict):
        raise InvalidInput(
            f"'dataframe_split' must be an object with 'columns' and 'data', not {kind(split)}."
        )
    unknown = sorted(set(split) - {"columns", "data", "index"})
    if unknown:
        raise InvalidInput(f"'dataframe_split' has an unknown field '{unknown[0]}'; it has "
                           "'columns', 'data' and an optional 'index'.")  # fmt: skip
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not all(type(c) is str for c in columns):
        raise InvalidInput("'dataframe_split.columns' must be a list of column names.")
    if len(set(columns)) != len(columns):
        raise InvalidInput("'dataframe_split.columns' names a column twice; name each once.")
    if not isinstance(data, list):
        raise InvalidInput(f"'dataframe_split.data' must be a list of rows, not {kind(data)}.")
    check_count("dataframe_split.data", len(data), limits)
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidInput(
                f"'dataframe_split.data[{i}]' must be a list of {len(columns)} values, one "
                "per column."
            )
    return [dict(zip(columns, row, strict=True)) for row in data]


def _column_rows(field: str, columns: dict[str, Any], limits: Limits) -> list[dict[str, Any]]:
    """``{"column": [values], ...}`` (MLflow's ``inputs`` as columns) as records."""
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise InvalidInput(f"'{field}.{name}' must be a list of values, one per record.")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise InvalidInput(f"The columns of '{field}' have different lengths; give each "
                           "column one value per record.")  # fmt: skip
    check_count(field, lengths.pop() if lengths else 0, limits)
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _params_k(payload: dict[str, Any], limits: Limits) -> int:
    params = payload.get("params", {})
    if not isinstance(params, dict):
        raise InvalidInput(f"'params' must be an object like {{\"k\": 3}}, not {kind(params)}.")
    for key in params:
        if key != "k":
            raise InvalidInput(f"Unknown parameter '{key}' in 'params'; the only one is 'k'.")
    return check_k(params.get("k", 1), limits, "params.k")


def _text_of(index: int, row: dict[str, Any], columns: Sequence[str] = ()) -> Any:
    if TEXT_COLUMN in row and all(name == TEXT_COLUMN or name in columns for name in row):
        return row[TEXT_COLUMN]
    if not columns:
        raise InvalidInput(
            f"Record {index} must have one column, '{TEXT_COLUMN}'; this model reads texts."
        )
    raise InvalidInput(
        f"Record {index} must have a '{TEXT_COLUMN}' column, and else only this model's "
        f"columns: {', '.join(columns)}."
    )
