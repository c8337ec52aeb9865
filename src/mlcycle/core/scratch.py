"""Work folders under the project home that a killed process cannot leave for good.

A command that needs room for temporary files takes ``<home>/tmp/<purpose>-<id>/``
and holds an exclusive ``flock`` on ``<home>/tmp/<purpose>-<id>.lock`` while it
works. The kernel drops that lock when the process ends, however it ends (SIGKILL
included), so any later process tells a folder in use from a leftover by trying the
lock: if it gets it, the owner is gone, and the folder can go. That needs no clock
and no process id (which another process may reuse, or which another container on
the same machine would not see). The folders live under the home, not in ``/tmp``:
the home is private, on the same disk as the embedded store, and a later mlcycle
command knows where to look.

Order matters: an owner creates and locks its lock file before its folder, and
removes the folder before the lock file, so a folder without a lock file is always a
leftover. POSIX only (``fcntl``), like the rest of the serving stack.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from mlcycle.core.private import FILE_MODE, private_dirs

SCRATCH = "tmp"
_LOCK = ".lock"


def scratch_root(home: Path) -> Path:
    """Where the work folders of a project home live."""
    return home.resolve() / SCRATCH


@contextlib.contextmanager
def scratch_dir(home: Path, purpose: str) -> Iterator[Path]:
    """A fresh owner-only folder ``<home>/tmp/<purpose>-<id>``, locked while in use.

    The folder and its lock are removed on exit; if the process is killed instead,
    :func:`remove_if_abandoned` removes them later.
    """
    root = private_dirs(scratch_root(home))
    lock, descriptor = _new_lock(root, purpose)
    folder = root / lock.name.removesuffix(_LOCK)
    try:
        private_dirs(folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(descriptor)


def _new_lock(root: Path, purpose: str) -> tuple[Path, int]:
    """A new lock file under ``root``, locked by this process."""
    while True:
        lock = root / f"{purpose}-{uuid.uuid4().hex[:16]}{_LOCK}"
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        if _still_named(lock, descriptor):
            return lock, descriptor
        # A sweep took the unlocked new file for a leftover and removed it: try another.
        os.close(descriptor)


def _still_named(path: Path, descriptor: int) -> bool:
    """Whether ``path`` is still the file open as ``descriptor`` (not removed since)."""
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False


def in_use(folder: Path) -> bool:
    """Whether a live process holds the work folder ``folder`` (its lock is taken)."""
    try:
        descriptor = os.open(folder.with_name(folder.name + _LOCK), os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell (not ours to read): assume someone is working
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # also releases the lock if we got it


def leftovers(home: Path) -> list[Path]:
    """The work folders (or lone lock files) of a home whose owner is gone."""
    root = scratch_root(home)
    if not root.is_dir():
        return []
    names = {name.removesuffix(_LOCK) for name in os.listdir(root)}
    return [root / name for name in sorted(names) if not in_use(root / name)]


def remove_if_abandoned(folder: Path) -> bool:
    """Remove ``folder`` and its lock while holding that lock, if nobody else does."""
    lock = folder.with_name(folder.name + _LOCK)
    try:
        descriptor = os.open(lock, os.O_RDWR)
    except FileNotFoundError:  # a folder without a lock is a leftover (see the module)
        shutil.rmtree(folder, ignore_errors=True)
        return not folder.exists()
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not _still_named(lock, descriptor):
            return False  # another sweep removed it first
        shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
