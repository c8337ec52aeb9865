"""A lock every process sharing the tracking store honours, laptop or team server.

MLflow has no lock, but creating a registered model is an atomic test-and-set on
every backend (a unique name in the database): whoever creates ``mlcycle-lock.KEY``
holds the lock, and deleting it releases it. A holder killed mid-way leaves a lock
that is broken once older than ``stale_after_s``.

Waiters poll with a growing, jittered delay: on a team server every poll is two
authenticated requests, and eight waiters polling four times a second starved the
holder's own requests. Each acquisition carries a token in its owner tag, so a create
that committed but whose answer was lost (the HTTP client retries it and is told the
name exists) is recognised as ours rather than waited on until the timeout.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

from mlcycle.core.errors import Unavailable

PREFIX = "mlcycle-lock."
_FIRST_POLL_S = 0.25
_LAST_POLL_S = 4.0


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _owner() -> str:
    """Who holds the lock, said for people, with a token unique to this acquisition."""
    from mlcycle.core.tracking import acting_user

    return f"{acting_user()}@{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:12]})"


def poll_delays() -> Iterator[float]:
    """Seconds to wait between attempts: from a quarter second, growing to a few seconds."""
    delay = _FIRST_POLL_S
    while True:
        yield delay * random.uniform(0.75, 1.25)  # spreads waiters apart
        delay = min(delay * 1.5, _LAST_POLL_S)


@contextlib.contextmanager
def registry_lock(key: str, timeout_s: float, stale_after_s: float = 1800.0) -> Iterator[None]:
    """Hold the store-wide lock ``key`` for the ``with`` block.

    Raises:
        Unavailable: another process held it for longer than ``timeout_s``.
    """
    name = PREFIX + key
    owner = _owner()
    deadline = time.monotonic() + timeout_s
    delays = poll_delays()
    while not try_acquire(name, owner, stale_after_s):
        if time.monotonic() > deadline:
            raise Unavailable(
                f"Another process holds the registry lock {key!r} ({_holder(name)}); "
                "retry when it has finished."
            )
        time.sleep(next(delays))
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # an unreleased lock goes stale, never blocks
            _client().delete_registered_model(name)


def try_acquire(name: str, owner: str, stale_after_s: float) -> bool:
    """Take the lock ``name`` for ``owner``; False while someone else holds it."""
    from mlflow.exceptions import MlflowException

    client = _client()
    try:
        client.create_registered_model(
            name,
            tags={"mlcycle.lock_owner": owner},
            description="Held by mlcycle while it moves aliases; deleted when done.",
        )
        return True
    except MlflowException as exc:
        from mlcycle.core.tracking import raise_refusal

        raise_refusal(exc)  # refused by a team server: waiting would not change that
        # Taken, or the store was busy (SQLite under concurrent writers): look, then retry.
        with contextlib.suppress(MlflowException):
            held = client.get_registered_model(name)
            if held.tags.get("mlcycle.lock_owner") == owner:
                return True  # our create committed; only its answer was lost
            if time.time() - held.creation_timestamp / 1000.0 > stale_after_s:
                client.delete_registered_model(name)
        return False


def _holder(name: str) -> str:
    with contextlib.suppress(Exception):
        return _client().get_registered_model(name).tags.get("mlcycle.lock_owner", "unknown")
    return "unknown"
