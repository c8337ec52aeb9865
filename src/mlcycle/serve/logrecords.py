"""Prediction-log and feedback records: what requests hand over, and their Arrow tables.

A request hands over one :class:`LogRecord` for all its texts (one tuple appended to a
deque); the background writer turns many records into one table of one row per text,
with vectorised numpy/Arrow work instead of a Python loop per field.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.data.predlog import FEEDBACK_SCHEMA, PREDICTION_SCHEMA, TIMESTAMP


class LogRecord(NamedTuple):
    """One answered ``/predict`` request."""

    request_id: str
    ms: int  # Unix milliseconds when it arrived (also in the id)
    model_name: str
    model_version: str
    texts: list[str]
    codes: np.ndarray  # (n, k) str
    probs: np.ndarray  # (n, k) float32
    latency_ms: float
    api_key: str | None


class FeedbackRecord(NamedTuple):
    """The true code of one logged text."""

    request_id: str
    index: int
    ms: int
    true_code: str
    predicted_code: str | None
    model_name: str | None
    model_version: str | None
    api_key: str | None


def prediction_table(records: Sequence[LogRecord], salt: bytes | None) -> pa.Table:
    """One row per text; with ``salt`` the texts are replaced by their HMAC-SHA256."""
    sizes = np.fromiter((len(r.texts) for r in records), dtype=np.int64, count=len(records))
    owner = np.repeat(np.arange(len(records)), sizes)  # record of each row
    starts = np.cumsum(sizes) - sizes
    texts = [text for record in records for text in record.texts]
    text_array = pa.array(texts, pa.string())
    per_record = pa.table(
        {
            "request_id": [r.request_id for r in records],
            "model_name": [r.model_name for r in records],
            "model_version": [r.model_version for r in records],
            "api_key": pa.array([r.api_key for r in records], pa.string()),
        }
    ).take(pa.array(owner))
    columns = {
        "request_id": per_record["request_id"],
        "index": pa.array(np.arange(len(owner)) - starts[owner], pa.int32()),
        "batch_size": pa.array(sizes[owner], pa.int32()),
        "timestamp": pa.array(np.fromiter((r.ms for r in records), np.int64)[owner], pa.int64()),
        "model_name": per_record["model_name"],
        "model_version": per_record["model_version"],
        "text": text_array if salt is None else pa.nulls(len(texts), pa.string()),
        "text_hash": pa.nulls(len(texts), pa.string())
        if salt is None
        else pa.array([_digest(salt, t) for t in texts], pa.string()),
        "text_chars": pc.utf8_length(text_array).cast(pa.int32()),
        "codes": _ranked(records, "codes", pa.string()),
        "probabilities": _ranked(records, "probs", pa.float32()),
        "latency_ms": pa.array(
            np.fromiter((r.latency_ms for r in records), np.float32)[owner], pa.float32()
        ),
        "api_key": per_record["api_key"],
    }
    columns["timestamp"] = columns["timestamp"].cast(TIMESTAMP)
    return pa.Table.from_pydict(columns, schema=PREDICTION_SCHEMA)


def feedback_table(records: Sequence[FeedbackRecord]) -> pa.Table:
    """One row per feedback record."""
    columns = {name: [getattr(r, name) for r in records] for name in FeedbackRecord._fields}
    columns["timestamp"] = pa.array(columns.pop("ms"), pa.int64()).cast(TIMESTAMP)
    return pa.Table.from_pydict(columns, schema=FEEDBACK_SCHEMA)


def _ranked(records: Sequence[LogRecord], field: str, kind: pa.DataType) -> pa.ListArray:
    """The (n, k) arrays of all records as one list column (k may differ per record)."""
    arrays = [getattr(r, field) for r in records]
    rows = np.fromiter((a.shape[0] for a in arrays), np.int64, count=len(arrays))
    ks = np.fromiter((a.shape[1] for a in arrays), np.int32, count=len(arrays))
    offsets = np.zeros(int(rows.sum()) + 1, dtype=np.int32)
    np.cumsum(np.repeat(ks, rows), out=offsets[1:])
    values = np.concatenate(arrays, axis=None)  # axis=None flattens each (n, k) array
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, kind))


def _digest(salt: bytes, text: str) -> str:
    return hmac.new(salt, text.encode(), hashlib.sha256).hexdigest()
