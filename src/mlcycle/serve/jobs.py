"""Scoring jobs in Redis: a queue, each job's record, and a lease per running job.

A job is a hash (``mlcycle:jobs:job:ID``: status, input, model, options, progress). Its
id waits in the ``queue`` list; a worker moves it to the ``running`` list (one atomic
``BLMOVE``) and holds a lease key that it renews. A worker that dies stops renewing;
once the lease lapses, any worker moves the job back to the queue and the next one
resumes it from its last finished chunk (:mod:`mlcycle.serve.worker`). Redis that does
not answer is one sentence: jobs are unavailable, online prediction goes on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from mlcycle.core.errors import Unavailable
from mlcycle.core.urls import hide_password
from mlcycle.data.predlog import new_request_id

PREFIX = "mlcycle:jobs"
QUEUE, RUNNING = f"{PREFIX}:queue", f"{PREFIX}:running"
T = TypeVar("T")


class QueueUnavailable(Unavailable):
    """Redis does not answer (not the job's input: that failure ends the job)."""


def job_key(job_id: str) -> str:
    return f"{PREFIX}:job:{job_id}"


def lease_key(job_id: str) -> str:
    return f"{PREFIX}:lease:{job_id}"


class JobQueue:
    """The jobs of one Redis database."""

    def __init__(self, url: str, lease_seconds: float = 30.0) -> None:
        import redis

        self.shown = hide_password(url)
        self.lease_ms = int(lease_seconds * 1000)
        self.redis: Any = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, socket_timeout=10
        )

    def call(self, operation: Callable[[], T]) -> T:
        """Run ``operation``; Redis not answering is Unavailable, in one sentence."""
        import redis

        try:
            return operation()
        except redis.RedisError as exc:
            raise QueueUnavailable(
                f"Jobs are unavailable: Redis at {self.shown} does not answer ({exc}); "
                "online prediction goes on."
            ) from None

    def submit(self, spec: dict[str, str]) -> dict[str, str]:
        """Queue a job; its record (id, status queued, the spec)."""
        job_id = uuid.uuid4().hex
        # The job's id in the prediction log, where it is one request of many rows.
        request_id = new_request_id(time.time_ns() // 1_000_000)
        record = {**spec, "id": job_id, "request_id": request_id, "status": "queued",
                  "created": _now(), "chunks_done": "0", "rows_done": "0",
                  "resumed": "0"}  # fmt: skip

        def queue() -> None:
            pipe = self.redis.pipeline()
            pipe.hset(job_key(job_id), mapping=record)
            pipe.rpush(QUEUE, job_id)
            pipe.execute()

        self.call(queue)
        return record

    def get(self, job_id: str) -> dict[str, str] | None:
        found = self.call(lambda: self.redis.hgetall(job_key(job_id)))
        return dict(found) if found else None

    def update(self, job_id: str, **fields: Any) -> None:
        values = {name: str(value) for name, value in fields.items()}
        self.call(lambda: self.redis.hset(job_key(job_id), mapping=values))

    def claim(self, worker: str, wait_s: float) -> str | None:
        """The next queued job, now running under ``worker``'s lease; None after ``wait_s``."""
        job_id = self.call(lambda: self.redis.blmove(QUEUE, RUNNING, wait_s, "LEFT", "RIGHT"))
        if job_id is None:
            return None
        self.call(lambda: self.redis.set(lease_key(job_id), worker, px=self.lease_ms))
        self.update(job_id, status="running", worker=worker)
        return str(job_id)

    def renew(self, job_id: str, worker: str) -> bool:
        """Extend ``worker``'s lease; False when the job is no longer its own."""
        key = lease_key(job_id)
        if self.call(lambda: self.redis.get(key)) != worker:
            return False
        return bool(self.call(lambda: self.redis.pexpire(key, self.lease_ms)))

    def finish(self, job_id: str, **fields: Any) -> None:
        """Record the end of a job (done or failed) and release it."""
        self.update(job_id, finished=_now(), **fields)
        self.call(lambda: self.redis.lrem(RUNNING, 1, job_id))
        self.call(lambda: self.redis.delete(lease_key(job_id)))

    def requeue_lapsed(self) -> list[str]:
        """Put back in the queue every running job whose worker stopped renewing."""
        return self.call(self._requeue_lapsed)

    def _requeue_lapsed(self) -> list[str]:
        moved = []
        for job_id in self.redis.lrange(RUNNING, 0, -1):
            if self.redis.exists(lease_key(job_id)):
                continue
            # LREM is the claim: of two workers reaping at once, one removes it.
            if self.redis.lrem(RUNNING, 1, job_id) == 1:
                self.redis.hincrby(job_key(job_id), "resumed", 1)
                self.redis.hset(job_key(job_id), "status", "queued")
                self.redis.rpush(QUEUE, job_id)
                moved.append(job_id)
        return moved


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
