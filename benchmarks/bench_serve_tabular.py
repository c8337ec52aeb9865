"""Side-by-side HTTP benchmark of a tabular model: ``mlcycle serve`` against ``mlflow models
serve`` on the SAME registered HistGradientBoosting classifier.

A temporary project home is made: a data set is generated (``--rows`` rows: two numbers
with gaps, two categories with gaps and unseen values, a yes/no flag, three classes),
added with ``data add``, trained (``HistGradientBoostingClassifier``, ``--max-iter``
iterations) and put at ``cases@production``. Then, on loopback, one worker each, wrk
(one thread, ``benchmarks/bench_serve.py``'s script and helpers) sends single-record
requests at ``--connections`` connections, rotating through 300 distinct records:
mlflow gets ``{"dataframe_records": [record]}`` at ``/invocations``, mlcycle
``{"records": [record], "k": 1}`` at ``/predict``, in production mode (API keys,
Parquet prediction log and Prometheus metrics on) unless ``--plain``.

Servers: ``mlflow`` as a user runs it, ``mlflow-1thread`` with ``OMP_NUM_THREADS=1`` (what
mlcycle's workers do, so the comparison is not only about threads), ``mlcycle``; with
``--levers`` also mlcycle without its micro-batching and mlcycle with the native thread
pools at their defaults (:mod:`benchmarks.tabular_variants`), to see what each is worth.
Each round runs every server, the order alternating; the tables give medians.

Before the rounds, predictions are checked on ``--check`` records: mlcycle's
probabilities (all classes) equal the registered pipeline's ``predict_proba`` to 1e-9,
mlflow's classes equal its ``predict``.

Usage::

    .venv/bin/python benchmarks/bench_serve_tabular.py [--duration 10] [--rounds 5]
        [--levers] [--plain] [--json OUT] [--markdown benchmarks/SERVE_TABULAR_RESULTS.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the text benchmark's helpers

import bench_serve as serve  # noqa: E402

BARS = {"throughput_ratio": 4.0, "p99_ratio": 0.25, "max_abs_difference": 1e-9}
SECTION = "## Tabular serving"
NAME = "cases"
PROJECT = """\
model:
  name: cases
  task: classification
  family: sklearn
  params: {{estimator: HistGradientBoostingClassifier, max_iter: {max_iter}, random_state: 0}}
data: {{target: outcome}}
serve:
  metrics: {on}
  auth: {{enabled: {on}, keys: {{bench: {digest}}}}}
  prediction_log: {{enabled: {on}, dir: {log}}}
"""


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    """Numbers with gaps, categories with gaps, a yes/no flag; three classes."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows).astype(float)
    income = rng.lognormal(10, 0.6, rows).round(2)
    region = rng.choice(["nord", "sud", "est", "ouest", "centre"], rows)
    plan = rng.choice(["basic", "plus", "premium"], rows, p=[0.6, 0.3, 0.1])
    member = rng.random(rows) < 0.4
    score = (age - 50) / 20 + np.log(income) - 10 + (plan == "premium") - 0.5 * member
    score += (region == "sud") * 0.7 + rng.normal(0, 0.5, rows)
    outcome = np.where(score > 0.8, "high", np.where(score > -0.4, "mid", "low"))
    flag = np.where(member, "oui", "non")
    frame = pd.DataFrame({"age": age, "income": income, "region": region, "plan": plan,
                          "member": flag, "outcome": outcome})  # fmt: skip
    frame.loc[rng.random(rows) < 0.05, "income"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "region"] = None
    return frame


def sample_records(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Records as clients send them: gaps (null), unseen categories, JSON booleans."""
    frame = make_data(count, seed).drop(columns="outcome")
    frame["member"] = frame["member"] == "oui"
    frame.loc[::7, "region"] = "inconnue"  # a category the model never saw
    return json.loads(frame.to_json(orient="records"))


def prepare(work: Path, args: argparse.Namespace, key: str) -> dict[str, str]:
    """A home with ``cases@production`` trained; the environment every server gets."""
    home = work / "home"
    project = work / "mlcycle.yaml"
    on = "false" if args.plain else "true"
    digest = hashlib.sha256(key.encode()).hexdigest()
    project.write_text(PROJECT.format(max_iter=args.max_iter, on=on, digest=digest,
                                      log=work / "predictions"))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "MLFLOW_"))}
    project_env = {"MLCYCLE_HOME": str(home), "MLCYCLE_PROJECT": str(project),
                   "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}  # fmt: skip
    env.update(PATH=f"{serve.BIN}{os.pathsep}{env.get('PATH', '')}", **project_env)
    data = work / "cases.csv"
    make_data(args.rows).to_csv(data, index=False)
    mlcycle = str(serve.BIN / "mlcycle")
    print(f"Training {NAME} on {args.rows} generated rows in {home}...", flush=True)
    serve._run([mlcycle, "data", "add", str(data), "--name", NAME], env)
    version = json.loads(serve._run([mlcycle, "train", "--json"], env))["version"]
    os.environ.update(project_env)  # this process checks predictions in the same store
    from mlcycle.core.settings import get_settings
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.ops import set_alias

    get_settings.cache_clear()
    use_tracking(get_settings())
    set_alias(NAME, "production", str(version))
    return env


def check_predictions(handles: dict[str, Any], records: list[dict[str, Any]], key: str) -> dict:
    """Both servers' answers against the registered pipeline's own predictions."""
    import mlflow.sklearn

    pipeline = mlflow.sklearn.load_model(f"models:/{NAME}@production")
    frame = pd.DataFrame.from_records(records)
    proba, classes = pipeline.predict_proba(frame), list(pipeline.classes_)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    ours = httpx.post(handles["mlcycle"]["url"], json={"records": records, "k": len(classes)},
                      headers=headers, timeout=60).json()["predictions"]  # fmt: skip
    worst = 0.0
    for ranked, row in zip(ours, proba, strict=True):
        for candidate in ranked:
            worst = max(
                worst, abs(candidate["probability"] - row[classes.index(candidate["code"])])
            )
    theirs = httpx.post(handles["mlflow"]["url"], json={"dataframe_records": records},
                        timeout=60).json()["predictions"]  # fmt: skip
    return {
        "records": len(records),
        "max_abs_difference": worst,
        "mlcycle_top1_equal": [r[0]["code"] for r in ours] == pipeline.predict(frame).tolist(),
        "mlflow_equal": theirs == pipeline.predict(frame).tolist(),
    }


def write_bodies(work: Path, records: list[dict[str, Any]]) -> dict[str, Path]:
    import orjson

    forms = {
        "mlflow": lambda r: {"dataframe_records": [r]},
        "mlcycle": lambda r: {"records": [r], "k": 1},
    }
    files = {}
    for api, form in forms.items():
        files[api] = work / f"{api}-single.jsonl"
        files[api].write_bytes(b"\n".join(orjson.dumps(form(r)) for r in records) + b"\n")
    return files


def servers(args: argparse.Namespace, env: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    """label -> (api, environment); variants run ``benchmarks/tabular_variants.py``."""
    chosen = {
        "mlflow": ("mlflow", env),
        "mlflow-1thread": ("mlflow", {**env, "OMP_NUM_THREADS": "1"}),
        "mlcycle": ("mlcycle", env),
    }
    if args.levers:
        for variant in ("unbatched", "all_threads"):
            chosen[f"mlcycle-{variant.replace('_', '-')}"] = (
                "mlcycle",
                {**env, "BENCH_VARIANT": variant},
            )
    return chosen


def start(label: str, api: str, env: dict[str, str]) -> dict[str, Any]:
    if "BENCH_VARIANT" in env:
        return start_variant(label, env)
    return serve.start(api, label, f"{NAME}@production", 1, env)


def start_variant(label: str, env: dict[str, str]) -> dict[str, Any]:
    """One uvicorn worker on an app built by ``tabular_variants`` (one lever off)."""
    import subprocess
    import time

    port = serve._free_port()
    command = [str(serve.BIN / "uvicorn"), f"tabular_variants:{env['BENCH_VARIANT']}", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http",
               "httptools", "--no-access-log", "--app-dir", str(HERE)]  # fmt: skip
    variant_env = {**env, "MLCYCLE_SERVE__MODEL": f"{NAME}@production"}
    serve.LOGS.mkdir(parents=True, exist_ok=True)
    log = open(serve.LOGS / f"{label}.log", "w")  # noqa: SIM115 - closed by serve.stop()
    process = subprocess.Popen(command, env=variant_env, stdout=log, stderr=log,
                               start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    handle = {"process": process, "url": base + "/predict", "base": base, "log": log,
              "api": "mlcycle"}  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                return handle
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    serve.stop(handle)
    sys.exit(f"{label} did not start; see {log.name}")


def measure(args: argparse.Namespace, env: dict[str, str], work: Path, key: str) -> dict[str, Any]:
    script = work / "post.lua"
    script.write_text(serve.LUA)
    records = sample_records(300)
    files = write_bodies(work, records)
    chosen = servers(args, env)
    handles = {label: start(label, api, e) for label, (api, e) in chosen.items()}
    runs: dict[str, list[dict]] = {label: [] for label in chosen}

    def one(label: str, seconds: float) -> dict:
        api = chosen[label][0]
        auth = key if api == "mlcycle" and not args.plain else ""
        handle = handles[label]
        return serve.wrk(handle["url"], script, files[api], args.connections, seconds, auth,
                         handle["process"].pid)  # fmt: skip

    try:
        checked = check_predictions(handles, sample_records(args.check, seed=2),
                                    "" if args.plain else key)  # fmt: skip
        print(f"predictions checked: {checked}", flush=True)
        for label in chosen:  # warm-up
            one(label, 3)
        for round_ in range(args.rounds):
            order = list(chosen) if round_ % 2 == 0 else list(chosen)[::-1]
            for label in order:
                result = one(label, args.duration)
                result["load_average"] = os.getloadavg()[0]
                runs[label].append(result)
                print(f"round {round_ + 1} {label:22} {_fmt(result)}", flush=True)
    finally:
        for handle in handles.values():
            serve.stop(handle)
    return {"runs": runs, "check": checked}


def _fmt(r: dict) -> str:
    return (f"{r['req_per_s']:>8.0f} req/s p50 {r['p50_ms']:6.2f} ms p99 {r['p99_ms']:7.2f} ms "
            f"failures {r['failures']} server cores {r['server_cores']:.2f} "
            f"load {r['load_average']:.2f}")  # fmt: skip


def summarise(measured: dict) -> dict[str, Any]:
    med = {label: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for label, rs in measured["runs"].items()}  # fmt: skip
    ours, theirs = med["mlcycle"], med["mlflow"]
    checks = {
        "throughput_ratio": ours["req_per_s"] / theirs["req_per_s"],
        "p99_ratio": ours["p99_ms"] / theirs["p99_ms"],
        "max_abs_difference": measured["check"]["max_abs_difference"],
    }
    passed = {
        "throughput_ratio": checks["throughput_ratio"] >= BARS["throughput_ratio"],
        "p99_ratio": checks["p99_ratio"] <= BARS["p99_ratio"],
        "max_abs_difference": checks["max_abs_difference"] <= BARS["max_abs_difference"]
        and measured["check"]["mlflow_equal"]
        and measured["check"]["mlcycle_top1_equal"],
    }
    return {"medians": med, "checks": checks, "passed": passed, "bars": BARS}


def markdown(summary: dict, measured: dict, args: argparse.Namespace) -> str:
    info = serve.environment()
    loads = [r["load_average"] for rs in measured["runs"].values() for r in rs]
    mode = ("logging, metrics and API keys OFF (--plain)" if args.plain else
            "prediction log (Parquet), Prometheus metrics and API keys ON")  # fmt: skip
    check = measured["check"]
    lines = [
        f"{SECTION}: `mlcycle serve` vs `mlflow models serve`",
        "",
        f"Command: `python benchmarks/bench_serve_tabular.py --duration {args.duration:g} "
        f"--rounds {args.rounds}{' --levers' if args.levers else ''}"
        f"{' --plain' if args.plain else ''}`",
        "",
        f"- Model: HistGradientBoostingClassifier ({args.max_iter} iterations, 3 classes) "
        f"trained by `mlcycle train` on {args.rows:,} generated rows (two numbers and two "
        "categories with gaps, a yes/no flag); the same registered version for every server, "
        "one worker each.",
        f"- mlcycle: {mode}. Requests: one record each, {args.connections} connections, "
        f"{args.duration:g} s, 300 distinct records (gaps, unseen categories). Median of "
        f"{args.rounds} rounds, servers alternating in order.",
        f"- Machine: {info['machine']}; wrk (1 thread) on the same machine, loopback; "
        f"1-minute load average {min(loads):.2f} to {max(loads):.2f} during the runs.",
        f"- Python {info['python']}; {info['versions']}.",
        f"- Predictions checked on {check['records']} records: mlcycle's probabilities "
        f"differ from the pipeline's `predict_proba` by at most {check['max_abs_difference']:.1e}; "
        f"mlflow's classes equal `predict`: {check['mlflow_equal']}.",
        "",
        "| server | req/s | p50 ms | p99 ms | failed requests | server cores "
        "| server CPU µs per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    for label, r in summary["medians"].items():
        lines.append(
            f"| {label} | {r['req_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['failures']:.0f} | {r['server_cores']:.2f} "
            f"| {1e6 * r['server_cores'] / r['req_per_s']:.0f} |"
        )
    checks, passed = summary["checks"], summary["passed"]
    lines += [
        "",
        "| bar | target | measured | holds |",
        "| --- | --- | ---: | --- |",
        f"| throughput, mlcycle / mlflow | >= {BARS['throughput_ratio']:g}x "
        f"| {checks['throughput_ratio']:.1f}x | {'yes' if passed['throughput_ratio'] else 'NO'} |",
        f"| p99, mlcycle / mlflow | <= {BARS['p99_ratio']:g} | {checks['p99_ratio']:.3f} "
        f"| {'yes' if passed['p99_ratio'] else 'NO'} |",
        f"| predictions, largest difference | <= 1e-9 | {checks['max_abs_difference']:.1e} "
        f"| {'yes' if passed['max_abs_difference'] else 'NO'} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per wrk run.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--check", type=int, default=200, help="Records checked for equality.")
    parser.add_argument("--levers", action="store_true", help="Also mlcycle with one lever off.")
    parser.add_argument("--plain", action="store_true", help="mlcycle without log/metrics/keys.")
    parser.add_argument("--json", type=Path, help="Write raw runs and medians here.")
    parser.add_argument("--markdown", type=Path, default=HERE / "SERVE_TABULAR_RESULTS.md")
    args = parser.parse_args(argv)
    key = secrets.token_urlsafe(24)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-tabular-"))
    try:
        env = prepare(work, args, key)
        measured = measure(args, env, work, key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(measured)
    report = markdown(summary, measured, args)
    print(report)
    args.markdown.write_text(report)
    if args.json:
        args.json.write_text(json.dumps({**measured, **summary}, indent=2))


if __name__ == "__main__":
    main()
