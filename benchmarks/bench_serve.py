"""Side-by-side HTTP benchmark: ``mlcycle serve`` against ``mlflow models serve``.

Both servers serve the SAME registered model version, on loopback, measured by ``wrk``
(``apt-get install -y wrk``, one wrk thread) at the same load:

* single: one text per request, 16 connections, ``--duration`` seconds; mlflow gets
  ``{"inputs": ["text"], "params": {"k": 5}}`` at ``/invocations``, mlcycle
  ``{"texts": ["text"], "k": 5}`` at ``/predict``. Requests rotate through 300 distinct
  generated texts.
* batch: 1,000 texts per request, ``--batch-connections`` per worker (4), 4 distinct batches.

mlcycle runs in production mode (unless ``--plain``): API keys required (wrk sends
``Authorization: Bearer``), every answered text written to the Parquet prediction
log, Prometheus metrics on, the alias followed. Three servers are measured in one run:
mlflow and mlcycle with ``--workers`` each (the comparison), and mlcycle with
``--scale-workers`` (the multi-worker scaling; wrk competes for the same cores).

Each round runs every scenario on every server, the order alternating from round to
round; the tables give the median of the rounds. Servers are warmed before the first
round. After the rounds, mlcycle's /metrics give the log rows written and dropped.

With ``--shadow`` the run compares instead mlcycle with shadow scoring off and on at
100% (``serve.experiment``: every request also scored by the challenger alias, off the
response path), same workers, same scenarios, alternating: throughput ratio and the
champion's p99 (medians over rounds), and the shadow answers scored and dropped.

Without ``--home`` a temporary project home is made and the default model trained and
promoted there, as a user would (``mlcycle train``; ``mlcycle models promote``).

Usage::

    .venv/bin/python benchmarks/bench_serve.py [--home DIR] [--model nace@production]
        [--workers 1] [--scale-workers 2] [--duration 10] [--rounds 3] [--plain]
        [--json OUT] [--markdown benchmarks/SERVE_RESULTS.md]
        [--shadow [--challenger challenger]]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LOGS = HERE / ".work" / "serve-logs"  # git-ignored; kept for a look after a failed start
BARS = {
    "throughput_ratio": 5.0,
    "p99_ratio": 0.25,
    "batch_texts_per_s_per_worker": 80_000,
    "scaling": 1.6,
    "batch_scaling": 1.6,
}
SECTION = "## Production mode"
SHADOW_SECTION = "## Shadow scoring cost"
PACED_SECTION = "## Paced shadow scoring cost"
CORES_SECTION = "## One core per worker"
# issue 18: the champion's p99 with shadow on at 100% within 10% of shadow off
SHADOW_P99_BAR = 1.10
LUA = r"""
local queue, n = {}, 0
-- --pace-ms: each connection waits this long after an answer, so the load stays below
-- what the servers can do (wrk has no fixed rate; the rate then follows the latency).
local pace = tonumber(os.getenv("WRK_PACE_MS") or "0")
if pace > 0 then
  function delay() return pace end
end
function init(args)
  local headers = {["Content-Type"] = "application/json"}
  if args[2] then headers["Authorization"] = "Bearer " .. args[2] end
  for line in io.lines(args[1]) do
    queue[#queue + 1] = wrk.format("POST", nil, headers, line)
  end
  n = math.random(#queue)
end
function request()
  n = n % #queue + 1
  return queue[n]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def prepare_home(home: Path | None, model: str, env: dict[str, str]) -> Path:
    """Use ``home`` as is, or train and promote the default model in a new temporary one."""
    if home is not None:
        return home
    home = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    env["MLCYCLE_HOME"] = str(home)
    name, _, alias = model.removeprefix("models:/").partition("@")
    print(f"Training the default model in {home} (takes a minute)...", flush=True)
    result = json.loads(_run([str(BIN / "mlcycle"), "train", "--json"], env))
    promote = ["models", "promote", name, "--version", str(result["version"]), "--to", alias]
    _run([str(BIN / "mlcycle"), *promote], env)
    return home


def production_settings(work: Path, key: str, plain: bool, challenger: str | None = None) -> Path:
    """The project file mlcycle serves with: keys, log and metrics on (off with plain);
    with ``challenger``, shadow scoring of every request by it."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    import yaml

    from mlcycle.core.settings import default_project

    # The flagship project (a project file names its model) with serving's settings.
    project = yaml.safe_load(default_project().read_text())
    project["serve"] = {
        "metrics": not plain,
        "auth": {"enabled": not plain, "keys": {"bench": digest}},
        "prediction_log": {"enabled": not plain, "dir": str(work / "predictions"),
                           "shadow_dir": str(work / "shadow")},
    }  # fmt: skip
    if challenger is not None:
        project["serve"]["experiment"] = {"mode": "shadow", "share": 1.0, "challenger": challenger}
    path = work / ("mlcycle-shadow.yaml" if challenger else "mlcycle.yaml")
    path.write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False))
    return path


def sample_texts(count: int, seed: int = 7) -> list[str]:
    from mlcycle.tasks.text.generator import generate

    return generate(count, seed)["text"].astype(str).tolist()


def write_bodies(folder: Path, texts: list[str]) -> dict[tuple[str, str], Path]:
    """One JSON body per line, per API and scenario."""
    import orjson

    def ours(batch: list[str]) -> bytes:
        return orjson.dumps({"texts": batch, "k": 5})

    def theirs(batch: list[str]) -> bytes:
        return orjson.dumps({"inputs": batch, "params": {"k": 5}})

    singles = [[t] for t in texts[:300]]
    batches = [texts[i * 1000 : (i + 1) * 1000] for i in range(4)]
    files = {}
    for api, encode in (("mlflow", theirs), ("mlcycle", ours)):
        for scenario, items in (("single", singles), ("batch", batches)):
            path = folder / f"{api}-{scenario}.jsonl"
            path.write_bytes(b"\n".join(encode(b) for b in items) + b"\n")
            files[api, scenario] = path
    return files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(api: str, label: str, model: str, workers: int, env: dict[str, str],
          cores: int = 0) -> dict[str, Any]:  # fmt: skip
    """Start one server in its own session; return its process and URLs once ready.

    With ``cores``, the server (all its processes) may run on the first that many only.
    """
    port = _free_port()
    if api == "mlflow":
        uri = model if model.startswith("models:/") else f"models:/{model}"
        command = [str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"]
        ready, path = "/ping", "/invocations"
    else:
        command = [str(BIN / "mlcycle"), "serve", "--model", model]
        ready, path = "/ready", "/predict"
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if cores:
        command = ["taskset", "--cpu-list", f"0-{cores - 1}", *command]
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{label}.log", "w")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    handle = {"process": process, "url": base + path, "base": base, "log": log, "api": api}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base + ready, timeout=2).status_code == 200:
                _wait_listening(port, workers if api == "mlcycle" else 1)
                return handle
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop(handle)
    sys.exit(f"{label} did not start; see {log.name}")


def _wait_listening(port: int, workers: int) -> None:
    """/ready answered from one worker: wait until every worker listens (Linux, where
    each has its own socket), or give the others a moment elsewhere."""
    tcp = Path("/proc/net/tcp")
    if workers == 1 or not tcp.exists():
        time.sleep(2 * (workers - 1))
        return
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = [line.split() for line in tcp.read_text().splitlines()[1:]]
        listening = sum(r[3] == "0A" and int(r[1].rsplit(":", 1)[1], 16) == port for r in rows)
        if listening >= workers:
            return
        time.sleep(0.2)
    sys.exit(f"only some of the {workers} workers on port {port} started")


def stop(handle: dict[str, Any]) -> None:
    """SIGTERM the server's process group (mlflow runs uvicorn as a child)."""
    process = handle["process"]
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    handle["log"].close()


def group_cpu_s(group: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if int(fields[2]) == group:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def wrk(url: str, script: Path, bodies: Path, connections: int, seconds: float, key: str,
        server_group: int, pace_ms: int = 0) -> dict:  # fmt: skip
    """Run wrk once; return req/s, latency percentiles in ms and the CPU both sides used."""
    # One wrk thread: it drives >50k req/s, and leaves the rest of the cores to servers.
    command = f"wrk -t1 -c{connections} -d{seconds:g}s --timeout 10s -s {script}".split()
    command += [url, "--", str(bodies)] + ([key] if key else [])
    server_before = group_cpu_s(server_group)
    env = {**os.environ, "WRK_PACE_MS": str(pace_ms)}
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    server_cpu = group_cpu_s(server_group) - server_before
    if status != 0:
        sys.exit(f"wrk failed: {out}")
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds_measured = raw["duration_us"] / 1e6
    return {
        "req_per_s": raw["requests"] / seconds_measured,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "failures": raw["errors"] + raw["non2xx"],
        # cores busy on average during the run: the servers', and wrk's own
        "server_cores": server_cpu / seconds_measured,
        "wrk_cores": (usage.ru_utime + usage.ru_stime) / seconds_measured,
    }


def log_counts(handle: dict[str, Any]) -> dict[str, float]:
    """Prediction-log rows written and dropped, and the shadow challenger's answers,
    drops and errors, from the server's own metrics."""
    response = httpx.get(handle["base"] + "/metrics", timeout=10)
    names = {
        "written": 'mlcycle_prediction_log_records_total{outcome="written"}',
        "dropped": 'mlcycle_prediction_log_records_total{outcome="dropped"}',
        "shadow_answers": "mlcycle_shadow_answers_total",
        "shadow_dropped": "mlcycle_shadow_dropped_total",
        "challenger_errors": "mlcycle_challenger_errors_total",
    }
    counts = dict.fromkeys(names, 0.0)
    if response.status_code != 200:
        return counts
    for line in response.text.splitlines():
        for outcome, name in names.items():
            if line.startswith(name) and line[len(name)] in " {":
                counts[outcome] += float(line.rsplit(" ", 1)[1])
    return counts


def measure(args: argparse.Namespace, env: dict[str, str], work: Path) -> dict[str, Any]:
    """All rounds; returns per server and scenario the list of runs."""
    script = work / "post.lua"
    script.write_text(LUA)
    files = write_bodies(work, sample_texts(4000))
    key = secrets.token_urlsafe(24)
    ours_env = {**env, "MLCYCLE_PROJECT": str(production_settings(work, key, args.plain))}
    servers = {
        "mlflow": ("mlflow", args.workers, env),
        "mlcycle": ("mlcycle", args.workers, ours_env),
        f"mlcycle-{args.scale_workers}w": ("mlcycle", args.scale_workers, ours_env),
    }
    if args.shadow:  # the same server with shadow scoring off and on at 100%
        project = production_settings(work, key, args.plain, args.challenger)
        servers = {
            "mlcycle": ("mlcycle", args.workers, ours_env),
            "mlcycle-shadow": ("mlcycle", args.workers, {**env, "MLCYCLE_PROJECT": str(project)}),
        }
    handles = {
        label: start(api, label, args.model, w, e, args.cores_per_worker * w)
        for label, (api, w, e) in servers.items()
    }
    plan = {  # label -> scenario -> connections
        label: {"single": args.connections, "batch": args.batch_connections * w}
        for label, (_, w, _) in servers.items()
    }
    runs: dict[str, dict[str, list[dict]]] = {s: {c: [] for c in plan[s]} for s in servers}

    def one(label: str, scenario: str, seconds: float) -> dict:
        api = servers[label][0]
        auth = key if api == "mlcycle" and not args.plain else ""
        return wrk(handles[label]["url"], script, files[api, scenario], plan[label][scenario],
                   seconds, auth, handles[label]["process"].pid, args.pace_ms)  # fmt: skip

    try:
        for label in servers:  # warm-up: first-request paths, allocators
            for scenario in plan[label]:
                one(label, scenario, 3)
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(servers)[::-1]
            for label in order:
                for scenario in plan[label]:
                    result = one(label, scenario, args.duration)
                    result["texts_per_s"] = result["req_per_s"] * (
                        1000 if scenario == "batch" else 1
                    )
                    result["load_average"] = os.getloadavg()[0]
                    runs[label][scenario].append(result)
                    print(f"round {round_ + 1} {label:11} {scenario:6} {_fmt(result)}", flush=True)
        logs = {label: log_counts(h) for label, h in handles.items() if h["api"] == "mlcycle"}
    finally:
        for handle in handles.values():
            stop(handle)
    return {"runs": runs, "logs": logs, "workers": {k: v[1] for k, v in servers.items()}}


def _fmt(r: dict) -> str:
    return (
        f"{r['req_per_s']:>9.0f} req/s {r['texts_per_s']:>10.0f} texts/s "
        f"p50 {r['p50_ms']:6.2f} ms p99 {r['p99_ms']:7.2f} ms failures {r['failures']} "
        f"cores: server {r['server_cores']:.2f} wrk {r['wrk_cores']:.2f} "
        f"load {r['load_average']:.2f}"
    )


def summarise(measured: dict, args: argparse.Namespace) -> dict[str, Any]:
    """Medians per server and scenario, and the ratios the bars are set on."""
    runs = measured["runs"]
    med = {s: {c: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for c, rs in by.items()} for s, by in runs.items()}  # fmt: skip
    ours, theirs = med["mlcycle"], med["mlflow"]
    scaled = med[f"mlcycle-{args.scale_workers}w"]
    checks = {
        "throughput_ratio": ours["single"]["req_per_s"] / theirs["single"]["req_per_s"],
        "p99_ratio": ours["single"]["p99_ms"] / theirs["single"]["p99_ms"],
        "batch_texts_per_s_per_worker": ours["batch"]["texts_per_s"] / args.workers,
        "scaling": scaled["single"]["req_per_s"] / ours["single"]["req_per_s"],
        # On batches wrk needs almost no CPU: the servers have the cores to themselves.
        "batch_scaling": scaled["batch"]["texts_per_s"] / ours["batch"]["texts_per_s"],
    }
    passed = {
        name: (value <= BARS[name]) if name == "p99_ratio" else (value >= BARS[name])
        for name, value in checks.items()
    }
    return {"medians": med, "checks": checks, "bars": BARS, "passed": passed}


def summarise_shadow(measured: dict) -> dict[str, Any]:
    """Medians with shadow off and on, and what shadow scoring costs the champion."""
    runs = measured["runs"]
    med = {s: {c: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for c, rs in by.items()} for s, by in runs.items()}  # fmt: skip
    off, on = med["mlcycle"], med["mlcycle-shadow"]
    checks = {
        f"{scenario}_{what}": on[scenario][key] / off[scenario][key]
        for scenario in ("single", "batch")
        for what, key in (("throughput_ratio", "req_per_s"), ("p99_ratio", "p99_ms"))
    }
    return {"medians": med, "checks": checks, "p99_bar": SHADOW_P99_BAR}


def shadow_markdown(summary: dict, measured: dict, env_info: dict, args: argparse.Namespace,
                    model_info: dict) -> str:  # fmt: skip
    """The shadow-cost section: shadow off against shadow on at 100%."""
    loads = [
        r["load_average"] for by in measured["runs"].values() for rs in by.values() for r in rs
    ]
    checks, logs = summary["checks"], measured["logs"]["mlcycle-shadow"]
    scored = logs["shadow_answers"] + logs["shadow_dropped"]
    paced = f" --pace-ms {args.pace_ms}" if args.pace_ms else ""
    load = (
        f"each connection waits {args.pace_ms} ms after each answer (a load below saturation)"
        if args.pace_ms
        else "wrk at full speed (the servers saturated)"
    )
    heading = PACED_SECTION if args.pace_ms else SHADOW_SECTION
    lines = [
        f"{heading}: shadow off vs on at 100% (issue 18)",
        "",
        f"Command: `python benchmarks/bench_serve.py --shadow --workers {args.workers} "
        f"--duration {args.duration:g} --rounds {args.rounds}{paced}`",
        "",
        "- Both servers in production mode (prediction log, metrics, API keys); the shadow "
        f"one also scores every request with `{args.challenger}` (here the same model "
        "version loaded a second time, so the challenger costs what the champion does) and "
        "logs its answers in the shadow log.",
        f"- Machine: {env_info['machine']}; wrk (1 thread) on the same cores, loopback; "
        f"1-minute load average {min(loads):.2f} to {max(loads):.2f} during the runs. A "
        "shared 2-core machine is noisy: single runs vary by 10% and more.",
        f"- Model: {model_info['name']} version {model_info['version']} "
        f"({model_info['labels']} codes). Single: 1 text per request, {args.connections} "
        f"connections; batch: 1,000 texts, {args.batch_connections} connections per "
        f"worker; {load}. Median of {args.rounds} rounds.",
        "",
    ]
    lines += _runs_table(summary["medians"], measured)
    lines += [
        "",
        "| measure | shadow on / off | target |",
        "| --- | ---: | --- |",
        f"| single-text req/s | {checks['single_throughput_ratio']:.2f} | (the cost) |",
        f"| single-text champion p99 | {checks['single_p99_ratio']:.2f} "
        f"| <= {SHADOW_P99_BAR:.2f} ({_holds(checks['single_p99_ratio'])}) |",
        f"| 1,000-text batches texts/s | {checks['batch_throughput_ratio']:.2f} | (the cost) |",
        f"| 1,000-text batches champion p99 | {checks['batch_p99_ratio']:.2f} "
        f"| <= {SHADOW_P99_BAR:.2f} ({_holds(checks['batch_p99_ratio'])}) |",
        "",
        f"Shadow requests over the whole run: {logs['shadow_answers']:,.0f} scored, "
        f"{logs['shadow_dropped']:,.0f} dropped because the queue was full "
        f"({100 * logs['shadow_dropped'] / scored if scored else 0:.1f}%), "
        f"{logs['challenger_errors']:,.0f} challenger errors.",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _holds(p99_ratio: float) -> str:
    return "holds" if p99_ratio <= SHADOW_P99_BAR else "does NOT hold"


def environment() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "?")
    wrk_words = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    packages = ("mlcycle", "mlflow", "fastapi", "starlette", "uvicorn", "orjson",
                "prometheus-client", "pyarrow")  # fmt: skip
    versions = [f"{p} {version(p)}" for p in packages]
    versions.append(f"wrk {wrk_words[1] if len(wrk_words) > 1 else '?'}")
    return {
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": ", ".join(versions),
    }


def markdown(summary: dict, measured: dict, env_info: dict, args: argparse.Namespace,
             model_info: dict) -> str:  # fmt: skip
    """The production-mode section for SERVE_RESULTS.md and docs/benchmarks.md."""
    mode = ("logging, metrics and API keys OFF (--plain)" if args.plain else
            "prediction log (Parquet), Prometheus metrics and API keys all ON")  # fmt: skip
    loads = [
        r["load_average"] for by in measured["runs"].values() for rs in by.values() for r in rs
    ]
    lines = [
        f"{CORES_SECTION if args.cores_per_worker else SECTION}: `mlcycle serve` vs "
        "`mlflow models serve`",
        "",
        f"Command: `python benchmarks/bench_serve.py --workers {args.workers} --scale-workers "
        f"{args.scale_workers} --duration {args.duration:g} --rounds {args.rounds}"
        f"{' --plain' if args.plain else ''}{_cores_flag(args)}`",
        "",
        f"- mlcycle: {mode}; wrk sends `Authorization: Bearer` to mlcycle.",
        *_cores_note(args),
        f"- Machine: {env_info['machine']}; wrk (1 thread) on the same machine, loopback. "
        f"The machine was shared: 1-minute load average {min(loads):.2f} to {max(loads):.2f} "
        "during the runs (wrk and the servers themselves included).",
        f"- Python {env_info['python']}; {env_info['versions']}.",
        f"- Model: {model_info['name']} version {model_info['version']} "
        f"({model_info['labels']} codes), {model_info['origin']}; the same registered "
        "version for every server.",
        f"- Single: 1 text per request, {args.connections} connections, {args.duration:g} s; "
        f"batch: 1,000 texts per request, {args.batch_connections} connections per worker; "
        "k=5. "
        f"Median of {args.rounds} rounds, servers alternating in order.",
        "",
    ]
    lines += _runs_table(summary["medians"], measured)
    lines += _notes(summary, measured, args)
    lines += _bars_table(summary, args)
    return "\n".join(lines) + "\n"


def _cores_flag(args: argparse.Namespace) -> str:
    return f" --cores-per-worker {args.cores_per_worker}" if args.cores_per_worker else ""


def _cores_note(args: argparse.Namespace) -> list[str]:
    """How the servers were confined, when they were."""
    if not args.cores_per_worker:
        return []
    return [
        f"- Each server confined (`taskset`) to {args.cores_per_worker} core(s) per worker, "
        "as a container with a CPU limit would be: the scaling figures then compare N "
        "workers on N cores with 1 on 1. wrk is not confined."
    ]


def _runs_table(med: dict, measured: dict) -> list[str]:
    lines = [
        "| scenario | server | workers | req/s | texts/s | p50 ms | p99 ms | failed requests "
        "| server cores | wrk cores | server CPU µs per text |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario in ("single", "batch"):
        for label, by in med.items():
            r, w = by[scenario], measured["workers"][label]
            lines.append(
                f"| {scenario} | {label} | {w} | {r['req_per_s']:,.0f} | {r['texts_per_s']:,.0f} "
                f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['failures']:.0f} "
                f"| {r['server_cores']:.2f} | {r['wrk_cores']:.2f} "
                f"| {1e6 * r['server_cores'] / r['texts_per_s']:.1f} |"
            )
    return lines


def ceiling(summary: dict, args: argparse.Namespace) -> float:
    """The most the scaled server could reach over one worker, single text, with wrk on
    the same cores: all cores busy at the CPU per request (server + wrk) it measured."""
    one = summary["medians"]["mlcycle"]["single"]
    scaled = summary["medians"][f"mlcycle-{args.scale_workers}w"]["single"]
    cpu_per_request = (scaled["server_cores"] + scaled["wrk_cores"]) / scaled["req_per_s"]
    return (os.cpu_count() or 1) / cpu_per_request / one["req_per_s"]


def _notes(summary: dict, measured: dict, args: argparse.Namespace) -> list[str]:
    checks = summary["checks"]
    logs = ", ".join(
        f"{label}: {c['written']:,.0f} rows written, {c['dropped']:,.0f} dropped"
        for label, c in measured["logs"].items()
    )
    rounds = {
        label: ", ".join(f"{r['req_per_s']:,.0f}" for r in by["single"])
        for label, by in measured["runs"].items()
        if label.startswith("mlcycle")
    }
    return [
        "",
        f"Prediction log at the end of the run ({logs}).",
        "",
        "Single-text req/s of each round: "
        + "; ".join(f"{label}: {values}" for label, values in rounds.items())
        + ". Cores are CPU seconds per second of the run, read from /proc (servers) and "
        "wrk's own resource usage. wrk drives the load from the same 2 cores as the "
        "servers: with one worker it has the other core to itself; with two it takes "
        "CPU from them, so the single-text scaling "
        f"({checks['scaling']:.2f}x) is bounded by the cores wrk leaves, while "
        "the CPU each text costs the servers stays about the same: with every core busy "
        "at the CPU per request measured (servers plus wrk), the most it could reach is "
        f"{ceiling(summary, args):.2f}x. With 1,000-text "
        "batches wrk needs almost no CPU: that scenario measures the servers' scaling. "
        "Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads "
        "connections over them by a hash of the client's address and port: with 16 "
        "connections both workers get some, but two batch connections land on the same "
        "worker half the time, which is why batches use several connections per worker.",
    ]


def _bars_table(summary: dict, args: argparse.Namespace) -> list[str]:
    checks, passed = summary["checks"], summary["passed"]
    bars = [
        ("single-text throughput, mlcycle / mlflow", f">= {BARS['throughput_ratio']:g}x",
         f"{checks['throughput_ratio']:.1f}x", passed["throughput_ratio"]),
        ("single-text p99, mlcycle / mlflow", f"<= {BARS['p99_ratio']:g}",
         f"{checks['p99_ratio']:.3f}", passed["p99_ratio"]),
        ("1,000-text batches, texts/s per worker",
         f">= {BARS['batch_texts_per_s_per_worker']:,}",
         f"{checks['batch_texts_per_s_per_worker']:,.0f}", passed["batch_texts_per_s_per_worker"]),
        (f"single-text req/s, {args.scale_workers} workers / {args.workers}",
         f">= {BARS['scaling']:g}x", f"{checks['scaling']:.2f}x", passed["scaling"]),
        (f"1,000-text batches, texts/s, {args.scale_workers} workers / {args.workers}",
         f">= {BARS['batch_scaling']:g}x", f"{checks['batch_scaling']:.2f}x",
         passed["batch_scaling"]),
    ]  # fmt: skip
    lines = ["", "| bar | target | measured | holds |", "| --- | --- | ---: | --- |"]
    return lines + [f"| {b} | {t} | {m} | {'yes' if ok else 'NO'} |" for b, t, m, ok in bars]


def write_section(path: Path, section: str, heading: str = SECTION) -> None:
    """Replace the section of ``path`` under ``heading`` (or append it), keep the rest."""
    text = path.read_text() if path.exists() else ""
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    path.write_text(text)


def model_details(env: dict[str, str], model: str) -> dict[str, Any]:
    """Name, version and number of codes of the model, from a short-lived plain server."""
    handle = start("mlcycle", "mlcycle-info", model, 1, env)
    try:
        return httpx.get(handle["base"] + "/").json()
    finally:
        stop(handle)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Project home holding the model.")
    parser.add_argument("--model", default="nace@production", help="NAME@ALIAS to serve.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scale-workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per wrk run.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-connections", type=int, default=4, help="Per worker.")
    parser.add_argument("--plain", action="store_true", help="mlcycle without log/metrics/keys.")
    parser.add_argument("--json", type=Path, help="Write raw runs and medians here.")
    parser.add_argument("--markdown", type=Path, default=HERE / "SERVE_RESULTS.md")
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="Compare shadow scoring off and on at 100%% instead of mlflow.",
    )
    parser.add_argument(
        "--pace-ms",
        type=int,
        default=0,
        help="With --shadow: each connection waits this long between requests (below saturation).",
    )
    parser.add_argument(
        "--cores-per-worker",
        type=int,
        default=0,
        help="Confine each server to this many cores per worker (default: all cores).",
    )
    parser.add_argument(
        "--challenger",
        default="challenger",
        help="The shadow challenger: an alias of --model's model, or a ref.",
    )
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "MLFLOW_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # mlflow runs `uvicorn` from PATH
    home = prepare_home(args.home, args.model, env).resolve()
    env["MLCYCLE_HOME"] = str(home)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{home / 'mlflow.db'}"
    try:
        info = model_details(env, args.model)
        info["origin"] = (
            f"from {args.home}"
            if args.home
            else "trained by `mlcycle train` (synthetic data, default parameters)"
        )
        with tempfile.TemporaryDirectory() as work:
            measured = measure(args, env, Path(work))
    finally:
        if args.home is None:  # the temporary home made for this run
            shutil.rmtree(home, ignore_errors=True)
    env_info = environment()
    if args.shadow:
        summary = summarise_shadow(measured)
        report = shadow_markdown(summary, measured, env_info, args, info)
    else:
        summary = summarise(measured, args)
        report = markdown(summary, measured, env_info, args, info)
    print(report)
    heading = (PACED_SECTION if args.pace_ms else SHADOW_SECTION) if args.shadow else SECTION
    heading = CORES_SECTION if args.cores_per_worker and not args.shadow else heading
    write_section(args.markdown, report, heading)
    if args.json:
        payload = {**measured, **summary, "environment": env_info, "model": info,
                   "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
