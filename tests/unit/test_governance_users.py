"""Governance runs (holdouts, the audit trail) say who made them, as training and data
runs do, so MLflow's own views show a user on every run mlcycle creates."""

from __future__ import annotations

import getpass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import USER_TAG, use_tracking
from mlcycle.data.holdout import freeze_holdout
from mlcycle.registry.audit import _audit_runs, append_event, new_event


def test_holdout_and_audit_runs_carry_the_acting_user(project_home: Path) -> None:
    settings = get_settings()
    use_tracking(settings)
    frame = pd.DataFrame({"text": ["vendeur d'huitres", "boulangerie"], "nace": ["4723Z", "1071C"]})
    holdout, frozen = freeze_holdout("register", frame, settings, "register.csv")
    client = MlflowClient()
    client.create_registered_model("nace")
    client.create_model_version("nace", source=str(project_home))  # events tag a version
    append_event(new_event("nace", "production", "promote", None, "1"), settings)
    (audit,) = _audit_runs("nace", settings)
    assert frozen
    for run_id in (holdout.run_id, audit):
        assert client.get_run(run_id).data.tags[USER_TAG] == getpass.getuser()
