"""Sign in to a team server once: the credentials go where every MLflow client looks.

MLflow reads ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``, else the file
``~/.mlflow/credentials``; mlcycle writes that file (owner-only), after checking the
credentials against the server, so a typo is said now rather than at the next train.
"""

from __future__ import annotations

import configparser
import io
from pathlib import Path

import httpx

from mlcycle.core.errors import InvalidInput, Unauthorized, Unavailable
from mlcycle.core.files import atomic_write_text
from mlcycle.core.private import private_dirs

_CHECK = "/api/2.0/mlflow/experiments/search"


def login(url: str, user: str, password: str, credentials: Path | None = None) -> Path:
    """Check ``user``'s password on ``url``, then save it; return the file written."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{url!r} is not a server address; give http://HOST:PORT.")
    _check(url, user, password)
    path = credentials or Path.home() / ".mlflow" / "credentials"
    _save(path, user, password)
    return path


def _check(url: str, user: str, password: str) -> None:
    try:
        answer = httpx.get(
            url + _CHECK, params={"max_results": 1}, auth=(user, password), timeout=15
        )
    except httpx.HTTPError as exc:
        raise Unavailable(f"The server at {url} does not answer ({type(exc).__name__}).") from None
    if answer.status_code == 401:
        raise Unauthorized(f"The server at {url} refused {user}'s password; check both.")
    if answer.status_code != 200:
        raise Unavailable(
            f"The server at {url} answered {answer.status_code}; is it an MLflow tracking server?"
        )


def _save(path: Path, user: str, password: str) -> None:
    """Write the two keys into the file's ``[mlflow]`` section, keeping anything else."""
    config = configparser.ConfigParser()
    if path.exists():
        config.read(path)
    if not config.has_section("mlflow"):
        config.add_section("mlflow")
    config["mlflow"]["mlflow_tracking_username"] = user
    config["mlflow"]["mlflow_tracking_password"] = password
    text = io.StringIO()
    config.write(text)
    private_dirs(path.parent)
    atomic_write_text(path, text.getvalue())
