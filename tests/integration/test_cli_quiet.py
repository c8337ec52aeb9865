"""The terminal shows mlcycle's messages, not MLflow's: its chatter goes to the log file.

Two real ``mlcycle train`` runs in subprocesses on a fresh home (so
the database migrations run too), as a user types them: nothing in the environment
asks for quiet, the commands must be quiet on their own.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = """\
model:
  name: quiet
  task: regression
  family: sklearn
  params: {estimator: sklearn.linear_model.Ridge, alpha: 1.0}
data: {target: y}
"""

CHATTER = (
    "Successfully registered model",
    "Created version",
    "Downloading artifacts",
    "it/s]",  # any tqdm bar
    "INFO",  # alembic's "INFO  [alembic.runtime.migration] ..." and MLflow's log lines
    "alembic",
    "mlflow.",
)


def _tiny_regression(path: Path) -> Path:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["y"] = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=120)
    frame.to_csv(path, index=False)
    return path


def _mlcycle(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # What a user's shell holds: none of MLflow's variables, no MLCYCLE_DEBUG.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLCYCLE_"))}
    env["MLCYCLE_HOME"] = str(folder / "home")
    return subprocess.run(
        [sys.executable, "-m", "mlcycle", *args],
        capture_output=True, text=True, env=env, cwd=folder, timeout=600,
    )  # fmt: skip


def test_train_prints_mlcycle_and_logs_mlflow(tmp_path: Path) -> None:
    (tmp_path / "mlcycle.yaml").write_text(PROJECT)
    data = _tiny_regression(tmp_path / "tiny.csv")

    trained = _mlcycle(tmp_path, "train", "--data", str(data))
    # The second run downloads the frozen holdout the first one drew.
    again = _mlcycle(tmp_path, "train", "--data", str(data), "--no-register")

    for done in (trained, again):
        assert done.returncode == 0, done.stderr[-3000:]
        assert not [word for word in CHATTER if word in done.stderr], done.stderr[-3000:]
    assert "Registered quiet version 1" in trained.stdout
    log_file = tmp_path / "home" / "logs" / "mlcycle.log"
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600  # it may quote paths and names
    log = log_file.read_text(encoding="utf-8")
    assert "Successfully registered model 'quiet'" in log
    assert "Created version '1' of model 'quiet'" in log
