"""Work folders under the home: locked while in use, removable once their process is gone."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from mlcycle.core.scratch import in_use, leftovers, remove_if_abandoned, scratch_dir

# Takes a work folder, says where, then waits to be killed.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mlcycle.core.scratch import scratch_dir

    with scratch_dir(Path(sys.argv[1]), "add") as work:
        (work / "data.parquet").write_bytes(b"x" * 1000)
        print(work, flush=True)
        time.sleep(600)
    """
)


def _holder(home: Path) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


def test_a_work_folder_is_private_locked_and_removed_on_exit(tmp_path) -> None:
    with scratch_dir(tmp_path, "add") as work:
        assert work.parent == tmp_path / "tmp" and work.name.startswith("add-")
        assert work.stat().st_mode & 0o077 == 0
        assert in_use(work) and leftovers(tmp_path) == []
        assert not remove_if_abandoned(work) and work.is_dir()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_live_process_keeps_its_folder_and_a_killed_one_leaves_a_removable_one(
    tmp_path,
) -> None:
    child, work = _holder(tmp_path)
    try:
        assert in_use(work) and leftovers(tmp_path) == []
        assert not remove_if_abandoned(work) and (work / "data.parquet").is_file()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert work.is_dir() and not in_use(work)  # left behind, and known to be
    assert leftovers(tmp_path) == [work]
    assert remove_if_abandoned(work)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_folder_without_its_lock_or_a_lock_without_its_folder_is_a_leftover(
    tmp_path,
) -> None:
    root = tmp_path / "tmp"
    (root / "add-0123").mkdir(parents=True)
    (root / "fetch-4567.lock").touch()
    assert leftovers(tmp_path) == [root / "add-0123", root / "fetch-4567"]
    assert all(remove_if_abandoned(folder) for folder in leftovers(tmp_path))
    assert list(root.iterdir()) == []
