"""How a serving process keeps its memory: large freed blocks are reused, not mapped again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Three 3 MB buffers built and freed 40 times (a 1,000-text answer goes through a few
# such copies); prints the page faults the loop took. ``kept`` applies the tuning first.
CHURN = """
import resource, sys
from mlcycle.core.processes import keep_freed_memory
if sys.argv[1] == "kept":
    keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    buffers = [b"w" * (3 * 2**20) for _ in range(3)]
    del buffers
before = faults()
for _ in range(40):
    buffers = [b"x" * (3 * 2**20) for _ in range(3)]
    del buffers
print(faults() - before)
"""


def page_faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_large_blocks_are_reused_without_new_page_faults() -> None:
    default, kept = page_faults("default"), page_faults("kept")
    # 40 rounds of 9 MB are about 92,000 fresh pages when each block is mapped anew.
    assert default > 10_000, f"the default allocator reused the blocks already ({default})"
    assert kept < 500, f"{kept} page faults with freed memory kept (default: {default})"
