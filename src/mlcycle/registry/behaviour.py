"""Behaviour checks of a text classifier: invariance and minimum functionality.

Invariance: rewriting a description the way registry clerks vary it (upper or lower
case, accents dropped, punctuation added, extra spaces) must not change its top-1
code. Minimum functionality: curated unambiguous descriptions get their code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mlcycle.models.protocol import TextClassifier
from mlcycle.text.normalize import strip_accents

PERTURBATIONS: dict[str, Callable[[str], str]] = {
    "upper case": str.upper,
    "lower case": str.lower,
    "no accents": strip_accents,
    "punctuation": lambda t: f"- {t.replace(' ', ', ', 1)} !",
    "extra spaces": lambda t: "  " + "   ".join(t.split()) + "  ",
}


@dataclass(frozen=True)
class BehaviourReport:
    invariance: float  # share of (text, perturbation) pairs keeping the top-1
    functionality: float  # share of curated cases predicted right
    broken: list[str]  # examples of what failed, for the gate's detail


def top1(model: TextClassifier, texts: Sequence[str]) -> list[str]:
    return [str(c) for c in model.predict(list(texts), k=1).codes[:, 0]]


def invariance(model: TextClassifier, texts: Sequence[str]) -> tuple[float, list[str]]:
    """Share of perturbed texts whose top-1 stays the original's, and failing examples."""
    if not texts:
        return 1.0, []
    base = top1(model, texts)
    kept, total, broken = 0, 0, []
    for name, perturb in PERTURBATIONS.items():
        changed = top1(model, [perturb(t) for t in texts])
        for text, before, after in zip(texts, base, changed, strict=True):
            total += 1
            if before == after:
                kept += 1
            elif len(broken) < 5:
                broken.append(f"{name} of {text!r}: {before} -> {after}")
    return kept / total, broken


def functionality(model: TextClassifier, cases: dict[str, str]) -> tuple[float, list[str]]:
    """Share of curated ``text -> code`` cases the model gets right, and the misses."""
    if not cases:
        return 1.0, []
    got = top1(model, list(cases))
    misses = [
        f"{text!r} -> {answer}, expected {code}"
        for (text, code), answer in zip(cases.items(), got, strict=True)
        if answer != code
    ]
    return 1 - len(misses) / len(cases), misses


def check(model: TextClassifier, texts: Sequence[str], cases: dict[str, str]) -> BehaviourReport:
    """Both checks over ``texts`` (invariance) and ``cases`` (functionality)."""
    rate, broken = invariance(model, [*cases, *texts])
    hit, misses = functionality(model, cases)
    return BehaviourReport(rate, hit, misses + broken)


def p99_latency_ms(model: TextClassifier, texts: Sequence[str], samples: int) -> float:
    """The 99th percentile of one-text ``predict`` calls (k=5), in milliseconds, warm."""
    pool = list(texts) or ["coiffeur"]
    for text in pool[:20]:  # warm caches and compiled kernels first
        model.predict([text], k=5)
    timings = np.empty(samples)
    for i in range(samples):
        text = pool[i % len(pool)]
        start = time.perf_counter()
        model.predict([text], k=5)
        timings[i] = time.perf_counter() - start
    return float(np.percentile(timings, 99) * 1000.0)
