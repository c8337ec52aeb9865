"""The prediction log and the feedback store: their schema, layout, ids and readers.

The server writes, monitoring reads; both go through this module (monitoring never
imports ``mlcycle.serve``).

Layout: ``<root>/date=YYYY-MM-DD/part-<first ms>-<last ms>-<random>.parquet``, one
folder per UTC day, Hive-style so DuckDB and pyarrow see a ``date`` column. The two
numbers in a file name bound the ``timestamp`` of its rows (Unix milliseconds), which
lets a lookup open only the files that can hold a given request. Local files are
written to a dot-prefixed temporary name and renamed, so a reader never sees half a file
(readers skip names that do not match the pattern); on object storage each file is one
PUT, which is whole or absent. Local folders and files are created owner-only (they hold
raw texts), whatever the umask; a folder that already exists keeps its mode. The roots
default to ``<home>/predictions`` and ``<home>/feedback``; ``serve.prediction_log.dir``
and ``.feedback_dir`` move them to another folder or to an fsspec URL
(``s3://bucket/predictions``).

Request ids are UUID version 7 strings: the first 48 bits are the Unix millisecond at
which the server received the request, the same value as the ``timestamp`` column, so an
id alone says which day folder and which files hold it. The other 74 bits come from the
operating system's CSPRNG, so an id cannot be guessed from the ids a client has seen.
One request may carry a batch of texts: each text is one row, addressed by
``(request_id, index)``, its position in the request's ``texts`` (0 for a single text).
Feedback names the same pair. A text answered with an error instead of a prediction
(blank, not a string, too long) has no row; the others keep their position.

A file that is not a whole Parquet file (0 bytes, or cut short by a crash or a full
disk) is skipped by every reader here and by monitoring (:func:`damage`), and reported
to the caller as a :class:`Skipped`, never fatal.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mlcycle.core.private import private_dirs, private_file

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

# A local folder, or an fsspec URL such as s3://bucket/predictions (object storage).
Root = Path | str

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
        ("codes", pa.list_(pa.string())),  # top-k labels, best first (classification)
        ("probabilities", pa.list_(pa.float32())),
        ("latency_ms", pa.float32()),  # the whole request, parse to answer
        ("api_key", pa.string()),  # the key's name (never the key); null without auth
        # Tabular tasks: the input record as a JSON object (text tasks: the categorical
        # columns read beside the text, null for a model that reads none), and the
        # predicted value of a regression (null for classification). Files written
        # before these columns read them as null.
        ("record", pa.string()),
        ("value", pa.float64()),
        # True on one row per request, its first logged: the row of text 0 unless the
        # request's first texts were answered with an error (those have no row). Counts
        # and latencies per request read these rows; files written before the column
        # read it as null, which means ``index = 0``.
        ("first_of_request", pa.bool_()),
        # Which side of an online experiment answered (``mlcycle serve`` with
        # serve.experiment): ``champion`` or ``canary`` in this log, ``shadow`` in the
        # shadow log (the challenger's answers nobody received, :func:`shadow_root`).
        # Null outside experiments and in files written before the column: the champion.
        ("arm", pa.string()),
    ]
)

FEEDBACK_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("index", pa.int32()),
        ("timestamp", TIMESTAMP),  # when the feedback arrived
        ("true_code", pa.string()),  # the true label (classification), normalised
        ("predicted_code", pa.string()),  # the top-1 label the server answered
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("api_key", pa.string()),
        ("true_value", pa.float64()),  # the true value of a regression (else null)
    ]
)

_REPEATED = ("request_id", "model_name", "model_version", "api_key", "codes", "true_code",
             "predicted_code")  # fmt: skip
_FILTERED = ("request_id", "timestamp", "index")
_PART = re.compile(r"^part-(\d+)-(\d+)-[0-9a-f]+\.parquet$")
_HEX = re.compile(r"^[0-9a-f]+$")
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
_RAND_BYTES = 10  # 80 bits drawn per id, 74 of them used
_IDS_PER_DRAW = 256
# What a request id looks like (also published in the API's OpenAPI schema).
REQUEST_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_UUID = re.compile(REQUEST_ID_PATTERN)
_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Skipped:
    """A log file a reader left out, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def log_roots(settings: Settings) -> tuple[Root, Root]:
    """The prediction-log and feedback roots these settings write to."""
    log = settings.serve.prediction_log
    home = settings.home
    return _root(log.dir, home / "predictions"), _root(log.feedback_dir, home / "feedback")


def shadow_root(settings: Settings) -> Root:
    """Where a shadow challenger's answers are logged (same schema, ``arm`` = shadow):
    kept apart, so monitoring the answers clients got never counts them."""
    return _root(settings.serve.prediction_log.shadow_dir, settings.home / "shadow")


def _root(value: Path | str | None, default: Path) -> Root:
    if value is None:
        return default
    return str(value) if "://" in str(value) else Path(value)


# The random part of ids to come, version and variant bits already set. One os.urandom
# call per id would cost more than the rest of the id (benchmarks/bench_request_id.py);
# drawing for many ids at once keeps ids secret at nearly the cost of `random`, whose
# Mersenne Twister a client could predict from the ids it has seen.
_RANDOM_BITS: deque[int] = deque()
# A forked worker must not hand out the ids its parent drew.
os.register_at_fork(after_in_child=_RANDOM_BITS.clear)


def new_request_id(now_ms: int) -> str:
    """A UUID version 7 for a request received at ``now_ms`` (Unix milliseconds)."""
    try:
        bits = _RANDOM_BITS.popleft()  # atomic: each value goes to one caller, any thread
    except IndexError:
        bits = _draw_random_bits()
    h = f"{(now_ms << 80) | bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _draw_random_bits() -> int:
    """Refill the pool from the OS's CSPRNG; returns one more value for the caller."""
    block = os.urandom(_RAND_BYTES * _IDS_PER_DRAW)
    draws = (int.from_bytes(block[i : i + _RAND_BYTES]) for i in range(0, len(block), _RAND_BYTES))
    values = [_VERSION_7 | _VARIANT | ((r >> 62 & 0xFFF) << 64) | (r & _RAND_B) for r in draws]
    _RANDOM_BITS.extend(values[1:])
    return values[0]


def request_id_ms(request_id: str) -> int | None:
    """The millisecond a request id was issued, or None when it is not one of ours."""
    if not isinstance(request_id, str) or not _UUID.match(request_id):
        return None
    return int(request_id[:8] + request_id[9:13], 16)


def day_of(ms: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of a Unix millisecond."""
    return (_EPOCH + timedelta(days=ms // MS_PER_DAY)).isoformat()


def write_partitioned(root: Root, table: pa.Table, *, tag: str | None = None) -> list[str]:
    """Write ``table`` under ``root``, one whole file per UTC day of its ``timestamp``.

    ``tag`` (hex digits) replaces the random end of the file names: writing the same
    rows again with the same tag replaces the files instead of adding a copy.
    """
    if tag is not None and not _HEX.match(tag):
        raise ValueError(f"A log file tag is hex digits, not {tag!r}.")
    if table.num_rows == 0:
        return []
    ms = table.column("timestamp").cast(pa.int64()).to_numpy()
    days = ms // MS_PER_DAY
    written = []
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        part = table if len(rows) == table.num_rows else table.take(pa.array(rows))
        part_ms = ms[rows]
        folder = f"{PARTITION}={day_of(int(day) * MS_PER_DAY)}"
        name = f"part-{part_ms.min()}-{part_ms.max()}-{tag or uuid.uuid4().hex}.parquet"
        written.append(_write_whole(root, folder, name, part))
    return written


def _write_whole(root: Root, folder: str, name: str, table: pa.Table) -> str:
    options = {
        "compression": "zstd",
        # Dictionaries only where values repeat, statistics only on the columns lookups
        # filter on: a third less CPU per row than the defaults.
        "use_dictionary": [c for c in _REPEATED if c in table.column_names],
        "write_statistics": [c for c in _FILTERED if c in table.column_names],
    }
    fs, base = _filesystem(root)
    if fs is not None:  # object storage: one PUT shows the object whole or not at all
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **options)
        path = f"{base.rstrip('/')}/{folder}/{name}"
        fs.pipe_file(path, sink.getvalue().to_pybytes())
        return path
    directory = private_dirs(Path(base) / folder)
    temporary = directory / f".{name}.tmp"
    try:
        # A path, not a Python file object: Arrow then writes without calling back into
        # Python, so the GIL stays free for the server's requests. It fills the
        # owner-only file made here, keeping its mode.
        pq.write_table(table, str(private_file(temporary)), **options)
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, directory / name)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return str(directory / name)


def read_log(
    root: Root,
    schema: pa.Schema = PREDICTION_SCHEMA,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
    skipped: list[Skipped] | None = None,
) -> pa.Table:
    """Rows of a log (predictions by default, or ``FEEDBACK_SCHEMA``) with start <= time < end.

    Returns an empty table of the schema when nothing has been written yet. Convert
    with ``.to_pandas()``; DuckDB reads the same folders with
    ``read_parquet('<root>/*/*.parquet', hive_partitioning = true)``. Files that are
    not whole Parquet files are left out and added to ``skipped`` when it is given.
    """
    wanted = list(columns) if columns is not None else schema.names
    first = start.astimezone(UTC).date().isoformat() if start else ""
    last = end.astimezone(UTC).date().isoformat() if end else "9999"
    listed = [
        path for day in _days(root) if first <= day <= last for path, _, _ in _parts(root, day)
    ]
    files = _whole_files(root, listed, skipped)
    if not files:
        return schema.empty_table().select(wanted)
    where = None
    if start is not None:
        where = ds.field("timestamp") >= pa.scalar(start, TIMESTAMP)
    if end is not None:
        before = ds.field("timestamp") < pa.scalar(end, TIMESTAMP)
        where = before if where is None else where & before
    return _dataset(root, files, schema).to_table(columns=wanted, filter=where)


def find_predictions(
    root: Root, request_ids: Iterable[str], skipped: list[Skipped] | None = None
) -> pa.Table:
    """The logged rows of these request ids (only the files whose time range fits).

    Files that are not whole Parquet files are left out and added to ``skipped``.
    """
    wanted = {rid: ms for rid in set(request_ids) if (ms := request_id_ms(rid)) is not None}
    listed = {
        path
        for ms in set(wanted.values())
        for path, first, last in _parts(root, day_of(ms))
        if first <= ms <= last
    }
    files = _whole_files(root, sorted(listed), skipped)
    if not files:
        return PREDICTION_SCHEMA.empty_table()
    dataset = _dataset(root, files, PREDICTION_SCHEMA)
    return dataset.to_table(filter=ds.field("request_id").isin(sorted(wanted)))


def damage(path: str, fs: Any = None) -> str | None:
    """Why a log file is not a whole Parquet file (a crash mid-write, a full disk), or None.

    Reads only its first and last bytes. ``fs`` is the fsspec filesystem of ``path``,
    None for a local file.
    """
    try:
        size = os.path.getsize(path) if fs is None else fs.size(path)
        if size < 12:
            return f"only {size} bytes: not a Parquet file (cut short?)"
        with open(path, "rb") if fs is None else fs.open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(size - 8)
            tail = handle.read(8)
    except OSError as exc:
        return f"unreadable ({exc})"
    footer = int.from_bytes(tail[:4], "little")
    if head != _MAGIC or tail[4:] != _MAGIC or footer > size - 12:
        return "no Parquet footer: the file was cut short (a crash while writing?)"
    return None


def _whole_files(root: Root, paths: list[str], skipped: list[Skipped] | None) -> list[str]:
    """The paths that are whole Parquet files; the others go to ``skipped``."""
    fs, _ = _filesystem(root)
    whole = []
    for path in paths:
        reason = damage(path, fs)
        if reason is None:
            whole.append(path)
        elif skipped is not None:
            skipped.append(Skipped(path if fs is None else fs.unstrip_protocol(path), reason))
    return whole


def _filesystem(root: Root) -> tuple[Any, str]:
    """(fsspec filesystem, path) for a URL root; (None, path) for a local folder."""
    text = str(root)
    if "://" not in text:
        return None, text
    import fsspec

    return fsspec.core.url_to_fs(text)


def _dataset(root: Root, files: list[str], schema: pa.Schema) -> ds.Dataset:
    fs, _ = _filesystem(root)
    return ds.dataset(files, schema=schema, format="parquet", filesystem=fs)


def _listing(root: Root, sub: str = "") -> list[str]:
    """Names in ``root/sub`` (empty when it does not exist)."""
    fs, base = _filesystem(root)
    folder = f"{base.rstrip('/')}/{sub}" if sub else base
    try:
        if fs is None:
            return os.listdir(folder)
        return [name.rstrip("/").rsplit("/", 1)[-1] for name in fs.ls(folder, detail=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _days(root: Root) -> list[str]:
    """The day folders of a log, oldest first."""
    prefix = f"{PARTITION}="
    return sorted(n.removeprefix(prefix) for n in _listing(root) if n.startswith(prefix))


def _parts(root: Root, day: str) -> list[tuple[str, int, int]]:
    """The finished files of one day with the time range in their names, oldest first.

    Temporary files (dot-prefixed) do not match the name pattern, so they are never read.
    """
    fs, base = _filesystem(root)
    folder = f"{base.rstrip('/')}/{PARTITION}={day}"
    out = []
    for name in _listing(root, f"{PARTITION}={day}"):
        match = _PART.match(name)
        if match:
            path = f"{folder}/{name}" if fs is not None else os.path.join(folder, name)
            out.append((path, int(match[1]), int(match[2])))
    return sorted(out, key=lambda part: part[1])
