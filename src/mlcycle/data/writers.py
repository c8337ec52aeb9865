"""Write a data set as a user's file: CSV or Parquet by the suffix, atomically."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pandas as pd

from mlcycle.core.errors import InvalidInput

_FORMATS = {".csv": "csv", ".parquet": "parquet"}


def dataset_format(path: Path) -> str:
    """The file format a dataset path asks for, from its suffix.

    Raises:
        InvalidInput: If the suffix is neither ``.csv`` nor ``.parquet``.
    """
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"Cannot write {Path(path).name!r}: the file name must end in .csv or .parquet."
        )
    return fmt


def write_dataset(df: pd.DataFrame, path: Path) -> None:
    """Write a dataset as CSV (UTF-8, with header) or Parquet, chosen by the suffix.

    The frame goes to a temporary file in the target folder, then replaces the target
    in one rename, so a crash never leaves a half-written dataset behind.

    Raises:
        InvalidInput: If the suffix is unknown or the folder cannot be written.
    """
    path = Path(path)
    fmt = dataset_format(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write {path}: {exc.strerror or exc}; choose a writable folder."
        ) from exc
    finally:
        # Gone after a successful rename; the folder may not even exist after a failure.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
