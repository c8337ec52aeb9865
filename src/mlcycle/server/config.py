"""What a team server is made of, and the files that configure MLflow's parts of it.

Everything the server keeps lives in its state folder (``HOME/server``): the auth app's
configuration (it names the user database, password included, so it is owner-only),
the keys that sign the web UI's sessions and encrypt webhook secrets, the PostgreSQL
password, the log and
``server.json`` (the running server's process and address).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from mlcycle.core.errors import InvalidInput
from mlcycle.core.files import atomic_write_text
from mlcycle.core.private import private_dirs

ADMIN = "admin"
ADMIN_PASSWORD_ENV = "MLCYCLE_SERVER_ADMIN_PASSWORD"
MIN_PASSWORD = 12  # MLflow refuses shorter bootstrap passwords
AUTH_CACHE_S = 60


@dataclass(frozen=True)
class ServerSpec:
    """How to run one team server."""

    state: Path
    host: str = "127.0.0.1"
    port: int = 5000
    db: str | None = None  # an existing PostgreSQL database; None: a cluster of our own
    artifacts: str | None = None  # where the artifact proxy stores; None: a folder in state
    workers: int = 2

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def artifacts_uri(self) -> str:
        return self.artifacts or (self.state / "artifacts").resolve().as_uri()


def admin_password(password_file: Path | None) -> str:
    """The admin's password: from ``password_file``, else the environment; never a default."""
    if password_file is not None:
        try:
            password = password_file.read_text().strip()
        except OSError as exc:
            raise InvalidInput(
                f"Cannot read the password file {password_file}: {exc.strerror}."
            ) from None
    else:
        password = os.environ.get(ADMIN_PASSWORD_ENV, "")
    if not password:
        raise InvalidInput(
            f"The admin password is not set; put it in {ADMIN_PASSWORD_ENV} or a file named"
            " by --admin-password-file."
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"The admin password is too short; use {MIN_PASSWORD} characters or more."
        )
    return password


def write_auth_config(state: Path, database_uri: str) -> Path:
    """The auth app's configuration file (owner-only: it holds the database password)."""
    path = private_dirs(state) / "auth.ini"
    atomic_write_text(
        path,
        "[mlflow]\n"
        "# Users without a role see everything and write nothing (mlcycle's reader).\n"
        "default_permission = READ\n"
        f"database_uri = {database_uri}\n"
        f"admin_username = {ADMIN}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "# Checking a password costs MLflow a PBKDF2 hash, about 0.3 s of CPU here: on every\n"
        "# request that capped a 2-worker server near 6 requests/s and a train took 2 min.\n"
        "# A good check is remembered for a minute; a password changed or a user removed\n"
        "# may still be accepted by another worker for that long.\n"
        f"auth_cache_ttl_seconds = {AUTH_CACHE_S}\n",
    )
    return path


def session_secret(state: Path) -> str:
    """The key the web UI signs sessions with: one per server, kept across restarts."""
    return _kept_secret(state, "session-secret", secrets.token_urlsafe(32))


def webhook_key(state: Path) -> str:
    """The key MLflow encrypts webhook secrets with in its store (a Fernet key).

    Kept across restarts: with a new key, the stored secrets could no longer be read.
    """
    return _kept_secret(state, "webhook-key", base64.urlsafe_b64encode(os.urandom(32)).decode())


def _kept_secret(state: Path, name: str, new: str) -> str:
    path = state / name
    if not path.exists():
        atomic_write_text(private_dirs(state) / name, new)
    return path.read_text().strip()


def save_running(state: Path, record: dict[str, object]) -> None:
    atomic_write_text(private_dirs(state) / "server.json", json.dumps(record, indent=2))


def read_running(state: Path) -> dict[str, object] | None:
    try:
        return json.loads((state / "server.json").read_text())
    except (OSError, ValueError):
        return None


def spec_record(spec: ServerSpec) -> dict[str, object]:
    record = asdict(spec)
    record["state"] = str(spec.state)
    return record
