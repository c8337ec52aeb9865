"""Point MLflow at the right store: the embedded SQLite one or a team server.

Called by commands, never at import. The embedded store keeps its database and its
artifacts under the project home, so a project folder is self-contained; the home is
created owner-only and the database file too, before SQLite opens it (SQLite gives
its journal files the database file's mode).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
from collections.abc import Iterator
from typing import Any

from mlcycle.core.errors import MlcycleError, Unauthorized, Unavailable
from mlcycle.core.private import private_file
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.settings.root import OWN_TRACKING_URI_ENV, TRACKING_URI_ENV

# What MLflow's URI setters and ``use_tracking`` write into the environment.
_WRITTEN_ENV = (TRACKING_URI_ENV, "MLFLOW_REGISTRY_URI", OWN_TRACKING_URI_ENV)


def use_tracking(settings: Settings | None = None) -> str:
    """Set MLflow's tracking and registry URIs; return the tracking URI in use."""
    import mlflow

    settings = settings or get_settings()
    uri = settings.resolved_tracking_uri()
    _check_server_answers(uri)
    database = settings.home.resolve() / "mlflow.db"
    if uri.startswith("sqlite:///") and uri.endswith(str(database)):
        private_file(database)  # and the home, owner-only
    before = os.environ.get(TRACKING_URI_ENV)
    users_choice = bool(before) and before != os.environ.get(OWN_TRACKING_URI_ENV)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow's setters also write the URI into the environment, so that child processes
    # (``mlflow models serve``, a user's script) find the store. Mark it as ours: the
    # settings of another home in this process must not take it for the user's choice.
    if not users_choice:
        os.environ[OWN_TRACKING_URI_ENV] = uri
    return uri


USER_TAG = "mlflow.user"  # MLflow's tag for who made a run
_ANSWERED: set[str] = set()  # servers seen answering by this process


def _check_server_answers(uri: str) -> None:
    """Say at once when a tracking server does not answer.

    MLflow's client retries a refused connection for about four minutes, then the
    command's own error hides why (a model "not found"). One look at the server's
    ``/health`` first (a proxy in front may want credentials for it: that will do).
    """
    if not uri.startswith(("http://", "https://")) or uri in _ANSWERED:
        return
    import httpx

    try:
        status = httpx.get(uri.rstrip("/") + "/health", timeout=10).status_code
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"The tracking server at {uri} does not answer ({type(exc).__name__}); start it "
            "(mlcycle server start) or check MLFLOW_TRACKING_URI."
        ) from None
    if status not in (200, 401, 403):
        raise Unavailable(
            f"{uri} answers, but not as an MLflow tracking server (its /health said "
            f"{status}); check MLFLOW_TRACKING_URI."
        )
    _ANSWERED.add(uri)


@contextlib.contextmanager
def tracking_restored() -> Iterator[None]:
    """Put MLflow's URIs, and what its setters wrote into the environment, back as they
    were after the block.

    A store pointed at for a moment (a copy's target, another home) must not stay this
    process's choice: restoring with MLflow's setters alone would leave the old URI in
    ``MLFLOW_TRACKING_URI`` unmarked, where settings take it for the user's.
    """
    import mlflow

    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    saved = {name: os.environ.get(name) for name in _WRITTEN_ENV}
    try:
        yield
    finally:
        mlflow.set_tracking_uri(tracking)
        mlflow.set_registry_uri(registry)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def acting_user() -> str:
    """Who acts, for audit trails and lock owners: the account signed in to the tracking
    server (MLflow's variables, else ``~/.mlflow/credentials``), else the system user."""
    from mlflow.utils.credentials import read_mlflow_creds

    return read_mlflow_creds().username or getpass.getuser()


@contextlib.contextmanager
def pointed_at(uri: str) -> Iterator[None]:
    """MLflow, and settings that name ``uri``, on that store for the block; then back.

    Settings prefer ``MLFLOW_TRACKING_URI`` to their own ``tracking_uri`` unless it is
    marked as mlcycle's; marking it here lets one process read one store and write the
    other (a copy, an import), whatever the user exported.
    """
    import mlflow

    with tracking_restored():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        os.environ[TRACKING_URI_ENV] = uri
        os.environ[OWN_TRACKING_URI_ENV] = uri
        yield


def ensure_experiment(name: str, settings: Settings | None = None) -> str:
    """Create the experiment if needed (artifacts under home when embedded); return its id."""
    import mlflow

    settings = settings or get_settings()
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if settings.resolved_tracking_uri().startswith("sqlite:"):
        location = settings.artifact_root.as_uri()
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except Exception:
        # Another process created it between our look-up and our create.
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


@contextlib.contextmanager
def no_progress_bar() -> Iterator[None]:
    """MLflow draws a progress bar per download on stderr; a CLI's output and a server's
    log have no room for it."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def server_refusal(exc: BaseException, url: str | None = None) -> MlcycleError | None:
    """What the tracking server's (``url``, else MLflow's) refusal or silence means, as one
    sentence; None for any other failure.

    MLflow raises the same exception type for a wrong password, a missing permission,
    an unreachable host and a user's mistake; only the first three are said here.
    """
    from mlflow.exceptions import MlflowException, RestException

    if not isinstance(exc, MlflowException):
        return None
    import mlflow

    url = url or mlflow.get_tracking_uri()
    status = _http_status(exc)
    if status == 401:
        return Unauthorized(
            f"The tracking server at {url} refused the credentials; set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to your account's."
        )
    if status == 403:
        why = exc.message.removeprefix("PERMISSION_DENIED: ").strip()
        if not isinstance(exc, RestException) or not why:  # MLflow's own: a bare 403 page
            why = "your account lacks the permission; ask an administrator for a role with it"
        return forbidden(url, why)
    if "Max retries exceeded" in exc.message or "Connection refused" in exc.message:
        return Unavailable(
            f"The tracking server at {url} does not answer; start it, or check MLFLOW_TRACKING_URI."
        )
    return None


def raise_refusal(exc: BaseException) -> None:
    """Raise the sentence of a tracking server's refusal or silence, if ``exc`` is one;
    a caller that reads MLflow's failures as "not found" calls it first."""
    said = server_refusal(exc)
    if said is not None:
        raise said from None


def _http_status(exc: Any) -> int | None:
    """The HTTP status of a failed call: a JSON error's, else the one MLflow's message
    names (a refusal with a plain-text body is raised without it)."""
    from mlflow.exceptions import RestException

    if isinstance(exc, RestException):
        return exc.get_http_status_code()
    found = re.search(r"failed with error code (\d{3})", exc.message)
    return int(found.group(1)) if found else None


def forbidden(url: str, why: str) -> Unauthorized:
    """The tracking server at ``url`` refused a signed-in user something, for ``why``."""
    return Unauthorized(f"The tracking server at {url} refused: {why}", forbidden=True)
