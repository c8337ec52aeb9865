"""Side-by-side benchmark of MLflow's tracking server on SQLite and on PostgreSQL, under
concurrent writers (the team tracking server's issue).

One run starts a throwaway PostgreSQL cluster (:mod:`mlcycle.server.postgres`, database
``mlflow``) and two plain ``mlflow server`` processes with ``--workers`` workers each: one
on ``sqlite:///<tmp>/mlflow.db`` (the store users start with, and the source of MLflow's
"database is locked" reports), one on the cluster. Both get their store URI through
``MLFLOW_BACKEND_STORE_URI`` rather than argv, so the password is not in ``ps``.

``--clients`` writer *processes* (16: separate users, each with its own HTTP
connections), forked once, write to one server at a time. In each phase every writer
creates its own run in the store's shared experiment, then, all starting together, logs
for ``--duration`` seconds with one of two patterns:

* ``log_metric``: ``MlflowClient.log_metric``, one REST call per value (the pattern
  behind the lock errors);
* ``log_batch``: ``MlflowClient.log_batch`` of ``--batch`` metrics (one step of
  ``--batch`` keys) per call.

Writers run with ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0``: MLflow's client otherwise
retries an HTTP 500 up to 7 times with back-off, which hides the server's errors. Every
exception is counted, with its message. After each phase each writer reads its run back
(``get_metric_history``, key by key): a value whose write succeeded but is not stored
is *lost*, a value stored whose call failed is *unexpected* (the write happened but the
client was told otherwise). Each round measures both stores, the order alternating; the
tables give medians of the rounds, error counts are totals.

Usage::

    .venv/bin/python benchmarks/bench_tracking_store.py [--clients 16] [--workers 2]
        [--duration 20] [--rounds 3] [--batch 50] [--warmup 3] [--json] [--markdown OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from mlcycle.server import postgres

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_serve as serve  # noqa: E402 - free port, process-group stop, CPU of a group

STORES = ("sqlite", "postgresql")
MODES = ("log_metric", "log_batch")
RETRIES = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
START_TIMEOUT_S = 240  # the first start on an empty database runs every migration


def _message(error: BaseException) -> str:
    """The exception's type and message on one line, cut short (bodies can be long)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}"


class Writer:
    """One simulated user, living in its own process: its own run and connections."""

    def __init__(self) -> None:
        self.client: MlflowClient | None = None
        self.run_id = ""
        self.keys: list[str] = []
        self.ok_steps: list[int] = []

    def open(self, url: str, experiment_id: str) -> str:
        """Create this user's run; return '' or the error (run creation is a write too)."""
        self.client, self.run_id, self.ok_steps = MlflowClient(url), "", []
        try:
            self.run_id = self.client.create_run(experiment_id).info.run_id
        except Exception as error:
            return _message(error)
        return ""

    def write(self, mode: str, batch: int, start: float, end: float) -> dict[str, Any]:
        """Log from ``start`` to ``end`` (the monotonic clock, common to all processes)."""
        self.keys = ["loss"] if mode == "log_metric" else [f"m{j:02d}" for j in range(batch)]
        latencies: list[float] = []
        errors: dict[str, int] = {}
        step = 0
        time.sleep(max(0.0, start - time.monotonic()))
        while self.run_id and time.monotonic() < end:
            began = time.perf_counter()
            try:
                self._call(mode, step)
            except Exception as error:
                errors[_message(error)] = errors.get(_message(error), 0) + 1
            else:
                latencies.append(time.perf_counter() - began)
                self.ok_steps.append(step)
            step += 1
        return {"latencies": latencies, "errors": errors, "finished": time.monotonic()}

    def _call(self, mode: str, step: int) -> None:
        assert self.client is not None
        now = int(time.time() * 1000)
        if mode == "log_metric":
            self.client.log_metric(self.run_id, "loss", float(step), timestamp=now, step=step)
        else:
            metrics = [Metric(key, float(step), now, step) for key in self.keys]
            self.client.log_batch(self.run_id, metrics=metrics)

    def verify(self) -> dict[str, Any]:
        """Stored values against successful writes, key by key: lost and unexpected ones."""
        found = {"stored": 0, "lost": 0, "unexpected": 0, "error": ""}
        expected = set(self.ok_steps)
        try:
            for key in self.keys if self.client and self.run_id else []:
                steps = [m.step for m in self.client.get_metric_history(self.run_id, key)]
                found["stored"] += len(steps)
                found["lost"] += len(expected - set(steps))
                found["unexpected"] += len(steps) - len(expected & set(steps))  # and doubles
        except Exception as error:
            found["error"] = _message(error)
        return found


def _writer_main(pipe: Connection) -> None:
    """Serve the parent's requests (``(method, *args)``; None ends) with one Writer."""
    os.environ[RETRIES] = "0"  # a 500 retried by MLflow's client would not be counted
    writer = Writer()
    while (request := pipe.recv()) is not None:
        method, *args = request
        pipe.send(getattr(writer, method)(*args))


class Writers:
    """The writer processes, forked once at the start: mlflow is already imported (no
    process pays for its import again) and no HTTP connection is open yet to inherit."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_writer_main, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def ask(self, *request: Any) -> list[Any]:
        """Send ``request`` to every writer (so they work at once); gather the answers."""
        for pipe in self.pipes:
            pipe.send(request)
        return [pipe.recv() for pipe in self.pipes]

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # that writer is gone already
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():  # still busy: the run was interrupted mid-phase
                process.terminate()


def start_postgres(cluster: postgres.Cluster) -> str:
    """Create and start the cluster; the URL of its (new) ``mlflow`` database."""
    postgres.ensure(cluster)
    postgres.start(cluster)
    postgres.create_database(cluster.url("postgres"), "mlflow")
    return cluster.url("mlflow")


def remove_postgres(cluster: postgres.Cluster) -> None:
    """Stop the cluster and delete its files (as root they live outside the work folder)."""
    try:
        postgres.stop(cluster)
    finally:
        shutil.rmtree(cluster.data, ignore_errors=True)
        cluster.log.unlink(missing_ok=True)


def start_server(label: str, uri: str, work: Path, workers: int) -> dict[str, Any]:
    """Start ``mlflow server`` in its own session (stopped as a group), without waiting."""
    port = serve._free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLCYCLE_"))}
    # mlflow starts uvicorn by name, so the venv's bin must be on PATH.
    env.update(PATH=f"{serve.BIN}{os.pathsep}{env.get('PATH', '')}", MLFLOW_BACKEND_STORE_URI=uri)
    command = [str(serve.BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
               "--artifacts-destination", (work / f"{label}-artifacts").as_uri(),
               "--workers", str(workers)]  # fmt: skip
    log = open(work / f"{label}.log", "w")  # noqa: SIM115 - closed by serve.stop()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    return {"process": process, "url": f"http://127.0.0.1:{port}", "log": log}


def wait_healthy(label: str, server: dict[str, Any]) -> None:
    """Wait until ``GET /health`` answers 200; exit with the log's tail if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server["process"].poll() is None:
        try:
            if httpx.get(server["url"] + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    tail = Path(server["log"].name).read_text()[-2000:]
    raise SystemExit(f"mlflow server on {label} did not start:\n{tail}")


def wait_settled(servers: dict[str, dict[str, Any]], quiet_cores: float = 0.2) -> float:
    """Wait until the servers' processes are idle; return the seconds waited. /health
    answers before ``mlflow server``'s job runner and its huey consumers (on by default,
    one Python process each) have finished importing: that costs cores for a minute."""
    groups = [server["process"].pid for server in servers.values()]
    began = time.monotonic()
    while time.monotonic() - began < START_TIMEOUT_S:
        before = sum(map(serve.group_cpu_s, groups))
        time.sleep(3)
        if sum(map(serve.group_cpu_s, groups)) - before < 3 * quiet_cores:
            break
    return time.monotonic() - began


def cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the live processes among ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """``pid`` and its children: PostgreSQL's backends each lead a process group of their
    own, so the postmaster's group alone misses them."""
    found = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except OSError:
            continue
    return found


def server_cpu_s(server: dict[str, Any]) -> float:
    """CPU used so far by ``mlflow server``'s process group and, if any, the database's."""
    used = serve.group_cpu_s(server["process"].pid)
    return used + (cpu_s(family(server["postmaster"])) if server.get("postmaster") else 0.0)


def postmaster_pid(cluster: postgres.Cluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def phase(writers: Writers, server: dict[str, Any], mode: str, seconds: float,
          args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """Every writer opens a run, then all log together for ``seconds``; then read back."""
    opened = writers.ask("open", server["url"], server["experiment_id"])
    pids = [p.pid for p in writers.processes if p.pid is not None]
    server_cpu, client_cpu, clock = server_cpu_s(server), cpu_s(pids), time.monotonic()
    start = time.monotonic() + 0.5  # every writer is waiting on its pipe: they start together
    written = writers.ask("write", mode, args.batch, start, start + seconds)
    elapsed = time.monotonic() - clock
    cores = {"server_cores": (server_cpu_s(server) - server_cpu) / elapsed,
             "client_cores": (cpu_s(pids) - client_cpu) / elapsed}  # fmt: skip
    checked = writers.ask("verify")
    window = max(w["finished"] for w in written) - start
    latencies = np.array([x for w in written for x in w["latencies"]]) * 1000
    messages = _merge([{o: 1} for o in opened if o] + [w["errors"] for w in written])
    per_call = 1 if mode == "log_metric" else args.batch
    return {
        "calls_ok": len(latencies),
        "calls_per_s": len(latencies) / window,
        "metrics_per_s": len(latencies) * per_call / window,
        "p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) if len(latencies) else float("nan"),
        "errors": sum(messages.values()),
        "messages": messages,
        "expected": len(latencies) * per_call,
        **{k: sum(c[k] for c in checked) for k in ("stored", "lost", "unexpected")},
        "verify_errors": [c["error"] for c in checked if c["error"]],
        **cores,
        "load_average": os.getloadavg()[0],
    }


def _merge(counts: list[dict[str, int]]) -> dict[str, int]:
    """Error messages with their counts, added up."""
    merged: dict[str, int] = {}
    for count in counts:
        for message, n in count.items():
            merged[message] = merged.get(message, 0) + n
    return merged


def measure(writers: Writers, servers: dict[str, dict[str, Any]],
            args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """Warm each server up, then ``--rounds`` rounds of both patterns on both stores."""
    for store, server in servers.items():
        client = MlflowClient(server["url"])
        server["experiment_id"] = client.create_experiment(f"{args.clients}-writers")
        if args.warmup > 0:  # first requests: connection pools, imports, caches
            phase(writers, server, "log_metric", args.warmup, args)
            print(f"warmed up {store}", file=sys.stderr, flush=True)
    runs: dict[str, list[dict[str, Any]]] = {f"{s} {m}": [] for s in STORES for m in MODES}
    for round_ in range(args.rounds):
        for store in STORES if round_ % 2 == 0 else STORES[::-1]:
            for mode in MODES:
                result = phase(writers, servers[store], mode, args.duration, args)
                runs[f"{store} {mode}"].append(result)
                print(f"round {round_ + 1} {store:10} {mode:10} {_fmt(result)}",
                      file=sys.stderr, flush=True)  # fmt: skip
    return runs


def _fmt(r: dict[str, Any]) -> str:
    return (f"{r['calls_per_s']:8.1f} calls/s {r['metrics_per_s']:9.1f} metrics/s "
            f"p50 {r['p50_ms']:7.1f} ms p99 {r['p99_ms']:7.1f} ms errors {r['errors']} "
            f"lost {r['lost']} unexpected {r['unexpected']} server cores "
            f"{r['server_cores']:.2f} client cores {r['client_cores']:.2f} "
            f"load {r['load_average']:.2f}")  # fmt: skip


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians of the rates and latencies, totals of everything that went wrong."""
    table: dict[str, dict[str, Any]] = {}
    for label, rs in runs.items():
        row: dict[str, Any] = {k: statistics.median(r[k] for r in rs)
                               for k in ("calls_per_s", "metrics_per_s", "p50_ms", "p99_ms",
                                         "server_cores", "client_cores")}  # fmt: skip
        for key in ("errors", "expected", "stored", "lost", "unexpected"):
            row[key] = sum(r[key] for r in rs)
        row["messages"] = _merge([r["messages"] for r in rs])
        row["verify_errors"] = [e for r in rs for e in r["verify_errors"]]
        table[label] = row
    rate = {label: row["calls_per_s"] for label, row in table.items()}
    ratios = {mode: rate[f"postgresql {mode}"] / rate[f"sqlite {mode}"] for mode in MODES}
    failures = ("errors", "lost", "unexpected")
    clean = all(table[f"postgresql {m}"][k] == 0 for m in MODES for k in failures) and not any(
        table[f"postgresql {m}"]["verify_errors"] for m in MODES
    )
    return {"table": table, "ratios": ratios, "postgresql_zero_errors": clean}


def environment(postgres_url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(postgres_url, connect_timeout=10) as connection:
        server_version = connection.execute("SHOW server_version").fetchone()[0]
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "?")
    packages = ", ".join(f"{p} {version(p)}" for p in ("mlflow", "SQLAlchemy", "psycopg"))
    return {
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "software": f"Python {platform.python_version()}, {packages}, SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL {server_version.split()[0]}",
    }


def markdown(summary: dict[str, Any], info: dict[str, Any], args: argparse.Namespace) -> str:
    """The report: setting, the table of both stores, the ratios, the errors, the bar."""
    lines = [
        f"## Team tracking server: PostgreSQL against SQLite under {args.clients} writers",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_tracking_store.py --rounds {args.rounds} "
        f"--duration {args.duration:g} --clients {args.clients} --workers {args.workers} "
        f"--batch {args.batch}` ({info['date']})",
        "",
        f"- Two plain `mlflow server --workers {args.workers}`, one on SQLite (a file in "
        "/tmp), one on a throwaway PostgreSQL cluster on loopback; the clients on the same "
        "machine.",
        f"- {args.clients} writer processes, each with its own run; `log_metric`: one REST "
        f"call per value; `log_batch`: {args.batch} metrics per call. {args.duration:g} s "
        f"per store and pattern, median of {args.rounds} rounds, stores alternating; "
        f"`{RETRIES}=0` in the writers, so every failed call is counted.",
        "- Server cores: the CPU of the `mlflow server` process group (its uvicorn workers, "
        "and its job runner with 7 huey consumers, on by default, idle here) plus, on "
        "PostgreSQL, the database's own processes; client cores: the writers'; CPU "
        "seconds per second of the phase.",
        f"- Machine: {info['machine']}; 1-minute load average {info['load_min']:.2f} to "
        f"{info['load_max']:.2f} during the phases.",
        f"- {info['software']}.",
        "",
        "| store | pattern | calls/s | metrics/s | p50 ms | p99 ms | failed calls "
        "| values stored / written | lost | unexpected | server cores | client cores |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    for label, r in summary["table"].items():
        store, mode = label.split()
        lines.append(
            f"| {store} | {mode} | {r['calls_per_s']:,.1f} | {r['metrics_per_s']:,.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} "
            f"| {r['stored']:,} / {r['expected']:,} | {r['lost']} | {r['unexpected']} "
            f"| {r['server_cores']:.2f} | {r['client_cores']:.2f} |"
        )
    ratios = ", ".join(f"{m} {x:.2f}x" for m, x in summary["ratios"].items())
    lines += ["", f"Throughput ratio PostgreSQL / SQLite (calls/s): {ratios}.", ""]
    lines += _error_lines(summary)
    held = "holds" if summary["postgresql_zero_errors"] else "DOES NOT HOLD"
    lines += ["", f"Bar: zero failed calls and no lost value on PostgreSQL: **{held}**."]
    return "\n".join(lines) + "\n"


def _error_lines(summary: dict[str, Any], shown: int = 3) -> list[str]:
    """The first distinct messages of each store and pattern, most frequent first."""
    lines = ["Errors (all rounds):", ""]
    for label, r in summary["table"].items():
        ranked = sorted(r["messages"].items(), key=lambda item: -item[1])
        if not ranked and not r["verify_errors"]:
            lines.append(f"- {label}: none.")
            continue
        lines.append(f"- {label}: {r['errors']} failed calls, {len(ranked)} distinct messages")
        lines += [f"  - {count} x `{message}`" for message, count in ranked[:shown]]
        lines += [f"  - reading back failed: `{e}`" for e in r["verify_errors"][:shown]]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="Writer processes.")
    parser.add_argument("--workers", type=int, default=2, help="mlflow server workers, each.")
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds per phase.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50, help="Metrics per log_batch call.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds, not counted.")
    parser.add_argument("--json", action="store_true", help="Print JSON, not Markdown.")
    parser.add_argument("--markdown", type=Path, help="Also write the Markdown report here.")
    args = parser.parse_args(argv)
    writers = Writers(args.clients)  # first: before this process opens any connection
    work = Path(tempfile.mkdtemp(prefix="bench-tracking-store-"))
    cluster = postgres.cluster_for(work / "state", serve._free_port())
    servers: dict[str, dict[str, Any]] = {}
    try:
        url = start_postgres(cluster)
        uris = {"sqlite": f"sqlite:///{work / 'mlflow.db'}", "postgresql": url}
        servers = {s: start_server(s, uris[s], work, args.workers) for s in STORES}
        for store, server in servers.items():  # both start (and migrate) at once
            wait_healthy(store, server)
        servers["postgresql"]["postmaster"] = postmaster_pid(cluster)
        settled = wait_settled(servers)
        print(f"servers idle after {settled:.0f} s more", file=sys.stderr, flush=True)
        info = environment(url)
        runs = measure(writers, servers, args)
    finally:
        writers.close()
        for server in servers.values():
            serve.stop(server)
        remove_postgres(cluster)
        shutil.rmtree(work, ignore_errors=True)
    loads = [r["load_average"] for rs in runs.values() for r in rs]
    info.update(date=date.today().isoformat(), load_min=min(loads), load_max=max(loads))
    summary = summarise(runs)
    report = markdown(summary, info, args)
    if args.markdown:
        args.markdown.write_text(report)
    if args.json:
        print(json.dumps({"args": vars(args) | {"markdown": str(args.markdown)},
                          "environment": info, "runs": runs, **summary}, indent=2))  # fmt: skip
    else:
        print(report)


if __name__ == "__main__":
    main()
