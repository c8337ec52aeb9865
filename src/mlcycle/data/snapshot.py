"""Content digest and Parquet snapshot of a validated table.

The digest is SHA-256 over the table's logical content (column names and types, each
value's bytes, where the nulls are), not over a file: the same rows give the same
digest however they were read, chunked or compressed, so adding identical content
again is recognised. It is truncated to 32 hex digits (128 bits), which is what
MLflow's dataset inputs can hold.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIGEST_CHARS = 32


def table_digest(table: pa.Table) -> str:
    """The content digest of ``table`` (32 hex digits)."""
    sha = hashlib.sha256()
    sha.update(f"rows={table.num_rows}\n".encode())
    for name in table.column_names:
        column = table.column(name)
        sha.update(f"column={name}:{column.type}\n".encode())
        array = _contiguous(column)
        sha.update(np.packbits(_null_mask(array)).tobytes())
        _hash_values(sha, array)
    return sha.hexdigest()[:DIGEST_CHARS]


def _contiguous(column: pa.ChunkedArray) -> pa.Array:
    if column.num_chunks == 0:
        return pa.array([], column.type)
    return column.combine_chunks()


def _null_mask(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return np.asarray(pc.is_null(array).to_numpy(zero_copy_only=False), dtype=bool)


def _hash_values(sha: Any, array: pa.Array) -> None:
    """Feed each value's bytes, with lengths, independently of buffer layout."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        try:
            array = array.cast(pa.large_string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            sha.update(str(array.to_pylist()).encode())  # nested types: rare, small
            return
    array = pc.fill_null(array, "").cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    sha.update(np.diff(offsets).astype("<i8").tobytes())
    if len(array) and offsets[-1] > offsets[0]:
        data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
        sha.update(data[offsets[0] : offsets[-1]])  # hashed in place, no copy


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` atomically (a temporary file renamed into place)."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=256_000)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a snapshot (all columns, or only ``columns``)."""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns)
