"""mlcycle's three roles, as MLflow permissions plus the two rules MLflow cannot express.

MLflow grants by resource: with ``EDIT`` on a registered model one may add a version
*and* move its aliases, and any signed-in user may create an experiment or a model (and
then manages it). A team needs promotion kept to a few people, and readers who write
nothing. So each role is an MLflow role (its grants, checked by MLflow on every call)
and the tracking server adds two rules of its own (:mod:`mlcycle.server.auth_app`):
moving an alias other than the candidate (``challenger``) needs ``maintainer``, creating
an experiment or a model needs ``editor`` or ``maintainer``. Administrators may do
everything.
"""

from __future__ import annotations

from typing import Final

WORKSPACE: Final = "default"  # MLflow's one workspace when workspaces are off
READER, EDITOR, MAINTAINER = "reader", "editor", "maintainer"

# role -> {MLflow resource type: permission on every resource of the type}
GRANTS: Final[dict[str, dict[str, str]]] = {
    READER: {"experiment": "READ", "registered_model": "READ"},
    EDITOR: {"experiment": "EDIT", "registered_model": "EDIT"},
    MAINTAINER: {"experiment": "EDIT", "registered_model": "MANAGE"},
}
DESCRIPTIONS: Final = {
    READER: "sees runs, datasets and models; writes nothing",
    EDITOR: "adds datasets, trains, tunes and registers versions",
    MAINTAINER: "what an editor does, and promotes, rolls back and copies models",
}
MAY_CREATE: Final = frozenset({EDITOR, MAINTAINER})
MAY_MOVE_ALIASES: Final = frozenset({MAINTAINER})
# ``mlcycle train`` points this alias at the version it registers (the candidate the
# gates judge): an editor's own work, not a promotion. The registry's constant
# (mlcycle.registry.ops.CHALLENGER; the server layer cannot import it, a test checks).
CANDIDATE_ALIAS: Final = "challenger"


def move_refusal(user: str, alias: str | None, roles: set[str]) -> str | None:
    """Why ``user`` (not an administrator) with ``roles`` may not move ``alias`` (None:
    every alias, as a rename does), or None when they may: the server's rule, which a
    client also checks before running a promotion's gates."""
    if alias == CANDIDATE_ALIAS or roles & MAY_MOVE_ALIASES:
        return None
    return f"Moving a model's alias needs the maintainer role; {described(user, roles)}."


def described(user: str, roles: set[str]) -> str:
    """``eddy is editor``: a user and their roles, for a refusal."""
    return f"{user} is {' and '.join(sorted(roles)) if roles else 'given no role'}"


def check_role(role: str) -> str:
    """``role`` lower-cased, or ValueError naming the roles there are."""
    if role.lower() not in GRANTS:
        raise ValueError(f"There is no role {role!r}; roles are {', '.join(GRANTS)}.")
    return role.lower()
