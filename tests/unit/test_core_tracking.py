"""Pointing MLflow at one project's store leaves the next project's settings alone."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest

from mlcycle.core.settings import Settings
from mlcycle.core.tracking import tracking_restored, use_tracking


def test_a_second_home_in_the_same_process_gets_its_own_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLCYCLE_OWN_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    first = use_tracking(Settings(home=tmp_path / "a"))
    assert mlflow.get_tracking_uri() == first == mlflow.get_registry_uri()
    # MLflow's setters write the URI into the environment, for child processes to find
    # the store; it must not win over the next home's own store.
    assert os.environ["MLFLOW_TRACKING_URI"] == first
    second = Settings(home=tmp_path / "b").resolved_tracking_uri()
    assert second.endswith(str(tmp_path / "b" / "mlflow.db")), second
    assert (
        use_tracking(Settings(home=tmp_path / "b")) == second == os.environ["MLFLOW_TRACKING_URI"]
    )


def test_the_users_own_tracking_uri_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.delenv("MLCYCLE_OWN_TRACKING_URI", raising=False)
    assert use_tracking(Settings(home=tmp_path / "a")) == server
    assert Settings(home=tmp_path / "b").resolved_tracking_uri() == server


def test_a_store_pointed_at_for_a_moment_is_no_ones_choice_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``models copy`` does to reach its target: the home's own store after it.

    Restoring with MLflow's setters alone left the old URI in the environment unmarked,
    and the next settings read it as the user's choice (a test's registry was "not
    found" in CI, depending on the order the tests ran in).
    """
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLCYCLE_OWN_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'stale.db'}")  # e.g. an earlier home
    os.environ.pop("MLFLOW_TRACKING_URI")
    before = dict(os.environ)
    with tracking_restored():
        target = use_tracking(Settings(home=tmp_path / "target"))
        assert mlflow.get_tracking_uri() == target == os.environ["MLFLOW_TRACKING_URI"]
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'stale.db'}"
    assert dict(os.environ) == before
    own = Settings(home=tmp_path / "home").resolved_tracking_uri()
    assert own.endswith(str(tmp_path / "home" / "mlflow.db")), own
