"""``mlcycle worker``: score the jobs queued by ``POST /jobs`` (Redis in serve.jobs)."""

from __future__ import annotations

import threading

import typer


def worker(
    once: bool = typer.Option(False, "--once", help="Stop when the queue is empty."),
) -> None:
    """Take scoring jobs from Redis and score them; run as many as there are cores.

    A worker killed mid-job leaves it to the others: once its lease lapses
    (serve.jobs.lease_seconds) the job resumes from its last finished chunk.
    """
    from mlcycle.core.errors import InvalidInput
    from mlcycle.core.processes import serving_process
    from mlcycle.core.settings import get_settings
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.loading import load_served_model
    from mlcycle.registry.ops import resolve
    from mlcycle.registry.refs import ModelRef
    from mlcycle.serve.job_log import JobLog
    from mlcycle.serve.jobs import JobQueue
    from mlcycle.serve.worker import work

    settings = get_settings()
    jobs = settings.serve.jobs
    if not jobs.redis_url:
        raise InvalidInput(
            "Jobs need Redis: set serve.jobs.redis_url (MLCYCLE_SERVE__JOBS__REDIS_URL)."
        )
    use_tracking(settings)
    serving_process()  # one worker per core
    loaded: dict[str, object] = {}

    def load(ref: str) -> object:
        pinned = resolve(ModelRef.parse(ref))
        key = f"{pinned.name}/{pinned.version}"
        if key not in loaded:  # one copy per version this worker has scored with
            loaded[key] = load_served_model(key)
        return loaded[key]

    queue = JobQueue(jobs.redis_url, jobs.lease_seconds)
    folder = (jobs.folder or settings.home / "jobs").resolve()
    job_log = JobLog.from_settings(settings)
    done = work(queue, folder, load, threading.Event(), jobs.chunk_rows, once, job_log)
    typer.echo(f"{done} job{'s' * (done != 1)} finished.")
