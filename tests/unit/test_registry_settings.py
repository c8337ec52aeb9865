"""Environments and gates as the project file configures them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import get_settings
from mlcycle.core.settings.registry import RegistrySettings
from mlcycle.registry.environments import (
    environment,
    environment_names,
    gates_for,
    previous_environment,
)
from tests.conftest import write_project


def test_defaults_are_staging_then_production() -> None:
    settings = RegistrySettings()
    assert environment_names(settings) == ["staging", "production"]
    assert previous_environment("production", settings) == "staging"
    assert previous_environment("staging", settings) is None
    assert gates_for("production", settings) == [
        "contract",
        "quality",
        "champion",
        "behaviour",
        "latency",
    ]
    assert gates_for("staging", settings) == ["contract", "champion", "latency"]


def test_project_file_orders_environments_and_picks_gates(project_home: Path) -> None:
    write_project(
        project_home,
        "registry:\n"
        "  environments: [dev, {name: prod, gates: [latency, quality]}]\n"
        "  gates: {latency: {enabled: false}, champion: {margin: 0.002}}\n",
    )
    settings = get_settings().registry
    assert environment_names(settings) == ["dev", "prod"]
    assert gates_for("prod", settings) == ["quality"]  # in run order; latency disabled
    assert gates_for("dev", settings) == ["contract", "quality", "champion", "behaviour"]
    assert settings.gates.champion.margin == 0.002


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("registry: {environments: [prod, {name: x, gates: [speed]}]}", "unknown gates"),
        ("registry: {environments: [prod, prod]}", "distinct"),
        ("registry: {environments: [challenger]}", "cannot be an environment"),
        ("registry: {gates: {champion: {margin: -1}}}", "registry.gates.champion.margin"),
    ],
)
def test_bad_registry_settings_are_one_clear_error(project_home: Path, yaml, message) -> None:
    write_project(project_home, yaml + "\n")
    with pytest.raises(InvalidInput, match=message):
        get_settings()


def test_unknown_or_malformed_environment_is_refused() -> None:
    settings = RegistrySettings()
    assert environment("production", settings).name == "production"
    with pytest.raises(InvalidInput, match="not a configured environment"):
        environment("canary", settings)
    with pytest.raises(InvalidInput, match="not a usable alias"):
        environment("bad alias!", settings)


def test_a_gate_section_left_empty_is_that_gates_defaults() -> None:
    """``behaviour:`` whose only setting was removed is null in YAML: the defaults."""
    settings = RegistrySettings.model_validate({"gates": {"behaviour": None, "latency": None}})
    assert settings.gates.behaviour == RegistrySettings().gates.behaviour
    assert settings.gates.latency == RegistrySettings().gates.latency
