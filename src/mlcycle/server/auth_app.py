"""The tracking server's application: MLflow's basic-auth app with mlcycle's two rules.

MLflow finds it by the entry point ``mlcycle-auth`` of the group ``mlflow.app``
(``mlflow server --app-name mlcycle-auth``); see :mod:`mlcycle.server.roles` for why the
rules exist. This module runs inside the tracking server only; it imports MLflow's
server, which a client never needs.
"""

from __future__ import annotations

import re
from typing import Any

from mlcycle.core.lock import PREFIX as LOCK_PREFIX
from mlcycle.server.roles import (
    GRANTS,
    MAY_CREATE,
    MAY_MOVE_ALIASES,
    WORKSPACE,
    described,
    move_refusal,
)

_REST = r"^/(?:ajax-)?api/[23]\.0/mlflow/"
_MOVES_ALIASES = re.compile(_REST + r"registered-models/(?:alias|rename)$")
_CREATES = re.compile(_REST + r"(?:experiments|registered-models)/create$")
_CREATES_MODEL = re.compile(_REST + r"registered-models/create$")


def create_app() -> Any:
    """MLflow's app with authentication on, and the role rules checked after it."""
    from mlflow.server import app
    from mlflow.server.auth import create_app as with_basic_auth

    # Flask runs after-request functions last-registered first: registered before
    # MLflow's, this one runs after MLflow has granted the creator MANAGE.
    app.after_request(_creator_keeps_role_rights)
    served = with_basic_auth(app)
    # Before-request functions run in order: MLflow's has authenticated the user first.
    app.before_request(_role_rules)
    return served


def _role_rules() -> Any:
    from flask import g, request

    path, user = request.path, getattr(g, "mlflow_authenticated_user", None)
    if user is None or _is_admin(user):
        return None
    moves = request.method in ("POST", "DELETE", "PATCH") and _MOVES_ALIASES.match(path)
    if moves and (why := move_refusal(user, _alias(request), _roles(user))) is not None:
        return _refused(why)
    creates = request.method == "POST" and _CREATES.match(path)
    if creates and not (roles := _roles(user)) & MAY_CREATE:
        return _refused(f"Creating needs the editor or maintainer role; {described(user, roles)}.")
    return None


def _creator_keeps_role_rights(response: Any) -> Any:
    """MLflow makes whoever creates a model its manager; an editor stays an editor.

    Else an editor who registers a model's first version could move its aliases and
    delete it, which the roles keep to maintainers.
    """
    from flask import g, request

    user = getattr(g, "mlflow_authenticated_user", None)
    if response.status_code != 200 or user is None or not _CREATES_MODEL.match(request.path):
        return response
    if _is_admin(user) or _roles(user) & MAY_MOVE_ALIASES:
        return response
    name = (request.get_json(silent=True) or {}).get("name")
    # A registry lock is deleted by whoever took it (mlcycle.core.lock): theirs to manage.
    if isinstance(name, str) and not name.startswith(LOCK_PREFIX):
        from mlflow.server.auth import store

        store.grant_user_permission(user, "registered_model", name, "EDIT")
    return response


def _alias(request: Any) -> str | None:
    """The alias a request moves (a rename moves them all: None)."""
    if request.path.endswith("/rename"):
        return None
    found = request.args.get("alias") or (request.get_json(silent=True) or {}).get("alias")
    return found if isinstance(found, str) else None


def _roles(user: str) -> set[str]:
    from mlflow.server.auth import store

    found = store.list_user_roles_for_workspace(store.get_user(user).id, WORKSPACE)
    return {role.name for role in found if role.name in GRANTS}


def _is_admin(user: str) -> bool:
    from mlflow.server.auth import store

    return bool(store.get_user(user).is_admin)


def _refused(message: str) -> Any:
    from flask import jsonify

    response = jsonify(error_code="PERMISSION_DENIED", message=message)
    response.status_code = 403
    return response
