"""The prediction log and the feedback store: their schema, layout, ids and readers.

The server writes, monitoring reads; both go through this module (monitoring never
imports ``mlcycle.serve``).

Layout: ``<root>/date=YYYY-MM-DD/part-<first ms>-<last ms>-<random>.parquet``, one
folder per UTC day, Hive-style so DuckDB and pyarrow see a ``date`` column. The two
numbers in a file name bound the ``timestamp`` of its rows (Unix milliseconds), which
lets a lookup open only the files that can hold a given request. Files are written to a
dot-prefixed temporary name and renamed, so a reader never sees half a file (readers
skip names starting with ``.``). The roots default to ``<home>/predictions`` and
``<home>/feedback`` (``serve.prediction_log.dir`` and ``.feedback_dir`` move them).

Request ids are UUID version 7 strings: the first 48 bits are the Unix millisecond at
which the server received the request, the same value as the ``timestamp`` column, so an
id alone says which day folder and which files hold it. One request may carry a batch
of texts: each text is one row, addressed by ``(request_id, index)``, its position in
the request's ``texts`` (0 for a single text). Feedback names the same pair.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

PARTITION = "date"
MS_PER_DAY = 86_400_000
TIMESTAMP = pa.timestamp("ms", tz="UTC")
_EPOCH = date(1970, 1, 1)

PREDICTION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("index", pa.int32()),  # position of the text in the request's batch
        ("batch_size", pa.int32()),  # texts in that request
        ("timestamp", TIMESTAMP),  # when the request arrived (the id's time)
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("text", pa.string()),  # null when serve.prediction_log.log_text is false
        ("text_hash", pa.string()),  # HMAC-SHA256(salt, text) hex; null when text is kept
        ("text_chars", pa.int32()),
        ("codes", pa.list_(pa.string())),  # top-k, best first
        ("probabilities", pa.list_(pa.float32())),
        ("latency_ms", pa.float32()),  # the whole request, parse to answer
        ("api_key", pa.string()),  # the key's name (never the key); null without auth
    ]
)

FEEDBACK_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("index", pa.int32()),
        ("timestamp", TIMESTAMP),  # when the feedback arrived
        ("true_code", pa.string()),  # normalised, e.g. 5610A
        ("predicted_code", pa.string()),  # the top-1 code the server answered
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("api_key", pa.string()),
    ]
)

_PART = re.compile(r"^part-(\d+)-(\d+)-[0-9a-f]+\.parquet$")
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def log_roots(settings: Settings) -> tuple[Path, Path]:
    """The prediction-log and feedback roots these settings write to."""
    log = settings.serve.prediction_log
    home = settings.home
    return (log.dir or home / "predictions"), (log.feedback_dir or home / "feedback")


def new_request_id(now_ms: int) -> str:
    """A UUID version 7 for a request received at ``now_ms`` (Unix milliseconds)."""
    # Unique, not secret: Python's generator (seeded from the OS per process) is ~20x
    # cheaper than os.urandom on the request path.
    rand = random.getrandbits(74)
    rand_a, rand_b = rand >> 62, rand & _RAND_B
    value = (now_ms << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def request_id_ms(request_id: str) -> int | None:
    """The millisecond a request id was issued, or None when it is not one of ours."""
    if not isinstance(request_id, str) or not _UUID.match(request_id):
        return None
    return int(request_id[:8] + request_id[9:13], 16)


def day_of(ms: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of a Unix millisecond."""
    return (_EPOCH + timedelta(days=ms // MS_PER_DAY)).isoformat()


def write_partitioned(root: Path, table: pa.Table) -> list[Path]:
    """Write ``table`` under ``root``, one atomic file per UTC day of its ``timestamp``."""
    if table.num_rows == 0:
        return []
    ms = table.column("timestamp").cast(pa.int64()).to_numpy()
    days = ms // MS_PER_DAY
    written = []
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        part = table if len(rows) == table.num_rows else table.take(pa.array(rows))
        part_ms = ms[rows]
        folder = root / f"{PARTITION}={day_of(int(day) * MS_PER_DAY)}"
        name = f"part-{part_ms.min()}-{part_ms.max()}-{uuid.uuid4().hex}.parquet"
        written.append(_write_atomic(folder, name, part))
    return written


def _write_atomic(folder: Path, name: str, table: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temporary = folder / f".{name}.tmp"
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return final


def read_log(
    root: Path,
    schema: pa.Schema = PREDICTION_SCHEMA,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Rows of a log (predictions by default, or ``FEEDBACK_SCHEMA``) with start <= time < end.

    Returns an empty table of the schema when nothing has been written yet. Convert
    with ``.to_pandas()``; DuckDB reads the same folders with
    ``read_parquet('<root>/*/*.parquet', hive_partitioning = true)``.
    """
    wanted = list(columns) if columns is not None else schema.names
    files = [str(p) for p in _files(root, start, end)]
    if not files:
        return schema.empty_table().select(wanted)
    dataset = ds.dataset(files, schema=schema, format="parquet")
    where = None
    if start is not None:
        where = ds.field("timestamp") >= pa.scalar(start, TIMESTAMP)
    if end is not None:
        before = ds.field("timestamp") < pa.scalar(end, TIMESTAMP)
        where = before if where is None else where & before
    return dataset.to_table(columns=wanted, filter=where)


def find_predictions(root: Path, request_ids: Iterable[str]) -> pa.Table:
    """The logged rows of these request ids (only the files whose time range fits)."""
    wanted = {rid: ms for rid in set(request_ids) if (ms := request_id_ms(rid)) is not None}
    files = {
        path
        for ms in set(wanted.values())
        for path, first, last in _parts(root / f"{PARTITION}={day_of(ms)}")
        if first <= ms <= last
    }
    if not files:
        return PREDICTION_SCHEMA.empty_table()
    dataset = ds.dataset(sorted(map(str, files)), schema=PREDICTION_SCHEMA, format="parquet")
    return dataset.to_table(filter=ds.field("request_id").isin(sorted(wanted)))


def _files(root: Path, start: datetime | None, end: datetime | None) -> list[Path]:
    if not root.is_dir():
        return []
    first = start.astimezone(UTC).date().isoformat() if start else ""
    last = end.astimezone(UTC).date().isoformat() if end else "9999"
    out = []
    for folder in sorted(root.glob(f"{PARTITION}=*")):
        day = folder.name.partition("=")[2]
        if first <= day <= last:
            out += [path for path, _, _ in _parts(folder)]
    return out


def _parts(folder: Path) -> list[tuple[Path, int, int]]:
    """The finished files of one day folder with the time range in their names."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    out = []
    for entry in entries:
        match = _PART.match(entry.name)
        if match:
            out.append((Path(entry.path), int(match[1]), int(match[2])))
    return sorted(out, key=lambda part: part[1])
