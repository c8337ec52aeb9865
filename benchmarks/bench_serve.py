"""Side-by-side HTTP benchmark: ``mlcycle serve`` against ``mlflow models serve``.

Both servers serve the SAME registered model version with the same worker count, on
loopback, measured by ``wrk`` (``apt-get install -y wrk``) at the same load:

* single: one text per request, 16 connections, ``--duration`` seconds; mlflow gets
  ``{"inputs": ["text"], "params": {"k": 5}}`` at ``/invocations``, mlcycle
  ``{"texts": ["text"], "k": 5}`` at ``/predict``. Requests rotate through 300 distinct
  generated texts.
* batch: 1,000 texts per request, 1 connection (``--batch-connections``), 4 distinct
  batches in rotation.

Each round runs every scenario on both servers, the order of the servers alternating
from round to round; the table gives the median of the rounds. Servers are warmed
before the first round.

The model: without ``--home``, a temporary project home is made and the default model
trained and promoted there, exactly as a user would::

    export MLCYCLE_HOME=$(mktemp -d)
    mlcycle train --json                     # synthetic data, default parameters
    mlcycle models promote nace --version 1 --to production

Usage::

    .venv/bin/python benchmarks/bench_serve.py [--home DIR] [--model nace@production]
        [--workers 1] [--duration 10] [--rounds 3] [--json OUT]
        [--markdown benchmarks/SERVE_RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
SERVERS = ("mlflow", "mlcycle")
BARS = {"throughput_ratio": 5.0, "p99_ratio": 0.25, "batch_texts_per_s_per_worker": 80_000}
LUA = r"""
local queue, n = {}, 0
function init(args)
  for line in io.lines(args[1]) do
    queue[#queue + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, line)
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


def sample_texts(count: int, seed: int = 7) -> list[str]:
    from mlcycle.data.generator import generate

    return generate(count, seed)["text"].astype(str).tolist()


def write_bodies(folder: Path, texts: list[str]) -> dict[tuple[str, str], Path]:
    """One JSON body per line, per server and scenario."""
    import orjson

    def ours(batch: list[str]) -> bytes:
        return orjson.dumps({"texts": batch, "k": 5})

    def theirs(batch: list[str]) -> bytes:
        return orjson.dumps({"inputs": batch, "params": {"k": 5}})

    singles = [[t] for t in texts[:300]]
    batches = [texts[i * 1000 : (i + 1) * 1000] for i in range(4)]
    files = {}
    for server, encode in (("mlflow", theirs), ("mlcycle", ours)):
        for scenario, items in (("single", singles), ("batch", batches)):
            path = folder / f"{server}-{scenario}.jsonl"
            path.write_bytes(b"\n".join(encode(b) for b in items) + b"\n")
            files[server, scenario] = path
    return files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(server: str, model: str, workers: int, env: dict[str, str]) -> dict[str, Any]:
    """Start one server in its own session; return its process and URLs once ready."""
    port = _free_port()
    if server == "mlflow":
        uri = model if model.startswith("models:/") else f"models:/{model}"
        command = [str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"]
        ready, path = "/ping", "/invocations"
    else:
        command = [str(BIN / "mlcycle"), "serve", "--model", model]
        ready, path = "/ready", "/predict"
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{server}.log", "w")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base + ready, timeout=2).status_code == 200:
                return {"process": process, "url": base + path, "log": log}
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop({"process": process, "log": log})
    sys.exit(f"{server} did not start; see {log.name}")


def stop(handle: dict[str, Any]) -> None:
    """SIGTERM the server's process group (mlflow runs uvicorn as a child)."""
    process = handle["process"]
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    handle["log"].close()


def wrk(url: str, script: Path, bodies: Path, connections: int, seconds: float) -> dict:
    """Run wrk once; return req/s and latency percentiles in milliseconds."""
    # One wrk thread: it drives >50k req/s, and leaves the second core to the server.
    command = f"wrk -t1 -c{connections} -d{seconds:g}s --timeout 10s -s {script}".split()
    command += [url, "--", str(bodies)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"wrk failed: {done.stderr or done.stdout}")
    out = done.stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds_measured = raw["duration_us"] / 1e6
    return {
        "req_per_s": raw["requests"] / seconds_measured,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "failures": raw["errors"] + raw["non2xx"],
    }


def measure(args: argparse.Namespace, env: dict[str, str], work: Path) -> dict[str, Any]:
    """All rounds; returns per server and scenario the list of runs."""
    script = work / "post.lua"
    script.write_text(LUA)
    files = write_bodies(work, sample_texts(4000))
    scenarios = {"single": (args.connections, 1), "batch": (args.batch_connections, 1000)}
    handles = {s: start(s, args.model, args.workers, env) for s in SERVERS}
    runs: dict[str, dict[str, list[dict]]] = {s: {c: [] for c in scenarios} for s in SERVERS}
    try:
        for server in SERVERS:  # warm-up: JIT caches, first-request paths, allocators
            for scenario, (conns, _) in scenarios.items():
                wrk(handles[server]["url"], script, files[server, scenario], conns, 3)
        for round_ in range(args.rounds):
            order = SERVERS if round_ % 2 == 0 else SERVERS[::-1]
            for server in order:
                for scenario, (conns, size) in scenarios.items():
                    result = wrk(handles[server]["url"], script, files[server, scenario],
                                 conns, args.duration)  # fmt: skip
                    result["texts_per_s"] = result["req_per_s"] * size
                    runs[server][scenario].append(result)
                    print(f"round {round_ + 1} {server:8} {scenario:6} {_fmt(result)}", flush=True)
    finally:
        for handle in handles.values():
            stop(handle)
    return runs


def _fmt(r: dict) -> str:
    return (
        f"{r['req_per_s']:>9.0f} req/s {r['texts_per_s']:>10.0f} texts/s "
        f"p50 {r['p50_ms']:6.2f} ms p99 {r['p99_ms']:7.2f} ms failures {r['failures']}"
    )


def summarise(runs: dict, workers: int) -> dict[str, Any]:
    """Medians per server and scenario, and the ratios the bars are set on."""
    med = {s: {c: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for c, rs in by.items()} for s, by in runs.items()}  # fmt: skip
    ours, theirs = med["mlcycle"], med["mlflow"]
    checks = {
        "throughput_ratio": ours["single"]["req_per_s"] / theirs["single"]["req_per_s"],
        "p99_ratio": ours["single"]["p99_ms"] / theirs["single"]["p99_ms"],
        "batch_texts_per_s_per_worker": ours["batch"]["texts_per_s"] / workers,
    }
    passed = {
        "throughput_ratio": checks["throughput_ratio"] >= BARS["throughput_ratio"],
        "p99_ratio": checks["p99_ratio"] <= BARS["p99_ratio"],
        "batch_texts_per_s_per_worker": checks["batch_texts_per_s_per_worker"]
        >= BARS["batch_texts_per_s_per_worker"],
    }
    return {"medians": med, "checks": checks, "bars": BARS, "passed": passed}


def environment(workers: int) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "?")
    wrk_words = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    packages = ("mlcycle", "mlflow", "fastapi", "starlette", "uvicorn", "orjson")
    versions = [f"{p} {version(p)}" for p in packages]
    versions.append(f"wrk {wrk_words[1] if len(wrk_words) > 1 else '?'}")
    return {
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": ", ".join(versions),
        "workers": str(workers),
    }


def markdown(summary: dict, env_info: dict, args: argparse.Namespace, model_info: dict) -> str:
    """The results section for docs/benchmarks.md."""
    med, checks, passed = summary["medians"], summary["checks"], summary["passed"]
    lines = [
        "## Serving: `mlcycle serve` vs `mlflow models serve`",
        "",
        f"Command: `python benchmarks/bench_serve.py --workers {args.workers} "
        f"--duration {args.duration:g} --rounds {args.rounds}`",
        "",
        f"- Machine: {env_info['machine']}; wrk on the same machine, loopback.",
        f"- Python {env_info['python']}; {env_info['versions']}.",
        f"- Model: {model_info['name']} version {model_info['version']} "
        f"({model_info['labels']} codes), {model_info['origin']}; the same registered "
        f"version for both servers, {args.workers} worker(s) each.",
        f"- Single: 1 text per request, {args.connections} connections, {args.duration:g} s; "
        f"batch: 1,000 texts per request, {args.batch_connections} connection(s); k=5. "
        f"Median of {args.rounds} rounds, servers alternating in order.",
        "",
        "| scenario | server | req/s | texts/s | p50 ms | p99 ms | failed requests |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario in ("single", "batch"):
        for server in SERVERS:
            r = med[server][scenario]
            lines.append(
                f"| {scenario} | {server} | {r['req_per_s']:,.0f} | {r['texts_per_s']:,.0f} | "
                f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['failures']:.0f} |"
            )
    bars = [
        ("single-text throughput, mlcycle / mlflow", f">= {BARS['throughput_ratio']:g}x",
         f"{checks['throughput_ratio']:.1f}x", passed["throughput_ratio"]),
        ("single-text p99, mlcycle / mlflow", f"<= {BARS['p99_ratio']:g}",
         f"{checks['p99_ratio']:.3f}", passed["p99_ratio"]),
        ("1,000-text batches, texts/s per worker",
         f">= {BARS['batch_texts_per_s_per_worker']:,}",
         f"{checks['batch_texts_per_s_per_worker']:,.0f}", passed["batch_texts_per_s_per_worker"]),
    ]  # fmt: skip
    lines += ["", "| bar | target | measured | holds |", "| --- | --- | ---: | --- |"]
    lines += [f"| {b} | {t} | {m} | {'yes' if ok else 'NO'} |" for b, t, m, ok in bars]
    return "\n".join(lines) + "\n"


def model_details(env: dict[str, str], model: str) -> dict[str, Any]:
    """Name, version and number of codes of the model, from a short-lived server."""
    handle = start("mlcycle", model, 1, env)
    try:
        return httpx.get(handle["url"].removesuffix("/predict") + "/").json()
    finally:
        stop(handle)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Project home holding the model.")
    parser.add_argument("--model", default="nace@production", help="NAME@ALIAS to serve.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per wrk run.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-connections", type=int, default=1)
    parser.add_argument("--json", type=Path, help="Write raw runs and medians here.")
    parser.add_argument("--markdown", type=Path, default=HERE / "SERVE_RESULTS.md")
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
            runs = measure(args, env, Path(work))
    finally:
        if args.home is None:  # the temporary home made for this run
            shutil.rmtree(home, ignore_errors=True)
    summary = summarise(runs, args.workers)
    env_info = environment(args.workers)
    report = markdown(summary, env_info, args, info)
    print(report)
    args.markdown.write_text(report)
    if args.json:
        payload = {"runs": runs, **summary, "environment": env_info, "model": info}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
