"""Processes of this machine: whether one still runs, how many cores this one may use,
how many threads its native libraries start, how a serving process keeps its memory."""

from __future__ import annotations

import ctypes
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


# glibc's mallopt parameters (malloc.h) and the sizes a serving process uses them with.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MAPPED_FROM_BYTES = 32 * 2**20  # glibc's own ceiling for its moving threshold
TRIMMED_FROM_BYTES = 128 * 2**20


def keep_freed_memory() -> None:
    """Make this process reuse the memory of the large blocks it frees (glibc only;
    elsewhere nothing changes).

    By default glibc maps each block above a threshold afresh and returns the free top of
    its heaps above another, so a request that builds a few 2 MB buffers (a 1,000-text
    answer is copied from the answer writer to bytes, the response, the socket) touches
    new pages each time: 500 page faults per buffer. Measured here on the 732-code model:
    a 1,000-text answer took 6.4 ms in one process with this against 8.8 without; under
    1,000-text batches a serving worker did 96,600 texts/s against 90,000 (two: 142,500
    against 129,700) and held 740 MB against 600. A smaller trim threshold (32 MB) kept
    120 MB of the 140 and lost most of the gain.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS has no mallopt)
        return
    mallopt(_M_MMAP_THRESHOLD, MAPPED_FROM_BYTES)
    mallopt(_M_TRIM_THRESHOLD, TRIMMED_FROM_BYTES)


def serving_process() -> None:
    """Set up a process that serves or scores a model: one native thread per pool
    (:func:`one_native_thread`) and freed memory kept for reuse (:func:`keep_freed_memory`)."""
    one_native_thread()
    keep_freed_memory()
