"""The ``challenger`` alias as a recorded step: where a version waits for live evidence.

Registering a version points ``challenger`` at it (:func:`mlcycle.registry.ops.register`).
A server in shadow or canary mode (``serve.experiment``) runs that alias beside the
champion; the ``live`` gate later decides the promotion on the feedback it gathered.
``challenger`` is no environment (none of the project's gated aliases), so naming a
version challenger runs no gate; it is still recorded in the audit trail, so the trail
says which version was put before live traffic, when and by whom.
"""

from __future__ import annotations

from mlcycle.core.lock import registry_lock
from mlcycle.core.settings import Settings
from mlcycle.registry.audit import PROMOTE, append_event, new_event, read_events
from mlcycle.registry.history import holder_stack
from mlcycle.registry.ops import CHALLENGER, resolve, set_alias
from mlcycle.registry.promotion import MoveResult
from mlcycle.registry.refs import ModelRef


def name_challenger(name: str, version: str | int, reason: str, settings: Settings) -> MoveResult:
    """Point ``name@challenger`` at ``version`` and record the move (no gates).

    The previous holder is the last one the trail recorded: registration moves the
    alias by itself, so the registry's own holder may already be this version.
    """
    version = resolve(ModelRef(name, version=str(version))).version
    with registry_lock(name, settings.registry.lock_timeout_s):
        stack = holder_stack(read_events(name, settings, CHALLENGER), CHALLENGER)
        previous = stack[-1] if stack else None
        if previous == version:
            return MoveResult(name, CHALLENGER, version, previous, "none", reason)
        set_alias(name, CHALLENGER, version)
        event = new_event(name, CHALLENGER, PROMOTE, previous, version, reason)
        append_event(event, settings)
    return MoveResult(name, CHALLENGER, version, previous, PROMOTE, reason, [], event)
