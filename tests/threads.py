"""Run one function from several threads at once, switching between them as often as
the interpreter allows, so that races in shared state show up in a test."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any


def in_threads(work: Callable[[int], Any], threads: int = 4) -> list[Any]:
    """``work(i)`` for i in 0..threads-1, all at once; each result, or the exception raised."""
    results: list[Any] = [None] * threads

    def run(index: int) -> None:
        try:
            results[index] = work(index)
        except Exception as exc:  # shared state torn by another thread
            results[index] = exc

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for thread in started:
            thread.start()
        for thread in started:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    return results
