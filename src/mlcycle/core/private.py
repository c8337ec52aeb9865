"""Owner-only files and folders: what mlcycle creates, only its user can read.

The project home holds raw texts (the prediction log), feedback, the tracking database
and dataset snapshots. Every folder mlcycle creates is made ``0700`` and the files it
creates itself ``0600``, whatever the process umask (which can only take bits away).
A ``0700`` home is what makes the rest hold: files other libraries create inside it
(MLflow's artifacts, SQLite's journals) cannot be reached by anyone else. Folders and
files that already exist are never changed: they may be the user's own choice
(``mlcycle doctor`` tightens the home itself when asked).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dirs(path: Path) -> Path:
    """Create ``path`` and any missing parent, each new one owner-only; return ``path``.

    Unlike ``Path.mkdir(parents=True)``, new parents get the same mode as the leaf.
    """
    missing = []
    current = path.absolute()
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            folder.mkdir(mode=DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and owner-only unless it exists; return ``path``.

    Writers that open the path afterwards (Arrow, SQLite) truncate or fill it in
    place, which keeps the mode.
    """
    private_dirs(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return path


def others_can_access(path: Path) -> bool:
    """Whether the group or other users have any permission on ``path``."""
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)
