"""Promotion gates: each looks at the candidate (and the alias's current holder) and
says pass or fail with its figure and threshold.

A gate that cannot run (the model did not load, no holdout) fails with the reason;
it never raises, so a promotion always reports every gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlcycle.core.errors import ModelError
from mlcycle.core.settings import Settings
from mlcycle.registry import behaviour
from mlcycle.registry.holdout import Holdout
from mlcycle.registry.loading import ServedModel, load_served_model
from mlcycle.registry.manifest import download_verified
from mlcycle.registry.ops import VersionInfo


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


@dataclass
class GateContext:
    alias: str
    candidate: Subject
    champion: Subject | None  # None: the alias has no holder yet
    holdout: Holdout | None
    settings: Settings


def holdout_metrics(subject: Subject, holdout: Holdout) -> dict[str, float]:
    """The subject's metrics on the holdout, computed once."""
    from mlcycle.train.evaluate import evaluate

    if subject.metrics is None:
        texts = holdout.frame["text"].astype(str).tolist()
        top = subject.model.classifier.predict(texts, k=5).codes
        subject.metrics = evaluate(holdout.frame["label"].astype(str).to_numpy(), top).metrics
    return subject.metrics


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


_FRESH = """\
import json, sys
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
print(json.dumps(model.predict(["coiffeur"], params={"k": 1})[0][0]))
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
    try:
        json.loads(done.stdout.strip().splitlines()[-1])["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return f"unexpected answer {done.stdout.strip()[:200]!r}"
    return None


def quality(ctx: GateContext) -> GateResult:
    """Holdout metrics at or above the configured minimums."""
    minimums = ctx.settings.registry.gates.quality.minimums
    metrics = holdout_metrics(ctx.candidate, ctx.holdout)
    checks = [
        {
            "metric": m,
            "value": metrics.get(m),
            "minimum": low,
            "passed": metrics.get(m) is not None and metrics[m] >= low,
        }
        for m, low in minimums.items()
    ]
    failed = [c["metric"] for c in checks if not c["passed"]]
    return GateResult(
        "quality",
        not failed,
        ", ".join(f"{c['metric']} {_fmt(c['value'] or 0.0)}" for c in checks),
        ", ".join(f">= {_fmt(c['minimum'])}" for c in checks),
        f"below the minimum: {', '.join(failed)}" if failed else "on the frozen holdout",
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
    mine = holdout_metrics(ctx.candidate, ctx.holdout)
    theirs = holdout_metrics(ctx.champion, ctx.holdout)
    checks = []
    for metric in config.metrics:
        a, b = mine.get(metric), theirs.get(metric)
        ok = a is not None and b is not None and a >= b - config.margin
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
    return GateResult(
        "champion",
        not failed,
        ", ".join(
            f"{c['metric']} {_fmt(c['candidate'] or 0)} vs {_fmt(c['champion'] or 0)}"
            for c in checks
        ),
        f"drop <= {config.margin} vs version {version}",
        "; ".join(f"{c['metric']} {(c['delta'] or 0):+.4f} vs version {version}" for c in failed),
        checks,
    )


def behaviour_gate(ctx: GateContext) -> GateResult:
    """Invariance and minimum functionality (see :mod:`mlcycle.registry.behaviour`)."""
    config = ctx.settings.registry.gates.behaviour
    texts = ctx.holdout.frame["text"].astype(str).tolist()[: config.invariance_texts]
    report = behaviour.check(ctx.candidate.model.classifier, texts, config.cases)
    ok = report.invariance >= config.min_invariance and (
        report.functionality >= config.min_functionality
    )
    checks = [
        {"check": "invariance", "value": report.invariance, "minimum": config.min_invariance},
        {
            "check": "functionality",
            "value": report.functionality,
            "minimum": config.min_functionality,
        },
    ]
    return GateResult(
        "behaviour",
        ok,
        f"invariance {report.invariance:.3f}, functionality {report.functionality:.3f}",
        f">= {config.min_invariance}, >= {config.min_functionality}",
        "; ".join(report.broken[:6]),
        checks,
    )


def latency(ctx: GateContext) -> GateResult:
    """In-process p99 of single-text predictions under the budget."""
    config = ctx.settings.registry.gates.latency
    texts = ctx.holdout.frame["text"].astype(str).tolist() if ctx.holdout is not None else []
    p99 = behaviour.p99_latency_ms(ctx.candidate.model.classifier, texts, config.samples)
    return GateResult(
        "latency",
        p99 <= config.p99_ms,
        f"p99 {p99:.3f} ms",
        f"<= {config.p99_ms} ms",
        f"{config.samples} single-text predictions, k=5",
        [{"p99_ms": p99, "budget_ms": config.p99_ms}],
    )


GATES: dict[str, Callable[[GateContext], GateResult]] = {
    "contract": contract,
    "quality": quality,
    "champion": champion,
    "behaviour": behaviour_gate,
    "latency": latency,
}
_NEEDS_MODEL = {"quality", "champion", "behaviour", "latency"}
_NEEDS_HOLDOUT = {"quality", "champion", "behaviour"}


def run_gates(ctx: GateContext, names: list[str]) -> list[GateResult]:
    """Run the named gates in order; every one reports, none raises."""
    results = []
    for name in names:
        if name in _NEEDS_MODEL and ctx.candidate.model is None:
            results.append(GateResult(name, False, "not run", "-", "the model did not load"))
        elif name in _NEEDS_HOLDOUT and ctx.holdout is None:
            results.append(
                GateResult(
                    name,
                    False,
                    "not run",
                    "-",
                    "no frozen holdout in this store; train once to draw it",
                )
            )
        else:
            try:
                results.append(GATES[name](ctx))
            except Exception as exc:  # a broken candidate must fail its gate, not crash
                results.append(
                    GateResult(name, False, "error", "-", f"{type(exc).__name__}: {exc}")
                )
    return results
