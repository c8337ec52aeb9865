"""A lock every process sharing the tracking store honours, laptop or team server.

MLflow has no lock, but creating a registered model is an atomic test-and-set on
every backend (a unique name in the database): whoever creates ``mlcycle-lock.KEY``
holds the lock, and deleting it releases it. A holder killed mid-way leaves a lock
that is broken once older than ``stale_after_s``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from mlcycle.core.errors import Unavailable

PREFIX = "mlcycle-lock."
_POLL_S = 0.25


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _owner() -> str:
    from mlcycle.core.tracking import acting_user

    return f"{acting_user()}@{socket.gethostname()} pid {os.getpid()}"


@contextlib.contextmanager
def registry_lock(key: str, timeout_s: float, stale_after_s: float = 1800.0) -> Iterator[None]:
    """Hold the store-wide lock ``key`` for the ``with`` block.

    Raises:
        Unavailable: another process held it for longer than ``timeout_s``.
    """
    name = PREFIX + key
    deadline = time.monotonic() + timeout_s
    while not _try_acquire(name, stale_after_s):
        if time.monotonic() > deadline:
            raise Unavailable(
                f"Another process holds the registry lock {key!r} ({_holder(name)}); "
                "retry when it has finished."
            )
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # an unreleased lock goes stale, never blocks
            _client().delete_registered_model(name)


def _try_acquire(name: str, stale_after_s: float) -> bool:
    from mlflow.exceptions import MlflowException

    client = _client()
    try:
        client.create_registered_model(
            name,
            tags={"mlcycle.lock_owner": _owner()},
            description="Held by mlcycle while it moves aliases; deleted when done.",
        )
        return True
    except MlflowException as exc:
        from mlcycle.core.tracking import raise_refusal

        raise_refusal(exc)  # refused by a team server: waiting would not change that
        # Taken, or the store was busy (SQLite under concurrent writers): look, then retry.
        with contextlib.suppress(MlflowException):
            created = client.get_registered_model(name).creation_timestamp / 1000.0
            if time.time() - created > stale_after_s:
                client.delete_registered_model(name)
        return False


def _holder(name: str) -> str:
    with contextlib.suppress(Exception):
        return _client().get_registered_model(name).tags.get("mlcycle.lock_owner", "unknown")
    return "unknown"
