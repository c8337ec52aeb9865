"""The git commit behind a run, recorded as lineage; absent git is not an error."""

from __future__ import annotations

import subprocess


def git_state(cwd: str | None = None) -> dict[str, str]:
    """``commit`` and ``dirty`` ("true"/"false"), or ``unknown`` outside a repository."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": "unknown"}
    return {"commit": commit, "dirty": str(dirty).lower()}
