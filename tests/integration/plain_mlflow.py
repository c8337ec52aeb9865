"""Plain MLflow where mlcycle is not installed: a fresh virtual environment holding only
a model's recorded requirements, and the environment pointing it at our tracking store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlcycle.core.settings import get_settings


def tracking_env() -> dict[str, str]:
    """This process's environment without mlcycle's settings, at the tracking store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "VIRTUAL_ENV"))}
    env["MLFLOW_TRACKING_URI"] = get_settings().resolved_tracking_uri()
    # mlflow models serve starts `uvicorn` from PATH: use this interpreter's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def fresh_venv(requirements: Path, where: Path) -> str:
    """A new virtual environment under ``where`` with ``requirements`` installed from
    wheels (no mlcycle); returns its Python.

    This environment's pip installs into it (``--python``): the new one gets no pip of
    its own to install first. Nothing is byte-compiled ahead (pip would compile every
    file of every package); the probe compiles the modules it imports.
    """
    venv = where / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = str(venv / "bin" / "python")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-compile",
            "-r",
            str(requirements),
        ],
        check=True,
        timeout=900,
    )
    return python


def run_probe(python: str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``python`` against the tracking store, from ``cwd``."""
    return subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        env=tracking_env(),
        timeout=300,
        cwd=cwd,
    )
