"""Environments are MLflow aliases, in the order the project file lists them."""

from __future__ import annotations

import re

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings.registry import (
    DEFAULT_GATES,
    GATE_NAMES,
    EnvironmentSettings,
    RegistrySettings,
)

_ALIAS = re.compile(r"^[A-Za-z][\w-]*$")


def environment_names(settings: RegistrySettings) -> list[str]:
    """The configured environments, first to last (default: staging, production)."""
    return [env.name for env in settings.environments]


def environment(alias: str, settings: RegistrySettings) -> EnvironmentSettings:
    """The configured environment called ``alias``, or one clear ``InvalidInput``."""
    if not _ALIAS.match(alias) or alias.lower() == "latest":
        raise InvalidInput(
            f"{alias!r} is not a usable alias; use letters, digits, - or _ "
            "(starting with a letter)."
        )
    for env in settings.environments:
        if env.name == alias:
            return env
    names = ", ".join(environment_names(settings))
    raise InvalidInput(
        f"{alias!r} is not a configured environment (configured: {names}); "
        "add it under registry.environments in the project file."
    )


def previous_environment(alias: str, settings: RegistrySettings) -> str | None:
    """The environment before ``alias`` in the configured order (None for the first)."""
    names = environment_names(settings)
    index = names.index(environment(alias, settings).name)
    return names[index - 1] if index > 0 else None


def gates_for(alias: str, settings: RegistrySettings) -> list[str]:
    """The enabled gates guarding ``alias``, in the order they run (without a list: every
    gate but ``live``, which needs an experiment's traffic)."""
    chosen = environment(alias, settings).gates
    wanted = DEFAULT_GATES if chosen is None else chosen
    return [name for name in GATE_NAMES if name in wanted and _enabled(name, settings)]


def _enabled(gate: str, settings: RegistrySettings) -> bool:
    return bool(getattr(settings.gates, gate).enabled)
