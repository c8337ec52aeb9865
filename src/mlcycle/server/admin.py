"""Calls a team server answers for an administrator only, their failures as one sentence.

Managing users and registry webhooks needs an administrator's credentials
(``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``, as for every MLflow
client); MLflow's refusals and silences are said here once for both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mlcycle.core.errors import ErrorCode, InvalidInput, Unauthorized
from mlcycle.core.tracking import server_refusal

NEEDS_ADMIN = (
    "{what} of {url} needs an administrator's credentials "
    "(MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)."
)


def needs_admin(what: str, url: str) -> Unauthorized:
    """The refusal of an action only an administrator may take."""
    return Unauthorized(NEEDS_ADMIN.format(what=what, url=url), forbidden=True)


@contextlib.contextmanager
def as_admin(url: str, what: str) -> Iterator[None]:
    """Say MLflow's failures inside as one sentence naming ``url``.

    Args:
        url: The team server.
        what: The action, for a refusal ("Managing the users").
    """
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        said = server_refusal(exc, url)
        if isinstance(said, Unauthorized) and said.code == ErrorCode.FORBIDDEN:
            raise needs_admin(what, url) from None
        said = said or InvalidInput(f"The server at {url} said: {first_line(exc.message)}")
        raise said from None


def first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no answer"
