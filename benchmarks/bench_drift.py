"""Side-by-side benchmark: mlcycle's tabular drift against Evidently 0.7.23's DataDriftPreset.

Run with the project's environment:

    .venv/bin/python benchmarks/bench_drift.py --rows 1000000 800 \
        --markdown benchmarks/DRIFT_RESULTS.md --json benchmarks/.work/drift.json

What happens, all in one run:

1. ``setup_evidently.sh`` builds Evidently 0.7.23 with pandas < 3 in its own venv
   (benchmarks/.work/venv-evidently) when missing: it does not import beside pandas 3.
2. Seeded synthetic data, for each ``--rows`` size (1,000,000, then 800 to exercise the
   small-sample tests) that many reference and current rows of 10 numeric and
   10 categorical columns (some drifted, some with missing values, one numeric column
   with few values), written once as .npy files under benchmarks/.work/drift/.
3. Each engine runs in a fresh process of its own (this file, ``--worker``): it loads
   the files into its natural container (a pandas DataFrame with ``category`` columns
   for Evidently, which runs faster on them than on object strings; a pyarrow Table with
   dictionary-encoded columns for mlcycle, as Parquet and DuckDB hand them over), then
   times the drift computation alone. Peak RSS is the process's maximum resident set,
   read by the parent with ``os.wait4`` for that child only.
4. Per column, Evidently's method, statistic and verdict are taken from its report's
   dict (``ValueDrift`` values, and the per-column and ``DriftedColumnsCount`` tests)
   and compared with ours: same method, same verdict, statistics within 1e-6.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
EVIDENTLY_PYTHON = WORK / "venv-evidently" / "bin" / "python"
SETUP = HERE / "setup_evidently.sh"
NUMERIC = [f"num_{i}" for i in range(10)]
CATEGORICAL = [f"cat_{i}" for i in range(10)]
TOLERANCE = 1e-6
BARS = {"speedup": 30.0, "rss_mb": 500.0, "tolerance": TOLERANCE}
MB = 1_000_000  # decimal megabytes, as the bar is stated
SMALL_NOTE = (
    "Evidently's small-sample chi-squared is a goodness-of-fit test that takes the "
    "reference shares as exact, so at equal sizes it also flags columns that did not "
    "change (cat_4 to cat_9 here); mlcycle's `tabular_drift` follows it for agreement, "
    "while its prediction drift uses the chi-squared test of homogeneity."
)
# Evidently's display names of its default methods -> ours.
METHODS = {
    "Wasserstein distance (normed)": "wasserstein_norm",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
}


# ---------------------------------------------------------------------------- data


def _categories(column: int) -> list[str]:
    sizes = [12, 8, 30, 2, 5, 50, 20, 3, 15, 10]
    return [f"c{column}_{k:02d}" for k in range(sizes[column] + (1 if column == 1 else 0))]


def make_data(rows: int, seed: int, folder: Path) -> Path:
    """Write reference and current .npy files (numeric values, category codes); cached."""
    import numpy as np

    target = folder / f"rows{rows}-seed{seed}"
    if (target / "done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for side, drifted in (("reference", False), ("current", True)):
        numeric = np.empty((10, rows))
        numeric[0] = rng.normal(0.3 if drifted else 0.0, 1.0, rows)  # shift: drift
        numeric[1] = rng.normal(0.0, 1.5 if drifted else 1.0, rows)  # spread: drift
        numeric[2] = rng.normal(10.05 if drifted else 10.0, 2.0, rows)  # small shift: none
        numeric[3] = rng.lognormal(0.4 if drifted else 0.0, 0.8, rows)  # drift
        numeric[4] = rng.exponential(2.0, rows)
        numeric[5] = rng.uniform(-5.0, 5.0, rows)
        numeric[6] = rng.gamma(2.0, 3.0, rows)
        numeric[7] = rng.integers(0, 1000, rows)  # many ties
        numeric[8] = rng.integers(0, 5, rows)  # five values: compared as categories
        numeric[9] = rng.normal(100.0, 15.0, rows)
        numeric[9][rng.random(rows) < 0.01] = np.nan  # missing values
        codes = np.empty((10, rows), dtype=np.int16)
        for column in range(10):
            count = len(_categories(column)) - (1 if column == 1 else 0)
            weights = np.linspace(1.0, 3.0, count)
            if drifted and column == 0:
                weights = weights[::-1] ** 2  # reversed popularity: drift
            if drifted and column == 2:
                weights = weights * (1 + 0.05 * np.sin(np.arange(count)))  # slight: none
            p = weights / weights.sum()
            codes[column] = rng.choice(count, rows, p=p)
            if drifted and column == 1:  # a category never seen in the reference
                codes[column][rng.random(rows) < 0.2] = count
            if drifted and column == 3:  # binary column, shares move
                codes[column] = (rng.random(rows) < 0.35).astype(np.int16)
        codes[9][rng.random(rows) < 0.02] = -1  # missing values
        np.save(target / f"{side}_numeric.npy", numeric)
        np.save(target / f"{side}_codes.npy", codes)
    (target / "done").write_text("ok", encoding="utf-8")
    return target


# ---------------------------------------------------------------------------- workers


def _rss_now_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def worker_ours(data: Path) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from mlcycle.monitor.tabular import tabular_drift

    def table(side: str) -> pa.Table:
        numeric = np.load(data / f"{side}_numeric.npy")
        codes = np.load(data / f"{side}_codes.npy")
        columns = {name: pa.array(numeric[i]) for i, name in enumerate(NUMERIC)}
        for i, name in enumerate(CATEGORICAL):
            indices = pa.array(codes[i], mask=codes[i] < 0)
            columns[name] = pa.DictionaryArray.from_arrays(indices, pa.array(_categories(i)))
        return pa.table(columns)

    reference, current = table("reference"), table("current")
    loaded = _rss_now_mb()
    start = time.perf_counter()
    result = tabular_drift(reference, current, NUMERIC, CATEGORICAL).to_dict()
    seconds = time.perf_counter() - start
    columns = {
        c["column"]: {"method": c["method"], "statistic": c["statistic"], "drifted": c["drifted"]}
        for c in result["columns"]
    }
    return {
        "seconds": seconds,
        "rss_after_load_mb": loaded,
        "columns": columns,
        "dataset_drift": result["dataset_drift"],
        "drifted_share": result["drifted_share"],
        "versions": _versions("numpy", "scipy", "pyarrow", "mlcycle"),
    }


def worker_evidently(data: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    def frame(side: str) -> pd.DataFrame:
        numeric = np.load(data / f"{side}_numeric.npy")
        codes = np.load(data / f"{side}_codes.npy")
        columns: dict[str, Any] = {name: numeric[i] for i, name in enumerate(NUMERIC)}
        for i, name in enumerate(CATEGORICAL):
            columns[name] = pd.Categorical.from_codes(codes[i], _categories(i))
        return pd.DataFrame(columns)

    reference, current = frame("reference"), frame("current")
    loaded = _rss_now_mb()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_after_load_mb": loaded,
        **_evidently_values(snapshot.dict()),
        "versions": _versions("evidently", "pandas", "numpy", "scipy"),
    }


def _evidently_values(report: dict[str, Any]) -> dict[str, Any]:
    """Per-column method, statistic and verdict, and the dataset verdict, from the dict."""
    columns: dict[str, dict[str, Any]] = {}
    share = None
    for metric in report["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {
                "method": METHODS.get(config["method"], config["method"]),
                "statistic": float(metric["value"]),
            }
        elif config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
    dataset_drift = None
    for test in report["tests"]:
        params = test["metric_config"]["params"]
        failed = test["status"] == "FAIL"
        if params["type"].endswith("ValueDrift"):
            columns[params["column"]]["drifted"] = failed
        elif params["type"].endswith("DriftedColumnsCount"):
            dataset_drift = failed  # the preset's test is share < drift_share
    return {"columns": columns, "dataset_drift": dataset_drift, "drifted_share": share}


def _versions(*names: str) -> dict[str, str]:
    from importlib.metadata import version

    found = {"python": platform.python_version()}
    for name in names:
        found[name] = version(name)
    return found


# ---------------------------------------------------------------------------- parent


def run_worker(python: Path | str, engine: str, data: Path) -> dict[str, Any]:
    """One engine in a fresh process; its own peak RSS from ``wait4``."""
    out = WORK / f"drift-{engine}.json"
    out.unlink(missing_ok=True)
    command = [str(python), str(Path(__file__).resolve()), "--worker", engine]
    command += ["--data", str(data), "--worker-out", str(out)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    load_before = os.getloadavg()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{engine} worker failed with exit code {process.returncode}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["peak_rss_mb"] = usage.ru_maxrss * 1024 / MB  # Linux reports KiB
    result["load_before"] = load_before
    result["load_after"] = os.getloadavg()
    return result


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in NUMERIC + CATEGORICAL:
        a, b = ours["columns"][name], theirs["columns"][name]
        gap = abs(a["statistic"] - b["statistic"])
        rows.append(
            {
                "column": name,
                "method": a["method"],
                "evidently_method": b["method"],
                "ours": a["statistic"],
                "evidently": b["statistic"],
                "gap": gap,
                "drifted": a["drifted"],
                "evidently_drifted": b["drifted"],
                "agree": a["method"] == b["method"]
                and a["drifted"] == b["drifted"]
                and gap <= TOLERANCE,
            }
        )
    return rows


def _machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores, {model}, {memory:.0f} GiB RAM, {platform.platform()}"


def markdown(args: argparse.Namespace, runs: list[tuple[int, dict, dict, list[dict]]]) -> str:
    sizes = " ".join(str(rows) for rows, *_ in runs)
    lines = [
        "## Drift benchmark: mlcycle.monitor vs Evidently 0.7.23 DataDriftPreset",
        "",
        "Command:",
        "",
        "```bash",
        "bash benchmarks/setup_evidently.sh   # once; bench_drift.py also calls it if needed",
        f".venv/bin/python benchmarks/bench_drift.py --rows {sizes} --seed {args.seed} "
        "--markdown benchmarks/DRIFT_RESULTS.md --json benchmarks/.work/drift.json",
        "```",
        "",
        f"Machine: {_machine()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}.",
        f"Versions: mlcycle side {_fmt_versions(runs[0][1]['versions'])}; "
        f"Evidently side {_fmt_versions(runs[0][2]['versions'])}.",
        "",
        "Data: N reference and N current rows (seed "
        f"{args.seed}), 10 numeric and 10 categorical columns: shifts in num_0, num_1, num_3, "
        "a new category in cat_1, reversed shares in cat_0, a moved binary cat_3, slight "
        "changes in num_2 and cat_2, 1% NaN in num_9, 2% nulls in cat_9, five values in "
        "num_8. Both engines use their defaults: per column, Wasserstein distance (normed) "
        "and Jensen-Shannon distance above 1,000 reference rows, Kolmogorov-Smirnov, "
        "chi-squared and z-test p-values at or under 1,000; the dataset drifts when at "
        "least 50% of columns do. Time is the drift computation alone, data already in "
        "memory (Evidently: `Dataset.from_pandas` x2 + `Report([DataDriftPreset()], "
        "include_tests=True).run` on `category` columns; mlcycle: `tabular_drift` on a "
        "pyarrow Table with dictionary columns). Peak RSS is each worker process's maximum "
        "(imports, data and computation; MB = 10^6 bytes), measured by the parent with "
        "`os.wait4`. Bars "
        "apply to the first (largest) size.",
    ]
    for index, (rows, ours, theirs, columns) in enumerate(runs):
        lines += ["", *_section(rows, ours, theirs, columns, bars=index == 0)]
    return "\n".join(lines) + "\n"


def _section(rows: int, ours: dict, theirs: dict, columns: list[dict], bars: bool) -> list[str]:
    speedup = theirs["seconds"] / ours["seconds"]
    agree = all(r["agree"] for r in columns) and ours["dataset_drift"] == theirs["dataset_drift"]
    worst = max(r["gap"] for r in columns)

    def verdict(ok: bool) -> str:
        return ("PASS" if ok else "FAIL") if bars else "-"

    lines = [
        f"### {rows:,} reference and {rows:,} current rows",
        "",
        f"Load average (1/5/15 min): Evidently run {_load(theirs)}; mlcycle run {_load(ours)}.",
        "",
    ]
    if rows <= 1000:
        lines += [SMALL_NOTE, ""]
    lines += [
        "| metric | Evidently 0.7.23 | mlcycle | ratio | bar | pass/fail |",
        "|---|---|---|---|---|---|",
        f"| time | {theirs['seconds']:.2f} s | {ours['seconds']:.3f} s | {speedup:.0f}x faster "
        f"| >= {BARS['speedup']:.0f}x | {verdict(speedup >= BARS['speedup'])} |",
        f"| peak RSS | {theirs['peak_rss_mb']:.0f} MB | {ours['peak_rss_mb']:.0f} MB | "
        f"{theirs['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x less | < {BARS['rss_mb']:.0f} MB "
        f"| {verdict(ours['peak_rss_mb'] < BARS['rss_mb'])} |",
        f"| RSS with data loaded, before computing | {theirs['rss_after_load_mb']:.0f} MB | "
        f"{ours['rss_after_load_mb']:.0f} MB | | | - |",
        f"| per-column statistics, largest gap | | {worst:.1e} | | <= {TOLERANCE:g} "
        f"| {'PASS' if worst <= TOLERANCE else 'FAIL'} |",
        f"| methods, column verdicts, dataset verdict | | "
        f"{'all equal' if agree else 'DIFFER'} | | equal | {'PASS' if agree else 'FAIL'} |",
        f"| dataset drift (share of drifted columns) | {theirs['dataset_drift']} "
        f"({theirs['drifted_share']:.2f}) | {ours['dataset_drift']} "
        f"({ours['drifted_share']:.2f}) | | | - |",
        "",
        "| column | method | Evidently | mlcycle | gap | drift (Evidently / ours) |",
        "|---|---|---|---|---|---|",
    ]
    for r in columns:
        method = r["method"]
        if method != r["evidently_method"]:
            method = f"{method} vs {r['evidently_method']}"
        lines.append(
            f"| {r['column']} | {method} | {r['evidently']:.10g} | {r['ours']:.10g} | "
            f"{r['gap']:.1e} | {r['evidently_drifted']} / {r['drifted']} |"
        )
    return lines


def _load(result: dict) -> str:
    before = ", ".join(f"{v:.2f}" for v in result["load_before"])
    after = ", ".join(f"{v:.2f}" for v in result["load_after"])
    return f"[{before}] before, [{after}] after"


def _fmt_versions(versions: dict[str, str]) -> str:
    return ", ".join(f"{name} {value}" for name, value in versions.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 800])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", choices=["ours", "evidently"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--worker-out", type=Path)
    args = parser.parse_args(argv)
    if args.worker:
        work = worker_ours if args.worker == "ours" else worker_evidently
        args.worker_out.write_text(json.dumps(work(args.data)), encoding="utf-8")
        return 0

    subprocess.run(["bash", str(SETUP)], check=True)
    runs = []
    for rows in args.rows:
        data = make_data(rows, args.seed, WORK / "drift")
        theirs = run_worker(EVIDENTLY_PYTHON, "evidently", data)
        ours = run_worker(sys.executable, "ours", data)
        runs.append((rows, ours, theirs, compare(ours, theirs)))
    text = markdown(args, runs)
    print(text)
    if args.markdown:
        _write(args.markdown, text)
    if args.json:
        payload = [
            {"rows": rows, "ours": ours, "evidently": theirs, "columns": columns}
            for rows, ours, theirs, columns in runs
        ]
        _write(args.json, json.dumps({"runs": payload, "bars": BARS}, indent=2))
    return 0 if all(r["agree"] for *_, columns in runs for r in columns) else 1


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


if __name__ == "__main__":
    raise SystemExit(main())
