"""``mlcycle worker``: takes scoring jobs from Redis and scores them chunk by chunk.

Each chunk's answers are written to their own file (``FOLDER/ID/parts/000012.parquet``,
renamed into place once whole) before the job's progress says the chunk is done. A job
taken over from a worker that died skips the chunks whose file exists and scores the
rest: the chunk that was in progress is scored again and its file written once, so no
row is lost and none is written twice. Once every chunk is in, the parts are joined, in
order, into ``FOLDER/ID/result.parquet``. A job is scored with the version its alias
pointed at when it first started, even when resumed after the alias moved.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mlcycle.core.errors import MlcycleError
from mlcycle.data.sources import fetch
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.batch import ChunkReader, Job, numbered
from mlcycle.serve.batch_io import Input, Output, open_input, read_chunks
from mlcycle.serve.job_log import Chunk, JobLog
from mlcycle.serve.jobs import JobQueue, QueueUnavailable

log = logging.getLogger(__name__)
RESULT = "result.parquet"
_RETRY_S = 5.0
Loader = Any  # (ref: str) -> ServedModel


class LeaseLost(Exception):
    """Another worker took the job over (this one was thought dead)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work(queue: JobQueue, folder: Path, load: Loader, stop: threading.Event, chunk_rows: int,
         once: bool = False, job_log: JobLog | None = None) -> int:  # fmt: skip
    """Take and score jobs until ``stop`` is set (``once``: until the queue is empty);
    with ``job_log`` their rows go to the prediction log.

    Returns:
        How many jobs this worker finished.
    """
    name, finished = worker_name(), 0
    while not stop.is_set():
        try:
            queue.requeue_lapsed()
            job_id = queue.claim(name, wait_s=1.0)
        except QueueUnavailable as exc:
            if once:
                raise
            log.warning("%s Trying again in %.0f s.", exc.message, _RETRY_S)
            stop.wait(_RETRY_S)  # a restarted Redis finds its workers still there
            continue
        if job_id is None:
            if once:
                return finished
            continue
        finished += run_job(queue, job_id, name, folder, load, chunk_rows, job_log)
    return finished


def run_job(queue: JobQueue, job_id: str, name: str, folder: Path, load: Loader,
            chunk_rows: int, job_log: JobLog | None = None) -> int:  # fmt: skip
    """Score one claimed job; 1 when it ended here (done or failed), 0 when taken over."""
    record = queue.get(job_id) or {}
    try:
        with _holding(queue, job_id, name) as held:
            served = load(record.get("version") or record["model"])
            queue.update(job_id, version=f"{served.name}/{served.version}")
            claim = _Claim(queue, job_id, record, folder / job_id, chunk_rows, held, job_log)
            rows = _score(claim, served)
    except LeaseLost:
        log.warning("Job %s was taken over by another worker; leaving it.", job_id)
        return 0
    except QueueUnavailable as exc:  # Redis went away: its lease lapses, another resumes it
        log.warning("Job %s stopped: %s", job_id, exc.message)
        return 0
    except MlcycleError as exc:
        queue.finish(job_id, status="failed", error=exc.message)
        return 1
    except OSError as exc:
        said = f"The input {record.get('input')} could not be read ({exc.strerror or exc})."
        queue.finish(job_id, status="failed", error=said)
        return 1
    queue.finish(job_id, status="done", rows_done=rows, result=str(folder / job_id / RESULT))
    return 1


@dataclass(frozen=True)
class _Claim:
    """A job this worker holds: where its record, parts and result are."""

    queue: JobQueue
    job_id: str
    record: dict[str, str]
    where: Path  # FOLDER/ID
    chunk_rows: int
    held: threading.Event  # cleared when another worker took the job over
    log: JobLog | None = None  # where its rows are logged, if anywhere


def _score(claim: _Claim, served: ServedModel) -> int:
    record = claim.record
    with fetch(record["input"], claim.where.parent) as local:  # an object-store URL: copied
        source = open_input(local.path, record.get("shown", record["input"]), None)
        return _score_file(claim, served, source)


def _score_file(claim: _Claim, served: ServedModel, source: Input) -> int:
    record, chunk_rows = claim.record, claim.chunk_rows
    job = Job(int(record.get("k", 5)), record.get("id_col") or None,
              record.get("text_col") or "text", 1, chunk_rows)  # fmt: skip
    reader = ChunkReader(served, source, job)
    parts = claim.where / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    done, chunks = 0, numbered(read_chunks(source, reader.columns, chunk_rows))
    for index, (first, batch) in enumerate(chunks):
        if not claim.held.is_set():
            raise LeaseLost
        part = parts / f"{index:06d}.parquet"
        if not part.exists():  # a resumed job skips what the last worker finished
            _write_part(part, _scored(claim, served, reader, job, Chunk(index, first, batch)))
        done = first + batch.num_rows
        claim.queue.update(claim.job_id, chunks_done=index + 1, rows_done=done)
    _join(parts, claim.where / RESULT, source, served)
    shutil.rmtree(parts, ignore_errors=True)  # only a resumed job needed them
    return done


def _scored(claim: _Claim, served: ServedModel, reader: ChunkReader, job: Job,
            chunk: Chunk) -> Any:  # fmt: skip
    """The output rows of ``chunk``, logged first when the job is (a chunk scored again
    replaces its log rows: ``mlcycle.serve.job_log``)."""
    start = time.perf_counter()
    inputs, answer = reader.predicted(chunk.batch, chunk.first, job)
    if claim.log is not None and claim.record.get("request_id"):  # older jobs have none
        scored = replace(chunk, inputs=inputs, answer=answer, seconds=time.perf_counter() - start)
        claim.log.write(claim.record, served, scored, reader.source.rows, reader.features)
    return reader.answer(chunk.batch, answer, chunk.first, job)


def _write_part(part: Path, batch: Any) -> None:
    partial = part.with_name(f".{part.name}.partial")
    pq.write_table(pa.Table.from_batches([batch]), partial)
    os.replace(partial, part)


def _join(parts: Path, result: Path, source: Input, served: ServedModel) -> None:
    """The parts, in order, as one Parquet file (written whole, then renamed)."""
    out = Output(str(result), "parquet", overwrite=True)
    metadata = {"mlcycle.model": f"{served.name}/{served.version}", "mlcycle.source": source.shown}
    try:
        for part in sorted(parts.glob("*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches():
                out.write(batch, metadata)
        out.commit()
    except BaseException:
        out.discard()
        raise


@contextmanager
def _holding(queue: JobQueue, job_id: str, name: str) -> Iterator[threading.Event]:
    """Renew the job's lease in the background; the event clears if it is lost."""
    held, stop = threading.Event(), threading.Event()
    held.set()
    interval = queue.lease_ms / 3000

    def renew() -> None:
        while not stop.wait(interval):
            try:
                if not queue.renew(job_id, name):
                    held.clear()
                    return
            except MlcycleError:
                log.warning("Cannot renew the lease of job %s; trying again.", job_id)

    thread = threading.Thread(target=renew, name="mlcycle-lease", daemon=True)
    thread.start()
    try:
        yield held
    finally:
        stop.set()
        thread.join()
