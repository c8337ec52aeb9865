"""The prediction log's journal: every answer is in the operating system's hands before
its response is sent.

A worker appends each answered request, one JSON line (``encode``), to a segment file
of its own with one ``os.write`` on an ``O_APPEND`` descriptor: a few microseconds, no
fsync. A worker that dies (SIGKILL, the OOM killer) loses nothing, since the kernel
still has the data; a machine that crashes or loses power may lose the last seconds.
The recorder (``mlcycle.serve.recorder``) writes the Parquet log from memory as before,
sealing the segment those records went to at each write and deleting it once written.

A live process holds an exclusive ``flock`` on each segment it has open; the kernel
drops the lock when the process dies, however it dies. A segment nobody holds is an
orphan: any recorder takes its lock (``orphans``), compacts it into Parquet and deletes
it, so two workers never adopt the same one. Parquet files written from a segment are
named after it, so compacting it again after a crash between the write and the delete
replaces those files instead of adding the rows twice. A line cut short by a death
mid-write has no newline and is skipped, as is any damaged line.

Segments live in ``<home>/spool/predictions-<digest of the log root>``: a local folder
even when the log is on object storage, one per root so a segment always reaches the
log it was meant for.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import orjson

from mlcycle.data.predlog import Root
from mlcycle.serve.logrecords import LogRecord

log = logging.getLogger(__name__)

SUFFIX = ".journal"
# A segment being created is a dot-prefixed temporary file, empty until renamed.
_SEGMENT = re.compile(r"^([0-9a-f]{32})\.journal$")


def journal_folder(home: Path, root: Root) -> Path:
    """Where the journal of the prediction log at ``root`` lives."""
    key = root if isinstance(root, str) else str(Path(root).resolve())
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(home).resolve() / "spool" / f"predictions-{digest}"


def encode(record: LogRecord) -> bytes:
    """One journal line: the record's fields as a JSON array, and a newline."""
    return orjson.dumps(tuple(record), option=orjson.OPT_APPEND_NEWLINE)


def decode(data: bytes) -> tuple[list[LogRecord], int]:
    """The records of a segment's bytes, and how many lines were skipped as damaged."""
    *lines, tail = data.split(b"\n")  # ``tail``: empty, or a line cut short by a death
    records = [_record(line) for line in lines if line]
    kept = [record for record in records if record is not None]
    return kept, len(records) - len(kept) + bool(tail)


def _record(line: bytes) -> LogRecord | None:
    try:
        fields = orjson.loads(line)
        return LogRecord(*fields) if type(fields) is list else None
    except (orjson.JSONDecodeError, TypeError):  # not JSON, or not the record's fields
        return None


class Segment(NamedTuple):
    """One journal file, open and locked by this process."""

    name: str  # 32 hex digits, also the tag of the Parquet files written from it
    path: Path
    fd: int

    def read(self) -> bytes:
        """Everything written to the segment."""
        with open(self.fd, "rb", closefd=False) as file:
            file.seek(0)
            return file.read()

    def release(self, *, delete: bool) -> None:
        """Close it (dropping the lock); deleted first when its rows are written."""
        try:
            if delete:
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)


class Journal:
    """The segments of one recorder: one open for appends, sealed at each write."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._current: Segment | None = None
        self._failing = False  # the last append failed, maybe leaving part of a line

    def append(self, line: bytes) -> None:
        """Hand one encoded record to the OS; a failure is logged, never raised."""
        if self._failing:  # end whatever part of a line a failed write left
            line = b"\n" + line
        try:
            segment = self._current or self._open()
            complete = os.write(segment.fd, line) == len(line)
            reason = "a short write"
        except OSError as exc:
            complete, reason = False, str(exc)
        if not complete and not self._failing:
            log.error(
                "The prediction-log journal in %s cannot be written (%s): answers are "
                "logged from memory only, and lost if this worker dies before writing.",
                self.folder, reason,
            )  # fmt: skip
        elif complete and self._failing:
            log.info("The prediction-log journal in %s is written again.", self.folder)
        self._failing = not complete

    def seal(self) -> Segment | None:
        """The segment appended to so far (None when none); the next append starts one."""
        segment, self._current = self._current, None
        return segment

    def orphans(self) -> Iterator[Segment]:
        """Segments no live process holds, each locked for the caller to release."""
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:  # none yet, or unusable: then append() says so
            return
        for name in names:
            match = _SEGMENT.match(name)
            segment = _lock(self.folder / name, match[1]) if match else None
            if segment is not None:
                yield segment

    def _open(self) -> Segment:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        unnamed = self.folder / f".{name}.tmp"
        fd = os.open(unnamed, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        path = self.folder / f"{name}{SUFFIX}"
        try:
            # Locked before it gets the name other recorders adopt, so no one takes it.
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(unnamed, path)
        except OSError:
            os.close(fd)
            unnamed.unlink(missing_ok=True)
            raise
        self._current = Segment(name, path, fd)
        return self._current


def _lock(path: Path, name: str) -> Segment | None:
    """``path`` opened and locked, or None when a live process holds it or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # gone, or not ours to read
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Another adopter may have compacted and deleted it while we waited to open it.
        if os.fstat(fd).st_ino == os.stat(path).st_ino:
            return Segment(name, path, fd)
    except OSError:  # held by a live process (BlockingIOError), or gone
        pass
    os.close(fd)
    return None
