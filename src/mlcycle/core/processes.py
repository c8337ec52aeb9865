"""Processes of this machine: whether one still runs, how many cores this one may use,
how many threads its native libraries start."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its parent) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1]
    except OSError:
        return True  # no /proc (not Linux): kill's answer stands
    return not state.startswith("Z")


def usable_cores() -> int:
    """The cores this process may run on (its affinity on Linux, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_native_thread() -> None:
    """Run this process's native thread pools (BLAS for matrix products, OpenMP for
    scikit-learn's tree ensembles) on one thread each: for a process that is one core's
    worth of work (a serving worker, a scoring worker), with more cores given more
    processes.

    Idle pool threads spin between calls: measured here on 2 cores, OpenBLAS's tripled
    the CPU a 1,000-text batch costs (44 ms instead of 18), two scoring workers went
    from 52,000 to 83,000 texts/s with it, and HistGradientBoosting's OpenMP threads
    made one-record predictions several times slower on a busy machine
    (``benchmarks/bench_serve_tabular.py --levers``). The environment covers the pools
    that start later (scikit-learn's OpenMP runtime loads with the model, and a pool
    reads its size once, for every thread); threadpoolctl the pools already running.
    """
    from threadpoolctl import threadpool_limits

    os.environ.update(dict.fromkeys(NATIVE_THREAD_VARIABLES, "1"))
    threadpool_limits(limits=1)
