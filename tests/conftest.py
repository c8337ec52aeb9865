"""Shared fixtures: an isolated project home and MLflow store per test or per session."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlcycle.core.settings import default_project, get_settings
from mlcycle.core.settings.root import OWN_TRACKING_URI_ENV
from mlcycle.core.tracking import tracking_restored
from tests.forked_cli import run_mlcycle

# pyspark (the test extra's) ends the process with exit code 0 when imported under a
# __main__ that has neither a spec nor a file, taking it for a doctest run; pytest-xdist's
# workers are such a process, and MLflow imports pyspark.sql.connect whenever it infers a
# signature (to check for Spark frames). The worker gets a file for its __main__: an
# empty module, since a process a test spawns runs that file first.
_MAIN = sys.modules["__main__"]
if getattr(_MAIN, "__spec__", None) is None and not hasattr(_MAIN, "__file__"):
    _MAIN.__file__ = str(Path(__file__).with_name("xdist_main.py"))


def pytest_configure(config: pytest.Config) -> None:
    """One numba cache for every mlcycle process of every run: the user's.

    A command caches its compiled kernels under its project home unless NUMBA_CACHE_DIR
    names a folder; each test's home is new, so each command trained or served there
    would compile them again (seconds of CPU each time). pytest-xdist's workers and the
    commands the tests start inherit the variable; numba recompiles a kernel whose
    source changed. The tests of where the cache goes unset it.
    """
    from mlcycle.models.numba_cache import CACHE_ENV, user_cache_folder

    os.environ.setdefault(CACHE_ENV, str(user_cache_folder()))


def project_path(home: Path) -> Path:
    """A test project's file: beside its home (``home.yaml``), so the home is left for
    mlcycle to create."""
    return home.with_name(f"{home.name}.yaml")


def write_project(home: Path, overrides: str = "", *, on_default: bool = True) -> Path:
    """The project file of ``home``: the default project (the NACE example) with
    ``overrides`` (YAML text) merged in, the way a test adjusts a few settings; with
    ``on_default`` False, ``overrides`` is the whole project."""
    base = _with_absolute_cases(yaml.safe_load(default_project().read_text())) if on_default else {}
    merged = _merged(base, yaml.safe_load(overrides))
    path = project_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False))
    get_settings.cache_clear()
    return path


def _with_absolute_cases(project: dict) -> dict:
    """The default project's behaviour cases file, named by its packaged path: the test's
    project file sits elsewhere, and relative paths start at the project file."""
    behaviour = project["registry"]["gates"]["behaviour"]
    behaviour["cases_file"] = str(default_project().parent / behaviour["cases_file"])
    return project


def _merged(base: dict, extra: dict | None, depth: int = 0) -> dict:
    """Sections merge (``registry: {gates: {quality: ...}}``); below them a value is
    replaced whole, so a test's ``minimums`` are the only minimums."""
    out = dict(base)
    for key, value in (extra or {}).items():
        if depth < 2 and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value, depth + 1)
        else:
            out[key] = value
    return out


def _isolate(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", OWN_TRACKING_URI_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.setenv("MLCYCLE_HOME", str(home))
    if not project_path(home).exists():
        write_project(home)
    monkeypatch.setenv("MLCYCLE_PROJECT", str(project_path(home)))
    get_settings.cache_clear()


@contextlib.contextmanager
def isolated(home: Path) -> Iterator[Path]:
    """mlcycle and MLflow pointed at ``home`` for the block (a module's own store);
    settings, MLflow's URIs and the environment as they were after it."""
    with tracking_restored(), pytest.MonkeyPatch.context() as mp:
        _isolate(home, mp)
        yield home
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """Forget settings read during a test: they may name its home, gone once the test's
    environment is restored, and the next test would train into it."""
    yield
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
    if not project_path(home).exists():
        write_project(home)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID")}
    env.update(MLCYCLE_HOME=str(home), MLCYCLE_PROJECT=str(project_path(home)))
    return env


def run_cli(
    home: Path,
    *args: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 600,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``mlcycle ARGS`` in its own process against ``home``, run from the home's folder
    (forked from a process that has made the imports: ``tests/forked_cli.py``)."""
    env = {**cli_env(home), "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", **(extra_env or {})}
    return run_mlcycle(list(args), env=env, cwd=home.parent, timeout=timeout, stdin=stdin)


def one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a failed command (no traceback), checked and returned."""
    assert done.returncode != 0, done.stdout[-2000:]
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


def until_logged(folder: Path, rows: int, model: str | None = None) -> None:
    """Until the Parquet log in ``folder`` holds ``rows`` rows (of ``model`` when named)
    or 30 s passed; the assertions after it then say what was logged. A server writes
    its log every flush interval, so a check run at once may find nothing yet."""
    import pandas as pd

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            logged = pd.read_parquet(folder)
            if (len(logged) if model is None else (logged["model_name"] == model).sum()) >= rows:
                return
        except (OSError, ValueError, KeyError):
            pass  # no file yet, or one being written
        time.sleep(0.2)
