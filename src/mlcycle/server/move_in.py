"""Moving in: an embedded store (a project home's SQLite) copied into the team server.

This module holds what the server layer can do alone: name the source store, point
MLflow at one store or the other, and copy the dataset versions. The registered models
and their audit trail go through the registry, above this layer
(:mod:`mlcycle.loop.move_in` strings the two together).

Every step is idempotent: a dataset version whose content the server already holds
under the same name is not added again (``data add`` dedups by digest).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.settings import Settings
from mlcycle.core.tracking import pointed_at

_SQLITE = "sqlite:///"


@dataclass(frozen=True)
class Source:
    """The embedded store to copy: its project home and its tracking URI."""

    home: Path
    uri: str  # sqlite:///ABSOLUTE/PATH: the same text each run, as copies record it


@dataclass
class DatasetsMoved:
    """Dataset versions added to the server, and those it already held (``NAME@V``)."""

    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def source_store(text: str) -> Source:
    """The store ``text`` names: a project home holding ``mlflow.db``, or a sqlite:/// URI.

    Raises:
        NotFound: Nothing is there.
        InvalidInput: What is there is no embedded MLflow store.
    """
    path = Path(text.removeprefix(_SQLITE)).expanduser()
    if not path.exists():
        raise NotFound(f"{text} does not exist; name a project home or a sqlite:/// URI.")
    database = path / "mlflow.db" if path.is_dir() else path
    if not database.is_file() or not _is_mlflow_db(database):
        raise InvalidInput(
            f"{text} holds no embedded MLflow store (no mlflow.db of MLflow's); name the "
            "project home that holds one, or its sqlite:/// URI."
        )
    database = database.resolve()
    return Source(database.parent, f"{_SQLITE}{database}")


def _is_mlflow_db(database: Path) -> bool:
    """Whether ``database`` is an SQLite file with MLflow's tables (opened read-only)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            found = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'experiments'"
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def store_settings(settings: Settings, uri: str, home: Path | None = None) -> Settings:
    """``settings`` pointed at the store ``uri`` (and the embedded store's ``home``)."""
    update: dict[str, object] = {"tracking_uri": uri}
    if home is not None:
        update["home"] = home
    return settings.model_copy(update=update)


def move_datasets(source: Source, url: str, settings: Settings) -> DatasetsMoved:
    """Add every dataset version of ``source`` to the server at ``url``, in version order.

    Each version's stored snapshot is added under the same name through ``data add``, so
    it is validated like any file and skipped when the server holds the same content.
    """
    from mlcycle.data.ingest import add_dataset
    from mlcycle.data.store import DATA_FILE, list_versions, local_file, read_metadata

    here = store_settings(settings, source.uri, source.home)
    with pointed_at(source.uri):
        # An embedded store keeps its files in place: the paths stay valid after the block.
        files = [
            (v, local_file(v, DATA_FILE, here), read_metadata(v, here))
            for v in list_versions(None, here)
        ]
    moved = DatasetsMoved()
    target = store_settings(settings, url)
    with pointed_at(url):
        for version, path, metadata in files:
            added = add_dataset(str(path), version.name, **_columns(metadata), settings=target)
            (moved.added if added.created else moved.skipped).append(version.ref)
    return moved


def _columns(metadata: dict[str, object]) -> dict[str, str | None]:
    """The columns to read a stored snapshot with, whatever this project names.

    A snapshot of the text task keeps its columns as ``text`` and the target column
    (renamed on the way in); a tabular one keeps the file's names and its target.
    """
    label = metadata.get("target_column")
    text = "text" if metadata.get("text_col") else None
    return {"text_col": text, "label_col": str(label) if label else None}
