"""Pointing MLflow at one project's store leaves the next project's settings alone."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from mlcycle.core.settings import Settings
from mlcycle.core.tracking import use_tracking


def test_a_second_home_in_the_same_process_gets_its_own_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = use_tracking(Settings(home=tmp_path / "a"))
    assert mlflow.get_tracking_uri() == first == mlflow.get_registry_uri()
    # MLflow's setters write the URI into the environment, where it would win over
    # the next home's own store.
    second = Settings(home=tmp_path / "b").resolved_tracking_uri()
    assert second.endswith(str(tmp_path / "b" / "mlflow.db")), second


def test_the_users_own_tracking_uri_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    assert use_tracking(Settings(home=tmp_path / "a")) == server
    assert Settings(home=tmp_path / "b").resolved_tracking_uri() == server
