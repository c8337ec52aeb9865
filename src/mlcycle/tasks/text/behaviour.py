"""Behaviour checks of a text classifier: invariance and minimum functionality.

Invariance: rewriting a description the way registry clerks vary it (upper or lower
case, accents dropped, punctuation added, extra spaces) must not change its top-1
label. Minimum functionality: curated unambiguous descriptions get their label.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from mlcycle.tasks.base import BehaviourReport


def _without_accents(text: str) -> str:
    """The text typed without accents (a clerk's keyboard, not the model's cleaning)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


PERTURBATIONS: dict[str, Callable[[str], str]] = {
    "upper case": str.upper,
    "lower case": str.lower,
    "no accents": _without_accents,
    "punctuation": lambda t: f"- {t.replace(' ', ', ', 1)} !",
    "extra spaces": lambda t: "  " + "   ".join(t.split()) + "  ",
}


def top1(model: Any, texts: Sequence[str]) -> list[str]:
    """The best label of each text (``model.predict(texts, k)`` ranks labels)."""
    return [str(c) for c in model.predict(list(texts), k=1).codes[:, 0]]


def invariance(model: Any, texts: Sequence[str]) -> tuple[float, list[str]]:
    """Share of perturbed texts whose top-1 stays the original's, and failing examples."""
    if not texts:
        return 1.0, []
    base = top1(model, texts)
    kept, total = 0, 0
    broken: list[str] = []
    for name, perturb in PERTURBATIONS.items():
        changed = top1(model, [perturb(t) for t in texts])
        for text, before, after in zip(texts, base, changed, strict=True):
            total += 1
            if before == after:
                kept += 1
            elif len(broken) < 5:
                broken.append(f"{name} of {text!r}: {before} -> {after}")
    return kept / total, broken


def functionality(model: Any, cases: dict[str, str]) -> tuple[float, list[str]]:
    """Share of curated ``text -> label`` cases the model gets right, and the misses."""
    if not cases:
        return 1.0, []
    got = top1(model, list(cases))
    misses = [
        f"{text!r} -> {answer}, expected {code}"
        for (text, code), answer in zip(cases.items(), got, strict=True)
        if answer != code
    ]
    return 1 - len(misses) / len(cases), misses


def check(model: Any, texts: Sequence[str], cases: dict[str, str]) -> BehaviourReport:
    """Both checks over ``texts`` (invariance) and ``cases`` (functionality)."""
    rate, broken = invariance(model, [*cases, *texts])
    hit, misses = functionality(model, cases)
    counts = {"invariance": len(cases) + len(texts), "functionality": len(cases)}
    return BehaviourReport(rate, hit, misses + broken, counts=counts)
