"""Side-by-side benchmark of file scoring: ``mlcycle predict`` against ``mlflow models
predict`` on the SAME registered NACE model and the same texts (issue 16).

A temporary project home is made and the NACE model trained there with the project's
default parameters on ``--train-rows`` generated rows (all 732 subclasses), put at
``nace@production``. A file of ``--rows`` generated texts is written as CSV (what
``mlflow models predict`` reads) and as Parquet. Then, each in its own process, the
order alternating over ``--rounds`` rounds:

* ``mlcycle predict`` on the CSV to Parquet, ``--workers`` processes;
* ``mlflow models predict -m models:/nace/1 -t csv --env-manager local`` on the texts
  alone (the pyfunc's signature is one string column), which loads the whole file into
  one DataFrame, written as JSON;
* with ``--spark`` and ``pyspark`` importable, ``mlflow.pyfunc.spark_udf`` on
  ``local[2]`` over the Parquet file, written as Parquet (``benchmarks/spark_score.py``).

All three answer the top-1 code (``mlflow models predict`` cannot pass the pyfunc's ``k``
parameter); the bar run answers the top 5, ``mlcycle predict``'s default.

Each run's wall time, rows per second and peak memory (the proportional set size of the
whole process tree, sampled every 0.2 s: pages forked workers share count once) are
reported; tables give medians. The bar run scores ``--bar-rows`` texts (the Parquet file
repeated) with ``mlcycle predict`` alone.

Usage::

    .venv/bin/python benchmarks/bench_batch_predict.py [--rows 1000000] [--rounds 3]
        [--bar-rows 10000000] [--workers 2] [--spark] [--markdown OUT]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

VENV_BIN = Path(sys.executable).parent
BARS = {"texts_per_s": 150_000, "peak_mb": 1024}


def main() -> None:
    args = _arguments()
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    print(f"work folder {root}", flush=True)
    env = {
        **os.environ,
        "MLCYCLE_HOME": str(root / "home"),
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    _prepare(root, env, args)
    runs: dict[str, list[dict[str, Any]]] = {}
    peers = ["mlcycle", "mlflow"] + (["spark_udf"] if args.spark else [])
    for round_ in range(args.rounds):
        order = peers if round_ % 2 == 0 else peers[::-1]
        for peer in order:
            result = _run(peer, root, env, args)
            runs.setdefault(peer, []).append(result)
            print(f"round {round_ + 1} {peer:<9} {result['seconds']:8.1f} s "
                  f"{result['rows_per_s']:>10,.0f} rows/s peak {result['peak_mb']:7.0f} MB",
                  flush=True)  # fmt: skip
    bar = _bar_run(root, env, args) if args.bar_rows else None
    report = _markdown(runs, bar, args)
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bar-rows", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--spark", action="store_true", help="Also mlflow's spark_udf.")
    parser.add_argument("--markdown", help="Write the report here.")
    return parser.parse_args()


def _prepare(root: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    from mlcycle.tasks.text.generator import generate

    generate(args.train_rows, seed=1).to_csv(root / "train.csv", index=False)
    for argv in (
        ["train", "--data", str(root / "train.csv")],
        ["models", "promote", "nace", "--version", "1", "--force", "--reason", "bench"],
    ):
        subprocess.run([str(VENV_BIN / "mlcycle"), *argv], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    texts = generate(args.rows, seed=2)[["text"]]
    texts.insert(0, "id", [f"{i:09d}" for i in range(len(texts))])
    texts[["text"]].to_csv(root / "texts-only.csv", index=False)  # the pyfunc's signature
    texts.to_csv(root / "texts.csv", index=False)
    table = pa.Table.from_pandas(texts, preserve_index=False)
    pq.write_table(table, root / "texts.parquet", row_group_size=100_000)


def _run(peer: str, root: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    out = root / f"out-{peer}"
    if peer == "mlcycle":
        argv = [str(VENV_BIN / "mlcycle"), "predict", str(root / "texts.csv"), "-o",
                f"{out}.parquet", "--id-col", "id", "--workers", str(args.workers),
                "--k", "1", "--overwrite"]  # fmt: skip
    elif peer == "mlflow":
        argv = [str(VENV_BIN / "mlflow"), "models", "predict", "-m", "models:/nace/1", "-i",
                str(root / "texts-only.csv"), "-t", "csv", "-o", f"{out}.json",
                "--env-manager", "local"]  # fmt: skip
    else:
        argv = [
            sys.executable,
            str(Path(__file__).with_name("spark_score.py")),
            str(root / "texts.parquet"),
            f"{out}.parquet",
        ]
    if peer == "mlflow":  # the project's embedded store, as mlcycle resolves it
        env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'home' / 'mlflow.db'}"}
    seconds, peak = _measured(argv, env)
    return {"seconds": seconds, "rows_per_s": args.rows / seconds, "peak_mb": peak}


def _bar_run(root: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    big = root / "big.parquet"
    table = pq.read_table(root / "texts.parquet")
    with pq.ParquetWriter(big, table.schema) as writer:
        written = 0
        while written < args.bar_rows:
            part = table.slice(0, args.bar_rows - written)
            writer.write_table(part, row_group_size=100_000)
            written += part.num_rows
    argv = [str(VENV_BIN / "mlcycle"), "predict", str(big), "-o", str(root / "big-out.parquet"),
            "--id-col", "id", "--workers", str(args.workers)]  # fmt: skip
    seconds, peak = _measured(argv, env)
    return {"rows": written, "seconds": seconds, "rows_per_s": written / seconds, "peak_mb": peak}


def _measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and the peak proportional set size (MB) of the process and its children."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    watcher = threading.Thread(target=_watch, args=(process, peak), daemon=True)
    watcher.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - start
    watcher.join()
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{err.decode(errors='replace')[-3000:]}")
    return seconds, peak[0] / 1024


def _watch(process: subprocess.Popen, peak: list[int]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], _tree_pss_kb(process.pid))
        time.sleep(0.2)


def _tree_pss_kb(root_pid: int) -> int:
    """The proportional set size (PSS) of a process tree: pages a forked worker shares
    with its parent count once, not once per process as RSS would.

    Only the tree's processes have their memory read: the kernel walks a process's page
    tables to sum it, and doing so for every process ten times a second took a fifth
    of a core from the run being measured."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            rollup = (Path("/proc") / str(pid) / "smaps_rollup").read_text()
        except OSError:
            continue
        line = next((x for x in rollup.splitlines() if x.startswith("Pss:")), "Pss: 0 kB")
        total += int(line.split()[1])
    return total


def _markdown(runs: dict[str, list[dict[str, Any]]], bar: dict[str, Any] | None,
              args: argparse.Namespace) -> str:  # fmt: skip
    def median(peer: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[peer])

    lines = [
        "## Scoring files: mlcycle predict against mlflow models predict (issue 16)", "",
        f"`.venv/bin/python benchmarks/bench_batch_predict.py --rows {args.rows} --rounds "
        f"{args.rounds} --bar-rows {args.bar_rows} --workers {args.workers}"
        f"{' --spark' if args.spark else ''}` ({time.strftime('%Y-%m-%d')}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores)", "",
        "| peer | seconds | texts/s | peak memory MB | mlcycle's speed-up |",
        "|---|---:|---:|---:|---:|",
    ]  # fmt: skip
    ours = median("mlcycle", "seconds")
    for peer in runs:
        seconds = median(peer, "seconds")
        lines.append(f"| {peer} | {seconds:.1f} | {median(peer, 'rows_per_s'):,.0f} | "
                     f"{median(peer, 'peak_mb'):,.0f} | {seconds / ours:.2f}x |")  # fmt: skip
    if bar is not None:
        holds = bar["rows_per_s"] >= BARS["texts_per_s"] and bar["peak_mb"] <= BARS["peak_mb"]
        lines += [
            "", f"Bar run: {bar['rows']:,} texts in {bar['seconds']:.1f} s = "
            f"{bar['rows_per_s']:,.0f} texts/s, peak {bar['peak_mb']:,.0f} MB (bar: "
            f"{BARS['texts_per_s']:,} texts/s, under {BARS['peak_mb']} MB): "
            f"**{'holds' if holds else 'does not hold'}**.",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
