"""Benchmark: the text-monitoring report over a window of 1,000,000 logged predictions.

Run with the project's environment:

    .venv/bin/python benchmarks/bench_monitor.py --rows 1000000 --rounds 3 \
        --markdown benchmarks/MONITOR_RESULTS.md

What happens:

1. Setup (not timed, cached under benchmarks/.work/monitor/): a reference profile of
   100,000 generated rows, and a prediction log of ``--rows`` generated texts, half
   normal and half drifted, in the server's own format (``mlcycle.data.predlog``), cut
   into files of 20,000 rows as the server's flushes would, over 24 hours; feedback for
   2% of them. Predicted codes and probabilities are drawn around the true codes (a
   model's answers; the statistics do not care how they were made).
2. Timed, in a fresh process: ``build_summary`` (every DuckDB aggregate and every
   statistic: prediction, section and confidence drift, text drift with new words,
   live accuracy with bootstrap intervals per NACE level, volume and latency) plus
   rendering and writing the HTML report. Peak RSS is that process's maximum resident
   set, read by the parent with ``os.wait4``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "monitor"
START = datetime(2024, 5, 6, tzinfo=UTC)
FILE_ROWS = 20_000
BAR_SECONDS = 5.0


def setup(rows: int, seed: int) -> Path:
    """The cached log and profile for ``rows`` predictions."""
    import numpy as np
    import pyarrow as pa

    from mlcycle.data.predlog import FEEDBACK_SCHEMA, PREDICTION_SCHEMA, write_partitioned
    from mlcycle.data.profile import build_profile
    from mlcycle.tasks.text.generator import generate

    folder = WORK / f"rows{rows}-seed{seed}"
    if (folder / "done").exists():
        return folder
    reference = generate(100_000, seed)
    profile = build_profile(pa.table({"text": reference["text"], "label": reference["nace"]}))
    folder.mkdir(parents=True, exist_ok=True)
    profile.write(folder / "profile.json")
    codes = np.array(sorted(profile.labels))
    rng = np.random.default_rng(seed)
    span_ms = 86_400_000
    for part, first in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - first)
        frame = generate(n, seed + 1 + part, drift=first >= rows // 2)
        true = frame["nace"].to_numpy()
        wrong = rng.random(n) < 0.3
        top1 = np.where(wrong, codes[rng.integers(0, len(codes), n)], true)
        ranked = np.column_stack([top1] + [codes[rng.integers(0, len(codes), n)]] * 4)
        p1 = np.clip(rng.beta(5, 2, n), 0.01, 1.0).astype(np.float32)
        probs = np.column_stack([p1] + [(1 - p1) / 5] * 4).astype(np.float32)
        ms = int(START.timestamp() * 1000) + (first + np.arange(n)) * span_ms // rows
        ids = [f"{int(m):012x}"[:8] + "-" + f"{int(m):012x}"[8:] + f"-7000-8000-{i:012x}"
               for i, m in zip(range(first, first + n), ms, strict=True)]  # fmt: skip
        table = pa.Table.from_pydict(
            {
                "request_id": ids,
                "index": pa.array(np.zeros(n), pa.int32()),
                "batch_size": pa.array(np.ones(n), pa.int32()),
                "timestamp": pa.array(ms.astype(np.int64)).cast(pa.timestamp("ms", tz="UTC")),
                "model_name": ["nace"] * n,
                "model_version": ["1"] * n,
                "text": frame["text"].tolist(),
                "text_hash": pa.nulls(n, pa.string()),
                "text_chars": pa.array(frame["text"].str.len().to_numpy(), pa.int32()),
                "codes": ranked.tolist(),
                "probabilities": pa.array(probs.tolist(), pa.list_(pa.float32())),
                "latency_ms": pa.array(rng.gamma(2.0, 2.0, n), pa.float32()),
                "api_key": pa.nulls(n, pa.string()),
                "record": pa.nulls(n, pa.string()),
                "value": pa.nulls(n, pa.float64()),
            },
            schema=PREDICTION_SCHEMA,
        )
        write_partitioned(folder / "predictions", table)
        labelled = rng.random(n) < 0.02
        write_partitioned(
            folder / "feedback",
            pa.Table.from_pydict(
                {
                    "request_id": [i for i, keep in zip(ids, labelled, strict=True) if keep],
                    "index": pa.array(np.zeros(labelled.sum()), pa.int32()),
                    "timestamp": table.column("timestamp").filter(pa.array(labelled)),
                    "true_code": true[labelled].tolist(),
                    "predicted_code": top1[labelled].tolist(),
                    "model_name": ["nace"] * int(labelled.sum()),
                    "model_version": ["1"] * int(labelled.sum()),
                    "api_key": pa.nulls(int(labelled.sum()), pa.string()),
                    "true_value": pa.nulls(int(labelled.sum()), pa.float64()),
                },
                schema=FEEDBACK_SCHEMA,
            ),
        )
    (folder / "done").touch()
    return folder


def worker(folder: Path, out: Path) -> None:
    """Timed: the summary and the HTML report of the whole window."""
    from mlcycle.core.settings import Settings
    from mlcycle.data.profile import ReferenceProfile
    from mlcycle.monitor.logstore import LogStore
    from mlcycle.monitor.reference import ServedReference
    from mlcycle.monitor.report import write_report
    from mlcycle.monitor.summary import build_summary

    settings = Settings(home=folder)
    profile = ReferenceProfile.read(folder / "profile.json")
    reference = ServedReference("nace@production", "nace", "1", None, "bench@1", profile, None)
    store = LogStore(folder / "predictions", folder / "feedback")
    began = time.perf_counter()
    summary = build_summary(
        settings, START, START + timedelta(days=1), store=store, reference=reference
    )
    built = time.perf_counter()
    write_report(summary, out)
    done = time.perf_counter()
    print(json.dumps({
        "summary_s": built - began, "report_s": done - began,
        "predictions": summary.volume.predictions,
        "labelled": summary.quality.labelled,
        "code_js": summary.prediction.drift.code.scores["jensenshannon"].statistic,
        "oov_rate": summary.text.drift.result.oov_rate,
        "html_bytes": out.stat().st_size,
    }))  # fmt: skip


def measure(folder: Path) -> dict:
    out = WORK / "report.html"
    command = [sys.executable, __file__, "--worker", str(folder), str(out)]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    process_s = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"worker failed with status {status}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1000  # kilobytes on Linux
    result["process_s"] = process_s  # with interpreter start and imports
    return result


def median_run(results: list[dict]) -> dict:
    """The run with the median report time, plus every run's times."""
    ordered = sorted(results, key=lambda r: r["report_s"])
    median = dict(ordered[len(ordered) // 2])
    median["all_report_s"] = [r["report_s"] for r in results]
    median["all_process_s"] = [r["process_s"] for r in results]
    median["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
    return median


def markdown(rows: int, result: dict) -> str:
    verdict = "meets" if result["report_s"] < BAR_SECONDS else "misses"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    rounds = len(result["all_report_s"])
    runs = ", ".join(f"{v:.2f}" for v in result["all_report_s"])
    processes = ", ".join(f"{v:.2f}" for v in result["all_process_s"])
    return f"""# Monitoring report benchmark

`python benchmarks/bench_monitor.py --rows {rows} --rounds {rounds}`
on {platform.node() or "this machine"} ({os.cpu_count()} cores, Python
{platform.python_version()}; load average {load} at the end of the run, the benchmark's own
work included). Median of {rounds} runs, each in a fresh process.

A window of {result["predictions"]:,} logged predictions (half normal, half drifted
generated French texts, in {-(-rows // FILE_ROWS)} Parquet files), {result["labelled"]:,}
of them with feedback; the reference profile of 100,000 generated rows.

| step | seconds |
| --- | ---: |
| summary: DuckDB aggregates + every statistic | {result["summary_s"]:.2f} |
| summary + HTML report written | {result["report_s"]:.2f} |
| the whole process: interpreter start, imports, summary, report | {result["process_s"]:.2f} |

Report times of every run: {runs} s; whole processes: {processes} s.

Peak RSS (largest of the runs): {result["peak_rss_mb"]:.0f} MB. HTML report:
{result["html_bytes"] / 1000:.0f} kB (aggregates only; it opens instantly).
Predicted-code JS distance {result["code_js"]:.3f}, unknown-word rate
{result["oov_rate"]:.3f}.

Bar: a 1M-prediction report in under {BAR_SECONDS:.0f} s: **{verdict}** it.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    folder = setup(args.rows, args.seed)
    result = median_run([measure(folder) for _ in range(args.rounds)])
    print(json.dumps(result, indent=2))
    if args.markdown:
        args.markdown.write_text(markdown(args.rows, result))


if __name__ == "__main__":
    main()
