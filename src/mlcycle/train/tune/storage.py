"""Where a study lives: a journal file under the project home, or a shared database.

The local default is Optuna's journal file: an append-only log guarded by a file lock,
so several processes on one machine share a study with no lost or doubled trial and no
"database is locked" (SQLite is refused for several workers for that reason). A URL such
as ``postgresql://user:pass@host/db`` selects Optuna's RDB storage, with a heartbeat:
a worker that stops beating has its trial marked failed and retried by another.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput, Unavailable
from mlcycle.core.private import private_dirs
from mlcycle.core.processes import alive
from mlcycle.core.settings import Settings
from mlcycle.core.urls import hide_password

WORKER_ATTR = "mlcycle.worker"  # "host:pid" of the process running a trial


@dataclass(frozen=True)
class StorageSpec:
    """A storage that every worker process can open again by itself."""

    url: str  # a database URL, or the path of a journal file
    heartbeat_interval: int = 10
    grace_period: int = 30
    max_retry: int = 2

    @property
    def is_journal(self) -> bool:
        return "://" not in self.url

    @property
    def shown(self) -> str:
        """The URL with any password hidden, for messages and run parameters."""
        return self.url if self.is_journal else hide_password(self.url)

    def open(self) -> Any:
        """The Optuna storage; an unreachable or unusable one is one clear error."""
        return _journal(Path(self.url)) if self.is_journal else self._database()

    def _database(self) -> Any:
        import optuna

        kwargs: dict[str, Any] = {}
        if self.url.startswith("postgresql"):
            # Fail within seconds on an unreachable host rather than the TCP default.
            kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": 10}}
        try:
            with _no_experimental_warnings():
                return optuna.storages.RDBStorage(
                    self.url,
                    heartbeat_interval=self.heartbeat_interval,
                    grace_period=self.grace_period,
                    heartbeat_stale_trial_callback=_retry(self.max_retry),
                    **kwargs,
                )
        except ImportError as exc:
            missing = getattr(exc.__cause__, "name", None) or getattr(exc, "name", None)
            raise InvalidInput(
                f"The storage URL {self.shown} needs the Python driver {missing!r}, which is "
                "not installed; use postgresql://..., whose driver (psycopg) mlcycle ships."
            ) from None
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise Unavailable(
                f"Cannot open the tuning storage {self.shown} ({reason}); check the URL and "
                "that the database server is running and reachable."
            ) from None


def storage_spec(url: str | None, workers: int, settings: Settings) -> StorageSpec:
    """The storage named on the command line or in settings, else the local journal."""
    tune = settings.tune
    url = url or tune.storage or str(settings.home.resolve() / "tune" / "optuna.journal")
    if "://" in url:
        scheme = url.split("://", 1)[0].split("+", 1)[0]
        if scheme not in ("postgresql", "mysql", "sqlite"):
            raise InvalidInput(
                f"The storage URL scheme {scheme!r} is not supported; use postgresql://... "
                "for a shared database, or a file path for a local journal."
            )
        if scheme == "sqlite" and workers > 1:
            raise InvalidInput(
                "SQLite storage is not safe for several worker processes; leave --storage "
                "out (a local journal file) or use a postgresql:// URL."
            )
    else:
        url = str(Path(url).expanduser().resolve())
    return StorageSpec(url, tune.heartbeat_interval, tune.grace_period, tune.max_retry)


def _journal(path: Path) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        private_dirs(path.parent)
        return JournalStorage(JournalFileBackend(str(path)))
    except OSError as exc:
        raise Unavailable(
            f"Cannot open the tuning journal {path} ({exc.strerror}); check the folder "
            "exists and is writable."
        ) from None


def _retry(max_retry: int) -> Any:
    """Optuna's callback that queues a stale trial's parameters again as a new trial."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    with _no_experimental_warnings():
        return RetryHeartbeatStaleTrialCallback(max_retry=max_retry)


@contextmanager
def _no_experimental_warnings() -> Iterator[None]:
    """Heartbeats are "experimental" in Optuna since 2.8; the warning helps no user of ours."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def reap_dead_local_trials(study: Any, max_retry: int = 2) -> list[int]:
    """Fail the running trials of dead processes on this machine, and queue a retry.

    The journal has no heartbeat: a local worker killed outright would leave its trial
    running forever. Its ``host:pid`` tells whether it is still alive; a dead one's
    trial is handled as the database heartbeat would (failed, then queued again).
    Returns the numbers of the trials marked failed.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    host, reaped = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = str(trial.user_attrs.get(WORKER_ATTR, ""))
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or alive(int(pid)):
            continue
        try:
            failed = study.tell(trial.number, state=TrialState.FAIL)
        except (UpdateFinishedTrialError, ValueError):
            continue  # another process reaped it first (or it had just finished)
        _retry(max_retry)(study, failed)
        reaped.append(trial.number)
    return reaped
