"""Micro-benchmark: the cost of one request id on the serving path (not a test).

Every ``/predict`` request gets a UUID version 7 (``mlcycle.data.predlog``). Its random
part must come from a CSPRNG, or a client could predict other clients' ids from its own.
This compares, per id, on the same machine in one process:

- ``random`` (the former scheme): Python's Mersenne Twister, ``random.getrandbits(74)``;
- ``os.urandom per id``: one ``getrandom`` system call for each id;
- ``secrets per id``: ``secrets.randbits(74)``, the same call behind ``SystemRandom``;
- ``mlcycle``: ``predlog.new_request_id`` as shipped (OS random bytes drawn for many ids
  at once, handed out one per id).

Each figure is the best of ``--repeats`` runs of ``--ids`` calls, in nanoseconds per id,
formatting included. The schemes take turns run by run, so load from other processes
falls on all of them alike, and the best run is the least disturbed one.

Usage::

    .venv/bin/python benchmarks/bench_request_id.py [--ids 200000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import sys
import timeit
from collections.abc import Callable

from mlcycle.data import predlog

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
_74_BITS = (1 << 74) - 1
NOW_MS = 1_767_268_800_000


def _layout(now_ms: int, rand: int) -> str:
    """The UUIDv7 text of 74 random bits, the way the former ``new_request_id`` built it."""
    value = (now_ms << 80) | _VERSION_7 | ((rand >> 62) << 64) | _VARIANT | (rand & _RAND_B)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def with_random(now_ms: int) -> str:
    return _layout(now_ms, random.getrandbits(74))


def with_urandom(now_ms: int) -> str:
    return _layout(now_ms, int.from_bytes(os.urandom(10)) & _74_BITS)


def with_secrets(now_ms: int) -> str:
    return _layout(now_ms, secrets.randbits(74))


SCHEMES: dict[str, Callable[[int], str]] = {
    "random (former)": with_random,
    "os.urandom per id": with_urandom,
    "secrets per id": with_secrets,
    "mlcycle (shipped)": predlog.new_request_id,
}


def best_ns_per_id(ids: int, repeats: int) -> dict[str, float]:
    """The best run of each scheme, the schemes taking turns."""
    best = dict.fromkeys(SCHEMES, float("inf"))
    for _ in range(repeats):
        for name, make in SCHEMES.items():
            seconds = timeit.timeit(lambda make=make: make(NOW_MS), number=ids)
            best[name] = min(best[name], seconds / ids * 1e9)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ids", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]} on {platform.machine()}, {os.cpu_count()} cores")
    print(f"{'scheme':<20} {'ns/id':>8}")
    for name, ns in best_ns_per_id(args.ids, args.repeats).items():
        print(f"{name:<20} {ns:>8.0f}")


if __name__ == "__main__":
    main()
