"""Promotion gates: each looks at the candidate (and the alias's current holder) and
says pass or fail with its figure and threshold.

A gate that cannot run (the model did not load, no holdout) fails with the reason;
it never raises, so a promotion always reports every gate.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlcycle.core.errors import ModelError
from mlcycle.core.settings import Settings, cases_path, project_source
from mlcycle.data.holdout import Holdout
from mlcycle.models.calibration import auto_coding_threshold
from mlcycle.models.calibration_metrics import auto_coding_figures
from mlcycle.models.protocol import ServedModel
from mlcycle.registry.holdouts import unseen_note
from mlcycle.registry.live import live_verdict
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.manifest import download_verified
from mlcycle.registry.ops import VersionInfo
from mlcycle.tasks import Task

# One-row inputs the latency gate cycles through (the first ones warm caches).
LATENCY_INPUTS = 200


@dataclass
class GateResult:
    """One gate's verdict; ``checks`` holds one row per figure compared."""

    name: str
    passed: bool
    figure: str
    threshold: str
    detail: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Subject:
    """A version under test: its registry entry, loaded model and holdout metrics."""

    info: VersionInfo
    model: ServedModel | None = None
    load_error: str | None = None
    metrics: dict[str, float] | None = None

    @classmethod
    def load(cls, info: VersionInfo) -> Subject:
        try:
            return cls(info, load_served_model(f"{info.name}/{info.version}"))
        except ModelError as exc:
            return cls(info, load_error=exc.message)

    def loaded(self) -> Any:
        """The loaded model (``run_gates`` runs a gate that needs it only when it loaded)."""
        if self.model is None:
            raise ModelError(f"Version {self.info.version} did not load: {self.load_error}")
        return self.model.model


@dataclass
class GateContext:
    alias: str
    candidate: Subject
    champion: Subject | None  # None: the alias has no holder yet
    holdout: Holdout | None  # the one the candidate names (registry.holdouts)
    settings: Settings
    task: Task
    holdout_problem: str = ""  # why there is none

    def found_holdout(self) -> Holdout:
        """The holdout (``run_gates`` runs a gate that needs it only when found)."""
        if self.holdout is None:
            raise ModelError("No frozen holdout to judge on.")
        return self.holdout

    def holdout_frame(self) -> Any:
        """The holdout's rows."""
        return self.found_holdout().frame


def holdout_metrics(subject: Subject, ctx: GateContext) -> dict[str, float]:
    """The subject's metrics on the holdout, computed once; a calibrated classifier's
    also at its own auto-coding threshold (``auto_coding_rate``, ``_precision``, ``ece``)."""
    if subject.metrics is None:
        frame, task = ctx.holdout_frame(), ctx.task
        model = subject.loaded()
        prediction = model.predict(task.inputs(frame), k=task.prediction_width(model))
        truth = task.truth(frame)
        subject.metrics = task.evaluate(truth, prediction).metrics
        if (threshold := auto_coding_threshold(model)) is not None:
            subject.metrics.update(auto_coding_figures(prediction, truth, threshold))
    return subject.metrics


def _meets(task: Task, metric: str, value: float | None, bound: float) -> bool:
    """``value`` on the right side of ``bound`` (a floor, or a ceiling for errors)."""
    if value is None:
        return False
    return value >= bound if task.higher_is_better(metric) else value <= bound


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def contract(ctx: GateContext) -> GateResult:
    """Loads here and in a fresh process; same signature as the champion."""
    checks = [
        {
            "check": "loads in this process",
            "passed": ctx.candidate.model is not None,
            "detail": ctx.candidate.load_error or "",
        }
    ]
    mine = _signature(ctx.candidate.info)
    if ctx.champion is None or (theirs := _signature(ctx.champion.info)) is None:
        checks.append({"check": "has a signature", "passed": mine is not None, "detail": ""})
    else:
        same = mine == theirs
        checks.append(
            {
                "check": f"signature of version {ctx.champion.info.version}",
                "passed": same,
                "detail": "" if same else "signatures differ",
            }
        )
    if ctx.settings.registry.gates.contract.fresh_process and ctx.candidate.model is not None:
        error = _fresh_load(ctx.candidate.info, ctx.settings)
        checks.append(
            {"check": "loads in a fresh process", "passed": error is None, "detail": error or ""}
        )
    failed = [c for c in checks if not c["passed"]]
    return GateResult(
        "contract",
        not failed,
        f"{len(checks) - len(failed)}/{len(checks)} checks",
        "all checks",
        "; ".join(f"{c['check']}: {c['detail'] or 'failed'}" for c in failed),
        checks,
    )


def _signature(info: VersionInfo) -> dict[str, Any] | None:
    """The version's signature, read from its MLmodel file (works for copied versions too,
    whose logged-model record stayed in the source store)."""
    import mlflow
    from mlflow.models import Model

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{info.name}/{info.version}/MLmodel", dst_path=tmp
            )
            signature = Model.load(path).signature
    except Exception:  # an unreadable MLmodel counts as no signature
        return None
    return signature.to_dict() if signature is not None else None


# Plain MLflow, as a user without mlcycle would: load, then answer the logged example.
_FRESH = """\
import sys
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
if model.input_example is None:
    sys.exit("the model was logged without an input example")
answer = model.predict(model.input_example)
print("ANSWERED", len(answer))
"""


def _fresh_load(info: VersionInfo, settings: Settings) -> str | None:
    """Load and query the version in a new interpreter; the error, or None if it worked.

    The interpreter loads a checked copy with plain MLflow, as a user without mlcycle
    would: the model's shipped code runs, so it must be the code the manifest names.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="mlcycle-fresh-") as tmp:
            local = download_verified(info.name, info.version, Path(tmp))
            done = subprocess.run(
                [sys.executable, "-c", _FRESH, str(local)],
                capture_output=True,
                text=True,
                timeout=settings.registry.gates.contract.timeout_s,
            )
    except ModelError as exc:
        return exc.message
    except subprocess.TimeoutExpired:
        return "timed out"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {done.returncode}"
    last = done.stdout.strip().splitlines()[-1:] or [""]
    if not last[0].startswith("ANSWERED ") or last[0] == "ANSWERED 0":
        return f"unexpected answer {done.stdout.strip()[-200:]!r}"
    return None


def quality(ctx: GateContext) -> GateResult:
    """Holdout metrics on the right side of the configured bounds (floors; ceilings for
    errors), the task's defaults when the project file sets none."""
    task = ctx.task
    configured = ctx.settings.registry.gates.quality.minimums
    minimums = configured or task.default_minimums(task.truth(ctx.holdout_frame()))
    metrics = holdout_metrics(ctx.candidate, ctx)
    checks: list[dict[str, Any]] = [
        {
            "metric": m,
            "value": metrics.get(m),
            "minimum" if task.higher_is_better(m) else "maximum": bound,
            "passed": _meets(task, m, metrics.get(m), bound),
        }
        for m, bound in minimums.items()
    ]
    failed = [c["metric"] for c in checks if not c["passed"]]
    bounds = [
        f"{'>=' if task.higher_is_better(m) else '<='} {_fmt(b)}" for m, b in minimums.items()
    ]
    where = (
        "bounds from registry.gates.quality.minimums in the project file"
        if configured
        else "the task's default bounds; set yours under registry.gates.quality.minimums"
    )
    detail = (
        f"out of bounds: {', '.join(failed)} on {ctx.found_holdout().describe()} ({where})"
        if failed
        else f"on {ctx.found_holdout().describe()} ({where})"
    )
    return GateResult(
        "quality",
        not failed,
        ", ".join(f"{c['metric']} {_fmt(c['value'] or 0.0)}" for c in checks),
        ", ".join(bounds),
        detail,
        checks,
    )


def champion(ctx: GateContext) -> GateResult:
    """No gated metric worse than the alias holder's by more than the margin."""
    config = ctx.settings.registry.gates.champion
    if ctx.champion is None or ctx.champion.info.version == ctx.candidate.info.version:
        return GateResult(
            "champion",
            True,
            "no champion to beat",
            f"margin {config.margin}",
            f"{ctx.alias} has no other holder",
        )
    if ctx.champion.model is None:  # a broken holder must not block its replacement
        return GateResult(
            "champion",
            True,
            "champion did not load",
            "-",
            f"version {ctx.champion.info.version}: {ctx.champion.load_error}",
        )
    mine = holdout_metrics(ctx.candidate, ctx)
    theirs = holdout_metrics(ctx.champion, ctx)
    checks: list[dict[str, Any]] = []
    for metric in config.metrics or ctx.task.headline:
        a, b = mine.get(metric), theirs.get(metric)
        slack = config.margin if ctx.task.higher_is_better(metric) else -config.margin
        ok = b is not None and _meets(ctx.task, metric, a, b - slack)
        checks.append(
            {
                "metric": metric,
                "candidate": a,
                "champion": b,
                "delta": None if a is None or b is None else a - b,
                "margin": config.margin,
                "passed": ok,
            }
        )
    failed = [c for c in checks if not c["passed"]]
    version = ctx.champion.info.version
    notes = [f"{c['metric']} {(c['delta'] or 0):+.4f} vs version {version}" for c in failed]
    # Compared on rows the champion may have trained on: say so, never silently.
    apart = unseen_note(ctx.champion.info, ctx.found_holdout())
    return GateResult(
        "champion",
        not failed,
        ", ".join(
            f"{c['metric']} {_fmt(c['candidate'] or 0)} vs {_fmt(c['champion'] or 0)}"
            for c in checks
        ),
        f"drop <= {config.margin} vs version {version}",
        "; ".join([*notes, *([apart] if apart else [])]),
        checks,
    )


def behaviour_gate(ctx: GateContext) -> GateResult:
    """Invariance, direction (tabular) and minimum functionality, as the task checks them."""
    config = ctx.settings.registry.gates.behaviour
    report = ctx.task.behaviour(ctx.candidate.loaded(), ctx.holdout_frame(), config)
    shares = {"invariance": report.invariance, "functionality": report.functionality}
    if report.direction is not None:
        shares["direction"] = report.direction
    checks = [
        {"check": name, "value": value, "minimum": getattr(config, f"min_{name}"),
         "checked": report.counts.get(name)}
        for name, value in shares.items()
    ]  # fmt: skip
    failed = [c["check"] for c in checks if c["value"] < c["minimum"]]
    detail = "; ".join(report.broken[:6])
    if failed:
        where = _behaviour_settings(ctx, failed)
        detail = f"below the minimum: {', '.join(failed)} ({where}); {detail}"
    if unwritten := [c["check"] for c in checks if c["checked"] == 0]:
        detail = "; ".join(filter(None, [detail, _unwritten(ctx, unwritten)]))
    return GateResult(
        "behaviour",
        not failed,
        ", ".join(_behaviour_value(c) for c in checks),
        ", ".join(f">= {c['minimum']}" for c in checks),
        detail,
        checks,
    )


def _behaviour_value(check: dict[str, Any]) -> str:
    """``functionality 0.950 (20)``, or ``functionality none`` when no check was written."""
    if check["checked"] == 0:
        return f"{check['check']} none"
    count = "" if check["checked"] is None else f" ({check['checked']})"
    return f"{check['check']} {check['value']:.3f}{count}"


def _unwritten(ctx: GateContext, kinds: list[str]) -> str:
    """Where to write the checks of the kinds that ran none."""
    where = _cases_file(ctx, "registry.gates.behaviour")
    return f"no {' or '.join(kinds)} check is written: add them in {where}"


def _cases_file(ctx: GateContext, setting: str) -> str:
    """The behaviour cases file, or ``setting`` in the project file when there is none."""
    path = cases_path(ctx.settings)
    return str(path) if path else f"{setting} in {project_source()}"


def _behaviour_settings(ctx: GateContext, failed: list[str]) -> str:
    """Where a refused behaviour check is set: the cases file, the minimums' settings."""
    minimums = ", ".join(f"registry.gates.behaviour.min_{name}" for name in failed)
    where = f"{minimums} in {project_source()}"
    if "functionality" not in failed:
        return f"change {where}"
    cases = _cases_file(ctx, "registry.gates.behaviour.cases")
    return f"the cases are in {cases}; change them, or {where}"


def latency(ctx: GateContext) -> GateResult:
    """In-process p99 of single-row predictions under the budget."""
    config = ctx.settings.registry.gates.latency
    if ctx.holdout is None:
        return GateResult("latency", False, "not run", "-", "no frozen holdout to time on")
    inputs = ctx.task.single_inputs(ctx.holdout.frame, LATENCY_INPUTS)
    p99 = p99_latency_ms(ctx.candidate.loaded(), inputs, config.samples)
    return GateResult(
        "latency",
        p99 <= config.p99_ms,
        f"p99 {p99:.3f} ms",
        f"<= {config.p99_ms} ms",
        f"{config.samples} single-row predictions, k=5, as the API makes them",
        [{"p99_ms": p99, "budget_ms": config.p99_ms}],
    )


def p99_latency_ms(model: Any, inputs: Sequence[Any], samples: int) -> float:
    """The 99th percentile of one-row ``predict`` calls (k=5), in milliseconds, warm.

    Timed as a serving worker predicts: on one native thread (``mlcycle serve`` gives
    each worker one, so OpenMP and BLAS pools cannot fight over the cores).
    """
    from threadpoolctl import threadpool_limits

    timings = np.empty(samples)
    with threadpool_limits(limits=1):
        for single in inputs[:20]:  # warm caches and compiled kernels first
            model.predict(single, k=5)
        for i in range(samples):
            single = inputs[i % len(inputs)]
            start = time.perf_counter()
            model.predict(single, k=5)
            timings[i] = time.perf_counter() - start
    return float(np.percentile(timings, 99) * 1000.0)


def live(ctx: GateContext) -> GateResult:
    """Not worse than the alias holder on live feedback (shadow or canary traffic)."""
    holder = None if ctx.champion is None else ctx.champion.info.version
    regression = ctx.task.kind == "regression"
    found = live_verdict(ctx.candidate.info.version, holder, ctx.settings, regression)
    return GateResult(
        "live", found.passed, found.figure, found.threshold, found.detail, found.checks
    )


GATES: dict[str, Callable[[GateContext], GateResult]] = {
    "contract": contract,
    "quality": quality,
    "champion": champion,
    "behaviour": behaviour_gate,
    "latency": latency,
    "live": live,
}
_NEEDS_MODEL = {"quality", "champion", "behaviour", "latency"}
_NEEDS_HOLDOUT = {"quality", "champion", "behaviour", "latency"}


def run_gates(ctx: GateContext, names: list[str]) -> list[GateResult]:
    """Run the named gates in order; every one reports, none raises."""
    results = []
    for name in names:
        if name in _NEEDS_MODEL and ctx.candidate.model is None:
            results.append(GateResult(name, False, "not run", "-", "the model did not load"))
        elif name in _NEEDS_HOLDOUT and ctx.holdout is None:
            why = ctx.holdout_problem or "no frozen holdout to judge on"
            results.append(GateResult(name, False, "not run", "-", why))
        else:
            try:
                results.append(GATES[name](ctx))
            except Exception as exc:  # a broken candidate must fail its gate, not crash
                results.append(
                    GateResult(name, False, "error", "-", f"{type(exc).__name__}: {exc}")
                )
    return results
