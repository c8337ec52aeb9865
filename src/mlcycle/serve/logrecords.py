"""Prediction-log and feedback records: what requests hand over, and their Arrow tables.

A request hands over one :class:`LogRecord` for all its texts (a tuple appended to a
deque and a line to the journal, ``mlcycle.serve.journal``); the background writer
turns many records into one table of one row per text, with vectorised numpy/Arrow
work instead of a Python loop per field.

A tabular request's inputs are its records, each a JSON object (the ``record`` column),
with a regression's predicted values (``value``; ``codes`` and ``probabilities`` are
then empty). With ``log_text`` false a record, like a text, is kept only as the HMAC of
its JSON (``text_hash``): no raw value of the input reaches the log.

A text model that reads categorical columns beside the text logs each text's values of
them in ``record`` too (a JSON object, null values kept), so retraining and monitoring
see what the model saw; the text stays in ``text``. Hashing drops them (``protect``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.data.predlog import FEEDBACK_SCHEMA, PREDICTION_SCHEMA, TIMESTAMP


class LogRecord(NamedTuple):
    """One answered ``/predict`` request."""

    request_id: str
    ms: int  # Unix milliseconds when it arrived (also in the id)
    model_name: str
    model_version: str
    texts: list[str]  # tabular: the records, each as a JSON object
    codes: list[list[str]]  # per text, best first; empty lists for a regression
    probs: list[list[float]]
    latency_ms: float
    api_key: str | None
    # Set by ``protect``: then ``texts`` hold HMAC digests, and these the texts' lengths.
    text_chars: list[int] | None = None
    values: list[float] | None = None  # a regression's predictions
    records: bool = False  # ``texts`` are records (a tabular model's inputs)
    # When some items of the request were answered with an error (and are not logged):
    # the position of each logged one in the request, and how many the request held.
    indexes: list[int] | None = None
    batch_size: int | None = None
    # A text model's categorical columns as the request gave them, one value per logged
    # text (an empty dict: the model reads columns, the request sent none). Last, with
    # a default: journal lines written before it decode positionally without it.
    columns: dict[str, list[Any]] | None = None
    # The experiment arm that answered (champion, canary, shadow); None outside one.
    arm: str | None = None


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """The true code (or value, for a regression) of one logged text or record.

    A dataclass, not a named tuple: its ``index`` field would hide ``tuple.index``.
    """

    request_id: str
    index: int
    ms: int
    true_code: str | None
    predicted_code: str | None
    model_name: str | None
    model_version: str | None
    api_key: str | None
    true_value: float | None = None


def protect(record: LogRecord, salt: bytes) -> LogRecord:
    """The record with its texts replaced by their HMAC-SHA256, before anything keeps it
    (the journal on disk included) when ``serve.prediction_log.log_text`` is false.

    A text's categorical columns are dropped, not hashed: nothing downstream could use
    their digests (retraining leaves hashed texts out, drift compares raw training
    values), and a digest of a value with few categories still shows which rows share it.
    """
    texts = record.texts
    return record._replace(
        texts=[_digest(salt, t) for t in texts], text_chars=list(map(len, texts)), columns=None
    )


def prediction_table(records: Sequence[LogRecord], salt: bytes | None = None) -> pa.Table:
    """One row per text; with ``salt`` the texts are replaced by their HMAC-SHA256.

    Records already protected (all of them or none) give their digests and lengths.
    Every per-record step is a list comprehension or one Arrow call over a list: this
    runs in the background thread, but holds the GIL the request path needs.
    """
    if salt is not None:
        records = [protect(record, salt) for record in records]
    sizes = [len(r.texts) for r in records]
    rows = sum(sizes)
    owner = None  # the record of each row, when some record has several texts
    if rows == len(records):
        index, batch_size = np.zeros(rows, np.int32), np.ones(rows, np.int32)
    else:
        per = np.asarray(sizes)
        owner = np.repeat(np.arange(len(records)), per)
        index, batch_size = np.arange(rows) - (np.cumsum(per) - per)[owner], per[owner]
    first = index == 0
    if any(r.indexes is not None for r in records):
        index, batch_size, first = _positions(records, rows, owner)

    def per_record(values: list, kind: pa.DataType) -> pa.Array:
        column = pa.array(values, kind)
        return column if owner is None else column.take(pa.array(owner))

    text_array = pa.array([text for record in records for text in record.texts], pa.string())
    hashed = bool(records) and records[0].text_chars is not None
    if hashed:
        chars = pa.array([n for record in records for n in record.text_chars or ()], pa.int32())
    else:
        chars = pc.utf8_length(text_array).cast(pa.int32())
    nothing = pa.nulls(rows, pa.string())
    columns = {
        "request_id": per_record([r.request_id for r in records], pa.string()),
        "index": pa.array(index, pa.int32()),
        "batch_size": pa.array(batch_size, pa.int32()),
        "timestamp": per_record([r.ms for r in records], pa.int64()).cast(TIMESTAMP),
        "model_name": per_record([r.model_name for r in records], pa.string()),
        "model_version": per_record([r.model_version for r in records], pa.string()),
        "text": nothing if hashed else text_array,
        "text_hash": text_array if hashed else nothing,
        "text_chars": chars,
        "codes": pa.array([row for r in records for row in r.codes], pa.list_(pa.string())),
        "probabilities": pa.array(
            [row for r in records for row in r.probs], pa.list_(pa.float32())
        ),
        "latency_ms": per_record([r.latency_ms for r in records], pa.float32()),
        "api_key": per_record([r.api_key for r in records], pa.string()),
        # Text tasks have no value, and a record only of the columns beside the text.
        "record": _column_records(records, rows),
        "value": pa.nulls(rows, pa.float64()),
        "first_of_request": pa.array(first, pa.bool_()),
        "arm": per_record([r.arm for r in records], pa.string()),
    }
    if any(r.records for r in records):
        columns.update(_tabular_columns(records, columns, per_record(
            [r.records for r in records], pa.bool_())))  # fmt: skip
    return pa.Table.from_pydict(columns, schema=PREDICTION_SCHEMA)


def _tabular_columns(
    records: Sequence[LogRecord], columns: dict[str, pa.Array], is_record: pa.Array
) -> dict[str, pa.Array]:
    """The columns that differ for rows of records: the JSON record (or nothing when
    hashed) instead of the text, no text length, the regression's value."""
    inputs, nothing = columns["text"], pa.nulls(len(columns["text"]), pa.string())
    gap: list[float | None] = [None]
    values = [v for r in records for v in (r.values or gap * len(r.texts))]
    return {
        "text": pc.if_else(is_record, nothing, inputs),
        "record": pc.if_else(is_record, inputs, columns["record"]),
        "text_chars": pc.if_else(
            is_record, pa.nulls(len(inputs), pa.int32()), columns["text_chars"]
        ),
        "value": pa.array(values, pa.float64()),
    }


def _column_records(records: Sequence[LogRecord], rows: int) -> pa.Array:
    """Per text, the JSON object of its categorical columns; null for a text model that
    reads none (and for tabular rows, whose record ``_tabular_columns`` sets)."""
    if all(r.columns is None for r in records):
        return pa.nulls(rows, pa.string())
    out: list[str | None] = []
    for r in records:
        if r.columns is None:
            out += [None] * len(r.texts)
            continue
        names = list(r.columns)
        rows_of = zip(*r.columns.values(), strict=True) if names else ([()] * len(r.texts))
        out += [orjson.dumps(dict(zip(names, row, strict=True))).decode() for row in rows_of]
    return pa.array(out, pa.string())


def _positions(
    records: Sequence[LogRecord], rows: int, owner: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's index in its request, the request's size and whether the row is the
    request's first logged, for records of which some leave out the items answered with
    an error."""
    index = np.fromiter(
        (i for r in records for i in (r.indexes if r.indexes is not None else range(len(r.texts)))),
        np.int32, rows,
    )  # fmt: skip
    sizes = np.asarray([r.batch_size or len(r.texts) for r in records], np.int32)
    starts = np.asarray([r.indexes[0] if r.indexes else 0 for r in records], np.int32)
    if owner is not None:
        sizes, starts = sizes[owner], starts[owner]
    return index, sizes, index == starts


def feedback_table(records: Sequence[FeedbackRecord]) -> pa.Table:
    """One row per feedback record."""
    names = [f.name for f in fields(FeedbackRecord)]
    columns = {name: [getattr(r, name) for r in records] for name in names}
    columns["timestamp"] = pa.array(columns.pop("ms"), pa.int64()).cast(TIMESTAMP)
    return pa.Table.from_pydict(columns, schema=FEEDBACK_SCHEMA)


def _digest(salt: bytes, text: str) -> str:
    return hmac.new(salt, text.encode(), hashlib.sha256).hexdigest()
