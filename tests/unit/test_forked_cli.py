"""The tests' forked commands answer as ``python -m mlcycle`` does (tests/forked_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.forked_cli import run_mlcycle

CASES = [
    (["--version"], None),  # success
    (["models", "promote"], None),  # a usage error: exit status 2, Click's message
    (["models", "list"], None),  # mlcycle's own error: the project file does not exist
    (["serve", "hash-key"], "short\n"),  # reads standard input, refuses what it read
]


@pytest.mark.parametrize(("args", "stdin"), CASES)
def test_a_forked_command_answers_as_a_new_process_does(args, stdin, tmp_path: Path) -> None:
    env = {**os.environ, "MLCYCLE_PROJECT": "missing.yaml"}  # relative: the folder matters
    forked = run_mlcycle(args, env=env, cwd=tmp_path, stdin=stdin, timeout=120)
    fresh = subprocess.run(
        [sys.executable, "-m", "mlcycle", *args], env=env, cwd=tmp_path, input=stdin or "",
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        fresh.returncode,
        fresh.stdout,
        fresh.stderr,
    )
    assert forked.stdout or forked.stderr


def test_the_environment_folder_and_input_are_the_requests_own(tmp_path: Path) -> None:
    (tmp_path / "here.yaml").write_text("model: {name: m, task: nowhere}\n")
    env = {**os.environ, "MLCYCLE_PROJECT": "here.yaml"}
    done = run_mlcycle(["models", "list"], env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "nowhere" in done.stderr, done.stderr
    hashed = run_mlcycle(["serve", "hash-key"], env=dict(os.environ), cwd=tmp_path,
                         stdin="x" * 20 + "\n", timeout=120)  # fmt: skip
    assert hashed.returncode == 0 and hashed.stdout.strip(), hashed.stderr
