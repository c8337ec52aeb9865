"""A shadow process that will not stop is killed, and what it journaled reaches the log.

The process here is a real one (spawned, fed over the link's pipe, killed by the link),
with the challenger replaced by a function that journals each request it gets, reports
it scored, and then hangs without reading the stop message.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

import mlcycle
from mlcycle.core.settings import get_settings
from mlcycle.data import predlog
from mlcycle.serve import shadow_link
from mlcycle.serve.journal import Journal, encode, journal_folder
from mlcycle.serve.logrecords import LogRecord
from mlcycle.serve.shadow import ShadowJob
from mlcycle.serve.shadow_link import ShadowLink

TRIALS = 8  # the defect showed in about 1 stop in 5


def _journal_then_hang(conn: Connection, folder: str) -> None:
    """Journal the first group of requests, report them scored, then hang."""
    jobs: list[ShadowJob] = conn.recv()
    journal = Journal(Path(folder))
    for job in jobs:
        record = LogRecord(job.request_id, job.ms, "nace", "2", [job.raw.decode()], [["0111Z"]],
                           [[0.9]], 1.0, None, arm="shadow")  # fmt: skip
        journal.append(encode(record))
    conn.send(("done", [None] * len(jobs)))
    time.sleep(600)  # never reads the stop message


class HangingLink(ShadowLink):
    def _spawn(self) -> tuple[Connection, BaseProcess]:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        folder = journal_folder(self.settings.home, predlog.shadow_root(self.settings))
        process = context.Process(
            target=_journal_then_hang, args=(theirs, str(folder)), daemon=True
        )
        process.start()
        theirs.close()
        with self._lock:
            self._conn, self._process = ours, process
        return ours, process


def _stop_a_hanging_process(trial: int) -> set[str]:
    """Start a link, have 3 requests journaled, stop it; the ids in the shadow log."""
    settings = get_settings()
    link = HangingLink(settings, "nace@challenger", None)
    link.start()
    ids = {f"t{trial}-{n}" for n in range(3)}
    for request_id in sorted(ids):
        assert link.submit(ShadowJob(b"vendeur d'huitres", request_id, 0, None, 1))
    deadline = time.monotonic() + 60
    while link.answered < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert link.answered == 3
    link.stop(timeout=0.1)
    table = predlog.read_log(predlog.shadow_root(settings), columns=["request_id"])
    return set(table.column("request_id").to_pylist()) & ids


def test_a_killed_process_has_its_journaled_answers_written(
    project_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shadow_link, "EXIT_S", 0.2)  # the stop waits this long before killing
    # The spawned processes get this one's sys.path, where a model loaded earlier by
    # plain MLflow leaves its code folder first: a partial copy of mlcycle.
    monkeypatch.syspath_prepend(str(Path(mlcycle.__file__).parents[1]))
    for trial in range(TRIALS):
        assert _stop_a_hanging_process(trial) == {f"t{trial}-{n}" for n in range(3)}, trial
    assert not list(journal_folder(project_home, project_home / "shadow").glob("*.journal"))
