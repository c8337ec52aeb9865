"""The Containerfile passes hadolint and the GitHub workflows pass actionlint; each linter
is shown to refuse a broken file, so a clean run means something. The Containerfile's
promises a Kubernetes manifest relies on (numeric non-root user, the health check, the
entry point, the base as an argument) are read from it too; the container test runs it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mlcycle.deploy.tools import find

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "docker" / "Containerfile"
WORKFLOWS = ROOT / ".github" / "workflows"


def _lint(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = find(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (the test extra installs it from a wheel)")
    return subprocess.run(
        [path, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_hadolint_accepts_the_containerfile() -> None:
    result = _lint("hadolint", str(CONTAINERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_refuses_a_sloppy_containerfile(tmp_path: Path) -> None:
    sloppy = tmp_path / "Containerfile"
    sloppy.write_text("FROM python\nRUN pip install mlcycle\nCMD mlcycle serve\n")
    result = _lint("hadolint", str(sloppy))
    assert result.returncode != 0
    assert {"DL3006", "DL3013"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_actionlint_accepts_the_workflows() -> None:
    workflows = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert {Path(p).stem for p in workflows} == {"test", "image", "manifests", "drift"}
    result = _lint("actionlint", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    result = _lint("actionlint", str(broken))
    assert result.returncode != 0 and "nope" in result.stdout


def test_the_containerfile_keeps_the_promises_the_manifests_rely_on() -> None:
    text = CONTAINERFILE.read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim$", text, re.M)
    assert text.count("FROM ${BASE_IMAGE}") == 3  # requirements, build, runtime
    assert re.search(r"^USER 10001:10001$", text, re.M)  # runAsUser in the manifests
    assert re.search(r"^HEALTHCHECK .*'/health'", text, re.M | re.S)
    assert 'ENTRYPOINT ["mlcycle"]' in text and 'CMD ["serve"]' in text
    assert "--only-binary=:all:" in text and "MLCYCLE_HOME=/var/lib/mlcycle" in text
