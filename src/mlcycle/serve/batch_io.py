"""Files in and out of batch scoring: a CSV or Parquet file read in chunks, an output
written so that it appears whole or not at all.

Input is read a chunk at a time (Parquet by row groups, CSV by blocks), only the columns
scoring needs, so memory stays flat whatever the file's size. CSV columns are read as
text (codes and ids keep their leading zeros). The output goes to a hidden file beside
its final path and is renamed over it once complete; a failed or interrupted run
removes it (a killed one leaves only that hidden ``.NAME.partial-*`` file, never a
half-written OUTPUT). An fsspec URL output is written locally, uploaded beside the
target and moved onto it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.data.sniff import SAMPLE_BYTES, is_parquet, sniff_csv
from mlcycle.data.sources import is_url

FORMATS = ("parquet", "csv")
_CSV_BLOCK = 8 << 20  # bytes per CSV chunk; big enough that one long text fits in it


@dataclass(frozen=True)
class Input:
    """A local CSV or Parquet file and what scoring may read of it."""

    path: Path
    shown: str
    format: str
    columns: tuple[str, ...]
    rows: int | None  # known for Parquet; None for CSV until read
    delimiter: str | None = None
    encoding: str | None = None


def open_input(path: Path, shown: str, delimiter: str | None = None) -> Input:
    """Look at ``path``: its format, columns and (Parquet) number of rows."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{shown} is not a readable Parquet file ({exc}).") from None
        names = tuple(meta.schema.to_arrow_schema().names)
        return Input(path, shown, "parquet", names, meta.num_rows)
    dialect = sniff_csv(path, delimiter, shown)
    return Input(path, shown, "csv", dialect.header, None, dialect.delimiter, dialect.encoding)


def read_chunks(source: Input, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
    """The ``columns`` of ``source``, at most ``rows`` rows at a time."""
    try:
        if source.format == "parquet":
            import pyarrow.parquet as pq

            # pre_buffer keeps every row group read so far until the file's end: +340 MB
            # over a 10M-row file of texts; without it memory stays flat.
            parquet = pq.ParquetFile(source.path, pre_buffer=False)
            yield from parquet.iter_batches(batch_size=rows, columns=columns)
        else:
            for block in _csv_batches(source, columns):  # blocks of bytes, cut to rows
                for start in range(0, block.num_rows, rows):
                    yield block.slice(start, rows)
    except pa.ArrowInvalid as exc:
        said = str(exc).strip().splitlines()[0]
        raise DataError(f"{source.shown} could not be read past this point: {said}.") from None


def _csv_batches(source: Input, columns: list[str]) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pcsv

    encoding = "utf8" if source.encoding in (None, "utf-8") else source.encoding
    reader = pcsv.open_csv(
        source.path,
        read_options=pcsv.ReadOptions(
            encoding=encoding, column_names=list(source.columns), skip_rows=1,
            block_size=max(_CSV_BLOCK, SAMPLE_BYTES),
        ),
        parse_options=pcsv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=True,
        ),
    )  # fmt: skip
    yield from reader


def output_format(output: str, chosen: str | None) -> str:
    """The output's format: ``chosen``, else by its suffix."""
    if chosen is not None:
        if chosen not in FORMATS:
            raise InvalidInput(f"--format must be parquet or csv, not {chosen!r}.")
        return chosen
    suffix = output.rsplit(".", 1)[-1].lower() if "." in output.rsplit("/", 1)[-1] else ""
    if suffix not in FORMATS:
        raise InvalidInput(f"Name the output .parquet or .csv (or pass --format), not {output!r}.")
    return suffix


class Output:
    """Writes record batches to a hidden partial file; ``commit`` puts it in place."""

    def __init__(self, target: str, fmt: str, overwrite: bool) -> None:
        self.target, self.format = target, fmt
        self.remote = is_url(target) and not target.startswith("file://")
        local = Path(target.removeprefix("file://")).expanduser()
        if self.remote:
            _check_remote_target(target, overwrite)
            local = Path(tempfile.gettempdir()) / Path(target).name
        elif local.exists() and not overwrite:
            raise InvalidInput(f"{target} exists; pass --overwrite to replace it.")
        elif local.is_dir():
            raise InvalidInput(f"{target} is a folder; name a file to write.")
        self.final = local
        self.partial = local.with_name(f".{local.name}.partial-{uuid.uuid4().hex[:8]}")
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def write(self, batch: pa.RecordBatch, metadata: dict[str, str]) -> None:
        """Append ``batch``; the first one fixes the columns (``metadata``: Parquet's)."""
        if self._writer is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._schema = batch.schema
            schema = batch.schema.with_metadata(metadata) if self.format == "parquet" else None
            self._writer = _writer(self.partial, schema or batch.schema, self.format)
        self._writer.write_table(pa.Table.from_batches([batch]).cast(self._schema))

    def commit(self) -> None:
        """Close the file and put it at the target, whole."""
        self._close()
        if self.remote:
            _upload(self.partial, self.target)
            self.partial.unlink(missing_ok=True)
        else:
            os.replace(self.partial, self.final)

    def discard(self) -> None:
        """Close and remove the partial file (a failed or interrupted run)."""
        with contextlib.suppress(Exception):
            self._close()
        self.partial.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _writer(path: Path, schema: pa.Schema, fmt: str) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema)
    import pyarrow.csv as pcsv

    return pcsv.CSVWriter(path, schema)


def _check_remote_target(url: str, overwrite: bool) -> None:
    fs, path = _filesystem(url)
    if fs.exists(path) and not overwrite:
        raise InvalidInput(f"{url} exists; pass --overwrite to replace it.")


def _upload(local: Path, url: str) -> None:
    fs, path = _filesystem(url)
    partial = f"{path}.partial-{uuid.uuid4().hex[:8]}"
    fs.put_file(str(local), partial)
    try:
        fs.mv(partial, path)
    except Exception:
        with contextlib.suppress(Exception):
            fs.rm(partial)
        raise


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InvalidInput(f"Cannot write to {url}: {exc}.") from None
