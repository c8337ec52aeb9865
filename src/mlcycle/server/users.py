"""Users of a team server and their roles, managed over the server's REST API.

An administrator's credentials are needed (``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD``, as for every MLflow client). The three roles are created
on the server the first time a user is added (:mod:`mlcycle.server.roles`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.tracking import forbidden
from mlcycle.server.admin import as_admin, needs_admin
from mlcycle.server.roles import DESCRIPTIONS, GRANTS, WORKSPACE, check_role, move_refusal

MIN_PASSWORD = 12
_WHAT = "Managing the users"


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]
    admin: bool


def add_user(url: str, name: str, password: str, role: str) -> User:
    """Create ``name`` with ``role`` (reader, editor or maintainer)."""
    role = _role(role)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"The password is too short; use {MIN_PASSWORD} characters or more.")
    with _answering(url) as client:
        role_ids = _ensure_roles(client)
        if any(user.name == name for user in _users(client)):
            raise InvalidInput(f"{name} is already a user of {url}; remove them first.")
        client.create_user(name, password)
        client.assign_role(name, role_ids[role])
    return User(name, (role,), False)


def remove_user(url: str, name: str) -> None:
    with _answering(url) as client:
        if not any(user.name == name for user in _users(client)):
            raise NotFound(f"{name} is not a user of {url}; see mlcycle server user list.")
        client.delete_user(name)


def list_users(url: str) -> list[User]:
    """Every user and their roles; an administrator's view only.

    MLflow answers any signed-in user, with everyone's name but only their own roles:
    a list that would say the others have none.
    """
    from mlflow.utils.credentials import read_mlflow_creds

    with _answering(url) as client:
        users = _users(client)
    caller = read_mlflow_creds().username
    if not any(user.name == caller and user.admin for user in users):
        raise needs_admin(_WHAT, url)
    return users


def check_may_move(url: str, alias: str) -> None:
    """Refuse at once a move of ``alias`` that the server at ``url`` would refuse the
    signed-in user, rather than after a promotion's gates ran for seconds.

    Nothing happens when no one is signed in, or the server cannot say (a server without
    users, one that does not answer): the server checks every move itself anyway.
    """
    from mlflow.utils.credentials import read_mlflow_creds

    name = read_mlflow_creds().username
    if not name or not url.startswith(("http://", "https://")):
        return
    # MLflow's server package, imported once here, imports a part of Starlette that warns
    # it is deprecated: not the user's business, and the refusal must be one sentence.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*deprecated", category=UserWarning)
        from mlflow.server.auth.client import AuthServiceClient

    try:
        me = next((u for u in _users(AuthServiceClient(url)) if u.name == name), None)
    except Exception:  # no users API here, or no answer: the move itself will tell
        return
    why = None if me is None or me.admin else move_refusal(name, alias, set(me.roles))
    if why is not None:
        raise forbidden(url, why)


def _users(client: Any) -> list[User]:
    from mlflow.server.auth.routes import LIST_USERS

    found = client._request(LIST_USERS, "GET").get("users", [])
    return [
        User(
            entry["username"],
            tuple(sorted(r["name"] for r in entry.get("roles", []) if r["name"] in GRANTS)),
            bool(entry.get("is_admin")),
        )
        for entry in found
    ]


def _ensure_roles(client: Any) -> dict[str, int]:
    """The ids of mlcycle's roles on the server, each created with its grants if absent."""
    existing = {role.name: role.id for role in client.list_roles(WORKSPACE)}
    for name, grants in GRANTS.items():
        if name in existing:
            continue
        role = client.create_role(WORKSPACE, name, DESCRIPTIONS[name])
        for resource, permission in grants.items():
            client.add_role_permission(role.id, resource, "*", permission)
        existing[name] = role.id
    return existing


@contextlib.contextmanager
def _answering(url: str) -> Iterator[Any]:
    """An admin client of ``url``; MLflow's failures said as one sentence naming ``url``."""
    from mlflow.server.auth.client import AuthServiceClient

    with as_admin(url, _WHAT):
        yield AuthServiceClient(url)


def _role(role: str) -> str:
    try:
        return check_role(role)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
