"""The command-line tools ``deploy check`` runs: kustomize (through kubectl), promtool
and amtool. Each answer is parsed objects or one sentence saying what failed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from mlcycle.core.errors import Unavailable

TIMEOUT_S = 120


def kustomize(folder: Path) -> tuple[list[dict], str | None]:
    """The objects ``kustomize build folder`` prints, or its error in one sentence.

    Raises:
        Unavailable: Neither kubectl nor kustomize is installed.
    """
    if kubectl := find("kubectl"):
        command = [kubectl, "kustomize", str(folder)]
    elif standalone := find("kustomize"):
        command = [standalone, "build", str(folder)]
    else:
        raise Unavailable(
            "kubectl is not installed, and kustomize neither; install kubectl (it includes "
            "kustomize) to check the Kubernetes manifests."
        )
    done = _run(command)
    if done.returncode != 0:
        return [], f"kustomize cannot build it: {_kustomize_error(done.stderr)}."
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc], None


def promtool(*args: str, cwd: Path | None = None) -> str | None:
    """None when ``promtool ARGS`` succeeds, else what it said; raises when it is absent."""
    return _tool("promtool", "prometheus", args, cwd)


def amtool(*args: str) -> str | None:
    """None when ``amtool ARGS`` succeeds, else what it said; raises when it is absent."""
    return _tool("amtool", "prometheus-alertmanager", args, None)


def find(name: str) -> str | None:
    """``name`` on PATH, else beside this Python: pip installs tools (the test extra's
    kubectl, hadolint, actionlint) into the environment's bin, which may not be on PATH."""
    return shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))


def installed(name: str) -> bool:
    return find(name) is not None


def _tool(name: str, package: str, args: tuple[str, ...], cwd: Path | None) -> str | None:
    path = find(name)
    if path is None:
        raise Unavailable(f"{name} is not installed (Debian package '{package}').")
    done = _run([path, *args], cwd=cwd)
    if done.returncode == 0:
        return None
    return _failure(done.stdout + "\n" + done.stderr)


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{Path(command[0]).name} did not answer in {TIMEOUT_S} s.") from None


def _kustomize_error(stderr: str) -> str:
    """kubectl wraps kustomize's error in a log line and nests every cause in it; the
    innermost causes say what to fix."""
    text = _last_line(stderr)
    if 'err="' in text:
        text = text.split('err="', 1)[1].rstrip('"').replace('\\"', '"')
    return ": ".join(text.split(": ")[-3:]).strip("'\" ")


def _failure(output: str) -> str:
    """promtool and amtool print "FAILED:" then the reason, on its line or the next."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        reason = line.partition("FAILED:")[2].strip() if "FAILED:" in line else None
        if reason:
            return reason.rstrip(".")
        if reason == "" and index + 1 < len(lines):
            return lines[index + 1].rstrip(".")
    return _last_line(output)


def _last_line(text: str) -> str:
    """The most telling line of a tool's output: its last non-blank one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1].removeprefix("Error: ").rstrip(".") if lines else ""
