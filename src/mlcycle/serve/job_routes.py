"""``/jobs``: score a whole file in the background (``mlcycle worker`` does the work).

``POST /jobs`` takes either JSON naming the input (``{"input": "inbox/march.csv"}``, a
file under the jobs folder's ``inbox/``, or an object-store URL such as ``s3://...``;
options ``model``, ``k``, ``id_col``, ``text_col``) or the file itself as the body
(``text/csv``, ``application/vnd.apache.parquet`` or ``application/octet-stream``; the
options as query parameters). It answers 202 with the job's id at once. ``GET
/jobs/{id}`` gives its status and progress, ``GET /jobs/{id}/result`` its Parquet result
once done. Paths outside the inbox are refused: a client never makes the server read
its other files. Without Redis the routes answer 503 and ``/predict`` goes on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import Conflict, InvalidInput, NotFound
from mlcycle.data.sources import is_url
from mlcycle.serve.auth import API_KEY_SCOPE
from mlcycle.serve.jobs import JobQueue
from mlcycle.serve.responses import json_response

JOBS_PATH = "/jobs"
REMOTE = ("s3", "gs", "gcs", "az", "abfs", "abfss")
UPLOADS = {"text/csv": ".csv", "application/vnd.apache.parquet": ".parquet",
           "application/octet-stream": ".bin"}  # fmt: skip
_SHOWN = ("id", "request_id", "status", "model", "version", "shown", "k", "id_col", "text_col",
          "created", "finished", "chunks_done", "rows_done", "resumed", "error")  # fmt: skip


@dataclass(frozen=True)
class JobsApi:
    """What the routes need: the queue, the shared folder and the served model's ref."""

    queue: JobQueue
    folder: Path
    model: str
    max_upload_bytes: int = 2 << 30


def add_job_routes(app: FastAPI, jobs: JobsApi) -> None:
    @app.post(JOBS_PATH, summary="Score a whole file in the background", status_code=202)
    async def submit(request: Request) -> Response:
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                raise InvalidInput("The body is not valid JSON.") from None
            spec = _named_input(body, jobs)
        elif kind in UPLOADS:
            path = await _upload(request.stream(), jobs, UPLOADS[kind])
            spec = _options(dict(request.query_params), jobs) | {"input": str(path),
                                                                  "shown": "upload"}  # fmt: skip
        else:
            raise InvalidInput(
                "Send JSON naming the input, or the file itself as text/csv, "
                "application/vnd.apache.parquet or application/octet-stream."
            )
        # Who queued it, for the prediction log (the key's name, never the key).
        spec["api_key"] = request.scope.get(API_KEY_SCOPE) or ""
        record = await run_in_threadpool(jobs.queue.submit, spec)
        return json_response(202, _shown(record))

    @app.get("/jobs/{job_id}", summary="A job's status and progress")
    async def status(job_id: str) -> Response:
        return json_response(200, _shown(await _record(jobs, job_id)))

    @app.get("/jobs/{job_id}/result", summary="A finished job's Parquet result")
    async def result(job_id: str) -> Response:
        record = await _record(jobs, job_id)
        if record.get("status") != "done":
            raise Conflict(
                f"Job {job_id} is {record.get('status')} ({record.get('rows_done', 0)} rows "
                "done); its result is ready once its status is done."
            )
        return FileResponse(record["result"], media_type="application/vnd.apache.parquet",
                            filename=f"{job_id}.parquet")  # fmt: skip


async def _record(jobs: JobsApi, job_id: str) -> dict[str, str]:
    record = await run_in_threadpool(jobs.queue.get, job_id)
    if record is None:
        raise NotFound(f"There is no job {job_id!r}; POST /jobs answered its id.")
    return record


def _named_input(body: Any, jobs: JobsApi) -> dict[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("input"), str):
        raise InvalidInput('The body must be {"input": "inbox/FILE" or "s3://...", ...}.')
    named = body["input"]
    options = _options({k: v for k, v in body.items() if k != "input"}, jobs)
    if is_url(named):
        if named.split("://", 1)[0].lower() not in REMOTE:
            raise InvalidInput(f"An input URL must be in an object store ({', '.join(REMOTE)}).")
        where = named
    else:
        inbox = (jobs.folder / "inbox").resolve()
        path = (inbox / named.removeprefix("inbox/")).resolve()
        if not path.is_relative_to(inbox):
            raise InvalidInput(f"The input must be a file under the jobs inbox ({inbox}).")
        if not path.is_file():
            raise InvalidInput(f"The input {named} is not a file in the jobs inbox ({inbox}).")
        where = str(path)
    return options | {"input": where, "shown": named}


def _options(given: dict[str, Any], jobs: JobsApi) -> dict[str, str]:
    unknown = sorted(set(given) - {"model", "k", "id_col", "text_col"})
    if unknown:
        raise InvalidInput(f"Unknown option {unknown[0]!r}; jobs take model, k, id_col, text_col.")
    try:
        k = int(given.get("k", 5))
    except (TypeError, ValueError):
        raise InvalidInput("k must be a whole number of codes, 1 to 100.") from None
    if not 1 <= k <= 100:
        raise InvalidInput("k must be a whole number of codes, 1 to 100.")
    return {
        "model": str(given.get("model") or jobs.model), "k": str(k),
        "id_col": str(given.get("id_col") or ""), "text_col": str(given.get("text_col") or "text"),
    }  # fmt: skip


async def _upload(chunks: AsyncIterator[bytes], jobs: JobsApi, suffix: str) -> Path:
    """The body, streamed to a file under the folder's uploads/ (whole, then renamed)."""
    uploads = jobs.folder / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / f"{uuid.uuid4().hex}{suffix}"
    partial, size = path.with_name(f".{path.name}.partial"), 0
    try:
        with partial.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > jobs.max_upload_bytes:
                    raise InvalidInput(f"The upload is over {jobs.max_upload_bytes >> 20} MB; "
                                       "put the file in an object store and name it.")  # fmt: skip
                out.write(chunk)
        if size == 0:
            raise InvalidInput("The upload is empty; send the file as the body.")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _shown(record: dict[str, str]) -> dict[str, Any]:
    return {key: record[key] for key in _SHOWN if record.get(key) not in (None, "")}
