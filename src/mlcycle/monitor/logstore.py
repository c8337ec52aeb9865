"""The log store: DuckDB over the Parquet prediction log and feedback, wherever they live.

The roots are a local folder or any fsspec URL (``s3://bucket/predictions``,
``memory://...``); the same code lists the files with fsspec and hands DuckDB the
filesystem, so object storage needs no DuckDB extension and nothing is downloaded at
run time. Only the files that can hold the window are opened (the day folder and the
time range in each file name, see :mod:`mlcycle.data.predlog`). A file a crash cut
short (no Parquet footer) is skipped and reported, never fatal.

:meth:`LogStore.open_window` loads one window into DuckDB temporary tables ``p``
(predictions) and ``f`` (the latest feedback per prediction); every figure is then an
aggregate query on them, so no raw row ever becomes a Python object.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mlcycle.data.predlog import (
    FEEDBACK_SCHEMA,
    PARTITION,
    PREDICTION_SCHEMA,
    Skipped,
    damage,
    log_roots,
)

if TYPE_CHECKING:
    import duckdb

    from mlcycle.core.settings import Settings

_PART = re.compile(r"part-(\d+)-(\d+)-[0-9a-f]+\.parquet$")


@dataclass
class Scan:
    """The readable files of one log for a time range, and the ones skipped."""

    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.astimezone(UTC).timestamp() * 1000)


class LogStore:
    """The prediction log and feedback of one project, local or on object storage."""

    def __init__(self, predictions: str | Path, feedback: str | Path) -> None:
        import fsspec

        self.fs, self._pred_root = fsspec.core.url_to_fs(str(predictions))
        fb_fs, self._fb_root = fsspec.core.url_to_fs(str(feedback))
        if type(fb_fs) is not type(self.fs):
            raise ValueError("The prediction log and the feedback must be on the same storage.")
        self.location = str(predictions)

    @classmethod
    def from_settings(cls, settings: Settings) -> LogStore:
        """The roots the server of these settings writes to."""
        predictions, feedback = log_roots(settings)
        return cls(predictions, feedback)

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    def scan(self, kind: str, start: datetime | None, end: datetime | None) -> Scan:
        """Files of ``kind`` (``predictions`` or ``feedback``) that may hold [start, end)."""
        root = self._pred_root if kind == "predictions" else self._fb_root
        first, last = _ms(start), _ms(end)
        day_lo = start.astimezone(UTC).date().isoformat() if start else ""
        day_hi = end.astimezone(UTC).date().isoformat() if end else "9999"
        scan = Scan()
        try:
            paths = self.fs.glob(f"{root.rstrip('/')}/{PARTITION}=*/part-*.parquet")
        except FileNotFoundError:
            return scan
        for path in sorted(paths):
            day = path.rsplit("/", 2)[-2].partition("=")[2]
            match = _PART.search(path)
            if not match or not day_lo <= day <= day_hi:
                continue
            if (last is not None and int(match[1]) >= last) or (
                first is not None and int(match[2]) < first
            ):
                continue
            problem = damage(path, self.fs)
            shown = path if self.is_local else self.fs.unstrip_protocol(path)
            if problem:
                scan.skipped.append(Skipped(shown, problem))
            else:
                scan.files.append(shown)
        return scan

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A private in-memory DuckDB that can read this store's files."""
        import duckdb

        con = duckdb.connect(":memory:")
        if not self.is_local:
            con.register_filesystem(self.fs)
        return con

    def top1_histogram(self, start: datetime, end: datetime, bins: int) -> list[tuple[int, int]]:
        """``(bin, count)`` of top-1 probabilities in [start, end), read straight from the
        files (only two columns: no table is built)."""
        con = self.connect()
        try:
            source = _source(con, self.scan("predictions", start, end).files, PREDICTION_SCHEMA)
            return con.execute(
                f"""SELECT least(floor(probabilities[1] * {bins}), {bins - 1})::INT, count(*)
                    FROM {source} WHERE "timestamp" >= ? AND "timestamp" < ?
                    AND probabilities[1] IS NOT NULL GROUP BY 1""",
                [start, end],
            ).fetchall()
        finally:
            con.close()

    @contextlib.contextmanager
    def open_window(self, start: datetime, end: datetime) -> Iterator[Window]:
        """A DuckDB holding the window's predictions (``p``) and their feedback (``f``)."""
        con = self.connect()
        try:
            predictions = self.scan("predictions", start, end)
            feedback = self.scan("feedback", start, None)
            _load_predictions(con, predictions.files, start, end)
            _load_feedback(con, feedback.files, start)
            yield Window(con, start, end, predictions, feedback)
        finally:
            con.close()


@dataclass
class Window:
    """An open window: the DuckDB connection and what was (and was not) read."""

    con: duckdb.DuckDBPyConnection
    start: datetime
    end: datetime
    predictions: Scan
    feedback: Scan

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def records(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name (aggregates only: few rows)."""
        cursor = self.con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @property
    def skipped(self) -> list[Skipped]:
        return self.predictions.skipped + self.feedback.skipped


def _source(con: duckdb.DuckDBPyConnection, files: list[str], schema: pa.Schema) -> str:
    """A FROM clause over the files with every column of ``schema``.

    Files written before a column existed (``record``, ``value``, ``true_value``) read it
    as null: ``union_by_name`` matches the files' columns by name, and the union with an
    empty table of the schema adds a column that no file of the window has yet.
    """
    name = f"empty_{len(schema.names)}_{id(schema)}"
    con.register(name, schema.empty_table())
    if not files:
        return name
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        f"(SELECT * FROM read_parquet([{listed}], hive_partitioning = false, "
        f"union_by_name = true) UNION ALL BY NAME SELECT * FROM {name})"
    )


def _load_predictions(con: Any, files: list[str], start: datetime, end: datetime) -> None:
    source = _source(con, files, PREDICTION_SCHEMA)
    con.execute(
        f"""
        CREATE TEMP TABLE p AS
        SELECT request_id, "index", epoch_ms("timestamp") AS ms, model_version,
               text, text_chars, codes[1] AS top1, codes[1:5] AS top5,
               probabilities[1] AS p1, latency_ms, record, value,
               coalesce(first_of_request, "index" = 0) AS first_of_request
        FROM {source}
        WHERE "timestamp" >= ? AND "timestamp" < ?
        """,
        [start, end],
    )


def _load_feedback(con: Any, files: list[str], start: datetime) -> None:
    source = _source(con, files, FEEDBACK_SCHEMA)
    # A prediction labelled twice counts once, with its latest label.
    con.execute(
        f"""
        CREATE TEMP TABLE f AS
        SELECT request_id, "index", true_code, true_value
        FROM {source}
        WHERE "timestamp" >= ?
        QUALIFY row_number() OVER (PARTITION BY request_id, "index" ORDER BY "timestamp" DESC) = 1
        """,
        [start],
    )


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
