"""Shared fixtures: an isolated project home and MLflow store per test or per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcycle.core.settings import get_settings


def _isolate(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.setenv("MLCYCLE_HOME", str(home))
    monkeypatch.setenv("MLCYCLE_PROJECT", str(home / "mlcycle.yaml"))
    get_settings.cache_clear()


@pytest.fixture
def project_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh MLCYCLE_HOME (embedded SQLite store) for one test."""
    _isolate(tmp_path / "home", monkeypatch)
    yield tmp_path / "home"
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One project home shared by the integration tests that only read from it."""
    home = tmp_path_factory.mktemp("session") / "home"
    with pytest.MonkeyPatch.context() as mp:
        _isolate(home, mp)
        yield home
    get_settings.cache_clear()


def cli_env(home: Path) -> dict[str, str]:
    """Environment for a subprocess running the CLI against ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID")}
    env.update(MLCYCLE_HOME=str(home), MLCYCLE_PROJECT=str(home / "mlcycle.yaml"))
    return env
