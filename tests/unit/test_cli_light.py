"""`mlcycle --help` stays fast: the CLI imports nothing heavy until a command runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("mlflow", "pandas", "numpy", "numba", "fastapi", "sklearn", "matplotlib")


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mlcycle.cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_command_has_help() -> None:
    for command in (["train"], ["serve"], ["demo"], ["data", "generate"], ["models", "promote"]):
        result = subprocess.run(
            [sys.executable, "-m", "mlcycle", *command, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0 and "Usage" in result.stdout, (command, result.stderr)


def test_text_work_and_monitoring_load_neither_scikit_learn_nor_scipy_stats() -> None:
    """A text project's commands and `monitor check` skip about a second of imports
    (each CLI process of the test suite paid it too)."""
    probe = (
        "import sys\n"
        "from mlcycle.tasks import task_class\n"
        "task_class('text-classification')\n"
        "import mlcycle.monitor.rules, mlcycle.registry.live\n"
        "print(sorted(m for m in ('sklearn', 'scipy.stats') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_each_task_name_has_its_class() -> None:
    from mlcycle.core.settings.model import TASK_NAMES
    from mlcycle.tasks import task_class

    assert [task_class(name).name for name in TASK_NAMES] == list(TASK_NAMES)
