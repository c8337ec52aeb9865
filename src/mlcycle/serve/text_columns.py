"""Categorical columns beside the texts of a request, for a model that reads some.

A text model trained with categorical columns (the coding API's ``type_``, ``nature``,
``surface``, ``event``) takes them in our form as lists beside ``texts``, one value per
text: ``{"texts": ["...", "..."], "type_": ["X", null], "k": 3}``; in MLflow's record
forms, in each record beside ``text``. Every column is optional and so is every value:
missing means unknown, as a value the model never saw. A value is a string, a number or
a boolean of at most ``max_value_chars`` characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.serve.validation import LARGEST_NUMBER, Limits, in_range, kind, parse_texts

TEXT_COLUMN = "text"
Columns = dict[str, list[Any]]
# Bytes one value may take besides its characters: quotes, comma, some white space.
_BYTES_PER_VALUE = 8
_BYTES_PER_CHAR = 6  # as validation's: a character may be written \u00e9
_VALUES_PER_FIELD = 3  # its name (in a record), its value and a comma


def model_columns(model: Any) -> tuple[str, ...]:
    """The categorical columns a loaded text model reads beside the text (often none)."""
    categories = getattr(model, "categories", None)
    return tuple(getattr(categories, "columns", ()))


def parse_ours(
    payload: dict[str, Any], limits: Limits, columns: Sequence[str]
) -> tuple[list[str], int, Columns]:
    """The texts, k and columns of ``{"texts": [...], "k": 3, column: [...]}``."""
    found = {name: payload[name] for name in columns if name in payload}
    rest = {key: value for key, value in payload.items() if key not in found}
    for key in rest:
        if key not in ("texts", "k"):
            raise InvalidInput(
                f"Unknown field '{key}'; a request has 'texts', 'k' and this model's "
                f"columns: {', '.join(columns)}."
            )
    texts, k = parse_texts(rest, limits)
    return texts, k, {name: _column(name, v, len(texts), limits) for name, v in found.items()}


def _column(name: str, values: Any, texts: int, limits: Limits) -> list[Any]:
    if not isinstance(values, list):
        raise InvalidInput(
            f"'{name}' must be a list of values, one per text (null where unknown), not "
            f"{kind(values)}."
        )
    if len(values) != texts:
        raise InvalidInput(
            f"'{name}' has {len(values)} values for {texts} texts; give one per text "
            "(null where unknown)."
        )
    for i, value in enumerate(values):
        check_value(f"{name}[{i}]", value, limits)
    return values


def check_value(where: str, value: Any, limits: Limits) -> None:
    """A column's value: null, a boolean, a number or a string short enough.

    A number past ``LARGEST_NUMBER`` (Python's parser reads one exactly) could not be
    written to the prediction log, where the value goes as JSON.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and not in_range(value):
        raise InvalidInput(
            f"'{where}' is out of range; a number is at most {LARGEST_NUMBER:.4g} in size "
            "(send a code as a string)."
        )
    if value is None or isinstance(value, bool | int | float):
        return
    if not isinstance(value, str):
        raise InvalidInput(f"'{where}' must be a string, a number or null, not {kind(value)}.")
    if len(value) > limits.max_value_chars:
        raise InvalidInput(
            f"'{where}' has {len(value):,} characters; a value has at most "
            f"{limits.max_value_chars:,}."
        )


def record_columns(rows: list[Any], columns: Sequence[str], limits: Limits) -> Columns:
    """The columns of MLflow records (``{"text": ..., column: ...}``), missing as null."""
    found: Columns = {}
    for name in columns:
        if any(isinstance(row, dict) and name in row for row in rows):
            found[name] = [row.get(name) if isinstance(row, dict) else None for row in rows]
            for i, value in enumerate(found[name]):
                check_value(f"record {i}: {name}", value, limits)
    return found


def batch(texts: list[str], columns: Columns | None) -> Any:
    """What the model predicts on: the texts, or a table of them and their columns."""
    if not columns:
        return texts
    import pandas as pd

    return pd.DataFrame({TEXT_COLUMN: texts, **columns})


def limits_with(limits: Limits, columns: Sequence[str]) -> Limits:
    """The limits of requests to a model with ``columns``: room for a value per column
    and text beside the texts, named in each record of an MLflow body."""
    if not columns:
        return limits
    per_value = limits.max_value_chars * _BYTES_PER_CHAR + _BYTES_PER_VALUE
    per_item = sum(len(name) * _BYTES_PER_CHAR + per_value for name in columns)
    # A record holds a name, a value and a comma per column and the text, and a brace.
    values = _VALUES_PER_FIELD * (len(columns) + 1) + 2
    return replace(
        limits,
        max_body_bytes=limits.max_body_bytes + limits.max_batch * per_item,
        values_per_item=max(limits.values_per_item, values),
        envelope_values=limits.envelope_values + 2 * len(columns),
    )


def schema_with(schema: dict[str, Any], columns: Sequence[str], limits: Limits) -> dict[str, Any]:
    """The ``/predict`` body's JSON schema with the model's columns beside ``texts``."""
    if not columns:
        return schema
    value = {
        "anyOf": [
            {"type": "string", "maxLength": limits.max_value_chars},
            {"type": ["number", "boolean", "null"]},
        ]
    }
    column = {
        "type": "array", "items": value, "maxItems": limits.max_batch,
        "description": "One value per text, null where unknown (the whole column may be "
        "left out).",
    }  # fmt: skip
    properties = {**schema["properties"], **{name: dict(column) for name in columns}}
    return {**schema, "properties": properties}
