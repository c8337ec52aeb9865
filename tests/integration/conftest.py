"""A small model trained once into a real MLflow store, registered and promoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.writers import write_dataset
from mlcycle.registry.ops import set_alias
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import TrainResult, train_model

SMALL = {"dim": 48, "epoch": 15, "bucket": 50_000}


def _at_session_store(session_home: Path) -> None:
    """Point the settings and MLflow at the session's home.

    MLflow's tracking URI is process-wide, other tests point it at their own stores, and
    a test that changed the environment may leave settings read for its home cached.
    """
    get_settings.cache_clear()
    assert get_settings().home == session_home
    use_tracking(get_settings())


@pytest.fixture(scope="session")
def _registered_once(session_home: Path) -> TrainResult:
    _at_session_store(session_home)  # else it could train into another test's home
    data = session_home.parent / "train.csv"
    write_dataset(generate(6000, seed=11), data)
    result = train_model(str(data), SMALL)
    set_alias(result.name, "production", result.version)
    return result


@pytest.fixture
def registered(_registered_once: TrainResult, session_home: Path) -> TrainResult:
    """Version 1 of ``nace``, trained on 6,000 generated rows and promoted to production;
    settings and MLflow point at the session's store."""
    _at_session_store(session_home)
    return _registered_once
