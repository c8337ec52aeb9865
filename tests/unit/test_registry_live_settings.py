"""The ``live`` gate's settings: its defaults, and that only a listing environment runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mlcycle.core.settings import get_settings
from mlcycle.core.settings.registry import LiveGate, RegistrySettings
from mlcycle.registry.environments import gates_for
from tests.conftest import write_project


def test_defaults_need_two_hundred_labels_at_ninety_five_percent() -> None:
    gate = LiveGate()
    assert (gate.margin, gate.confidence, gate.min_labelled, gate.window) == (0.01, 0.95, 200, None)
    assert "live" not in gates_for("production", RegistrySettings())


def test_an_environment_that_lists_it_runs_it(project_home: Path) -> None:
    write_project(
        project_home,
        "registry:\n"
        "  environments: [staging, {name: production, gates: [contract, live]}]\n"
        "  gates: {live: {margin: 0.02, min_labelled: 500, window: 14d}}\n",
    )
    settings = get_settings().registry
    assert gates_for("production", settings) == ["contract", "live"]
    assert "live" not in gates_for("staging", settings)
    assert (settings.gates.live.margin, settings.gates.live.window) == (0.02, "14d")


@pytest.mark.parametrize(
    "bad", [{"window": "soon"}, {"confidence": 1.0}, {"min_labelled": 0}, {"margin": -0.1}]
)
def test_bad_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LiveGate(**bad)  # type: ignore[arg-type]
