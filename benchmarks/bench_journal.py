"""What the prediction-log journal costs the request path, in nanoseconds per request.

Hands the same answered single-text request to a ``Recorder`` with the journal and
without it (the memory-only log of before), and times the parts apart: encoding the
line, one ``os.write`` to an ``O_APPEND`` file. The writer thread is not started, so
only the request path is measured; the journal folder is a temporary one (put it on
the disk the server's home uses with ``--folder``).

Usage::

    .venv/bin/python benchmarks/bench_journal.py [--requests 200000] [--rounds 5]
        [--folder DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlcycle.data.predlog import new_request_id
from mlcycle.serve.journal import Journal, encode
from mlcycle.serve.logrecords import LogRecord
from mlcycle.serve.recorder import Recorder

TEXT = "Brasserie, cuisine traditionnelle et plats du jour à emporter"
CODES = [["5610A", "5610C", "5630Z", "4711D", "1071C"]]
PROBS = [[0.812345, 0.101234, 0.051234, 0.021234, 0.011234]]


def records(count: int) -> list[LogRecord]:
    """``count`` answered one-text requests, as ``mlcycle.serve.predict`` builds them."""
    now = time.time_ns() // 1_000_000
    return [
        LogRecord(new_request_id(now), now, "nace", "12", [TEXT], CODES, PROBS, 0.42, "client")
        for _ in range(count)
    ]


def per_call_ns(action: Callable[[LogRecord], object], batch: list[LogRecord]) -> float:
    start = time.perf_counter_ns()
    for record in batch:
        action(record)
    return (time.perf_counter_ns() - start) / len(batch)


def measure(folder: Path, count: int) -> dict[str, float]:
    """One round: nanoseconds per request of each way of handing a record over."""
    batch = records(count)
    roots = (folder / "predictions", folder / "feedback")
    memory = Recorder(None, roots, max_queue=10 * count)
    journaled = Recorder(None, roots, max_queue=10 * count, journal=Journal(folder / "a"))
    line = encode(batch[0])
    raw = Journal(folder / "b")
    result = {
        "memory only (before)": per_call_ns(memory.prediction, batch),
        "with the journal": per_call_ns(journaled.prediction, batch),
        "encode the line": per_call_ns(encode, batch),
        "os.write of the line": per_call_ns(lambda _: raw.append(line), batch),
    }
    for journal in (journaled.journal, raw):
        segment = journal.seal() if journal is not None else None
        if segment is not None:
            segment.release(delete=True)
    result["line bytes"] = len(line)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", type=Path, help="Where the journal goes (default: /tmp).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as work:
        rounds = [measure(Path(work), args.requests) for _ in range(args.rounds)]
    print(f"{args.requests} single-text requests, median of {args.rounds} rounds")
    for name in rounds[0]:
        value = statistics.median(r[name] for r in rounds)
        unit = "" if name == "line bytes" else " ns/request"
        print(f"  {name:<24} {value:>8.0f}{unit}")
    cost = statistics.median(r["with the journal"] - r["memory only (before)"] for r in rounds)
    print(f"  {'journal cost':<24} {cost:>8.0f} ns/request")


if __name__ == "__main__":
    main()
