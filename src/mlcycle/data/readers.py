"""Read a labelled text file (CSV or Parquet) into a clean two-column frame.

Every way a file can be wrong ends in one ``DataError`` sentence naming the file and
what to do; nothing here lets a parser traceback reach the user.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mlcycle.core.errors import DataError, NotFound

_DOTTED = re.compile(r"[.\s]")


def read_labelled(path: Path, text_col: str = "text", label_col: str = "nace") -> pd.DataFrame:
    """Columns ``text`` and ``label`` (codes upper-cased, dots removed), no empty rows."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"Data file {path} does not exist; check the path.")
    frame = _read_any(path)
    missing = [c for c in (text_col, label_col) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} has no column {missing[0]!r} (columns: {', '.join(map(str, frame.columns))});"
            " pass --text-col/--label-col."
        )
    out = pd.DataFrame(
        {
            "text": frame[text_col].astype("string").fillna("").str.strip(),
            "label": frame[label_col].astype("string").fillna("").str.upper(),
        }
    )
    out["label"] = out["label"].str.replace(_DOTTED, "", regex=True)
    out = out[(out["text"] != "") & (out["label"] != "")].reset_index(drop=True)
    if out.empty:
        raise DataError(f"{path} has no row with both a text and a label.")
    return out.astype({"text": object, "label": object})


def _read_any(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".tsv"):
            return pd.read_csv(
                path, sep=None, engine="python", dtype=str, encoding_errors="replace"
            )
    except (ValueError, OSError, pd.errors.ParserError, UnicodeError) as exc:
        raise DataError(f"{path} could not be read as {suffix[1:]} ({exc}).") from None
    raise DataError(f"{path} is neither CSV nor Parquet; give a .csv or .parquet file.")
