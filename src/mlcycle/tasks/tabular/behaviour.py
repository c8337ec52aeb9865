"""Behaviour checks of a tabular model, written as data in the project file.

Invariance: changing one column alone (``sex``) must not change the predicted class (or
move a regression by more than a tolerance). Direction: raising one column by a step
(``bmi``) must not lower the predicted value (or a class's probability) beyond a
tolerance. Minimum functionality: hand-written records get their expected class, or a
value within a range. Each check is run on a model through the Estimator protocol and
reported as the share of changes that behaved, with failing examples, as the text
task's checks are (:mod:`mlcycle.registry.behaviour`). How they are written:
:mod:`mlcycle.tasks.tabular.behaviour_spec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Estimator, Prediction
from mlcycle.tasks.tabular.behaviour_spec import BehaviourSpec, Case, Direction, Invariance
from mlcycle.tasks.tabular.metrics import probabilities

__all__ = ["BehaviourReport", "BehaviourSpec", "CheckResult", "check", "validate_spec"]

MAX_ROWS = 200  # rows each check perturbs: enough to see a habit, quick to predict
MAX_VALUES = 10  # values tried per invariance check, the most frequent first
SHOWN = 5  # failing examples kept per check


@dataclass(frozen=True)
class CheckResult:
    """One check: the share of its changes (or cases) that behaved, and failures."""

    name: str
    share: float
    total: int
    failures: list[str]


@dataclass(frozen=True)
class BehaviourReport:
    """Shares per kind of check (1.0 when none is written) and what failed."""

    invariance: float
    direction: float
    functionality: float
    broken: list[str]
    checks: list[CheckResult]
    counts: dict[str, int]  # changes (or cases) checked per kind: 0 when none is written


def check(
    model: Estimator, frame: pd.DataFrame, spec: BehaviourSpec, max_rows: int = MAX_ROWS
) -> BehaviourReport:
    """Run every check of ``spec`` on ``model`` over (up to ``max_rows``) rows of ``frame``.

    Raises:
        InvalidInput: A check names a column the rows lack, a class the model does not
            know, or an expectation of the wrong task.
    """
    validate_spec(spec, model, frame)
    rows = frame.sample(max_rows, random_state=0) if len(frame) > max_rows else frame
    kinds = {
        "invariance": [invariance(model, rows, c) for c in spec.invariance],
        "direction": [direction(model, rows, c) for c in spec.direction],
        "functionality": [functionality(model, frame.columns, spec.cases)] if spec.cases else [],
    }
    shares = {kind: _pooled(results) for kind, results in kinds.items()}
    done = [result for results in kinds.values() for result in results]
    broken = [f"{r.name}: {failure}" for r in done for failure in r.failures]
    counts = {kind: sum(r.total for r in results) for kind, results in kinds.items()}
    return BehaviourReport(**shares, broken=broken, checks=done, counts=counts)


def _pooled(results: list[CheckResult]) -> float:
    total = sum(r.total for r in results)
    return sum(r.share * r.total for r in results) / total if total else 1.0


def validate_spec(spec: BehaviourSpec, model: Estimator, frame: pd.DataFrame) -> None:
    """Every check fits the data and the task (one sentence naming the first that does not)."""
    columns = list(frame.columns)
    named = [("invariance", c.column) for c in spec.invariance]
    named += [("direction", c.column) for c in spec.direction]
    named += [(f"case {i}", k) for i, case in enumerate(spec.cases, 1) for k in case.record]
    for where, column in named:
        if column not in columns:
            raise InvalidInput(
                f"behaviour {where} names column {column!r}, which the data does not have "
                f"(columns: {', '.join(columns)}); fix the project file."
            )
    for check_ in spec.direction:
        if not pd.api.types.is_numeric_dtype(frame[check_.column]):
            raise InvalidInput(
                f"behaviour direction needs a numeric column; {check_.column!r} is not."
            )
        _check_output(check_.output, model, "direction")
    for i, case in enumerate(spec.cases, 1):
        wanted = case.expect if case.expect is not None else "target"
        _check_output(wanted, model, f"case {i}")


def _check_output(output: str, model: Estimator, where: str) -> None:
    if model.labels and output not in model.labels:
        raise InvalidInput(
            f"behaviour {where} names class {output!r}, which the model does not know "
            f"(classes: {', '.join(model.labels)})."
        )
    if not model.labels and output != "target":
        raise InvalidInput(
            f"behaviour {where} expects a class ({output!r}) of a regression; write "
            "increases/decreases: target and expect_between: [low, high]."
        )


def invariance(model: Estimator, rows: pd.DataFrame, spec: Invariance) -> CheckResult:
    """Set ``spec.column`` to each other value in turn; count predictions that move."""
    values = spec.values if spec.values is not None else _seen(rows[spec.column])
    base = _outputs(model, rows)
    variants, tried = [], []
    for value in values:
        differs = rows[spec.column].astype(object) != value
        variant = rows[differs.to_numpy()].copy()
        variant[spec.column] = value
        variants.append(variant)
        tried += [(int(position), value) for position in np.flatnonzero(differs.to_numpy())]
    if not tried:
        return CheckResult(f"invariance of {spec.column}", 1.0, 0, [])
    after = _outputs(model, pd.concat(variants))
    before = base[[position for position, _ in tried]]
    moved = _moved(before, after, spec.tolerance)
    failures = _failures(rows, spec.column, tried, before, after, moved)
    return CheckResult(f"invariance of {spec.column}", 1 - moved.mean(), len(tried), failures)


def _failures(
    rows: pd.DataFrame,
    column: str,
    tried: list[tuple[int, Any]],
    before: np.ndarray,
    after: np.ndarray,
    moved: np.ndarray,
) -> list[str]:
    """What the first few moved predictions were, each on one line."""
    found = []
    for index in np.flatnonzero(moved)[:SHOWN]:
        position, value = tried[index]
        old = rows[column].iloc[position]
        found.append(
            f"{column} {_plain(old)!r} -> {_plain(value)!r} on row {rows.index[position]}: "
            f"{_shown(before[index])} -> {_shown(after[index])}"
        )
    return found


def direction(model: Estimator, rows: pd.DataFrame, spec: Direction) -> CheckResult:
    """Raise ``spec.column`` by ``spec.step``; count outputs going the wrong way."""
    name = f"direction of {spec.column}"
    present = rows[rows[spec.column].notna().to_numpy()]
    if present.empty:
        return CheckResult(name, 1.0, 0, [])
    raised = present.copy()
    raised[spec.column] = present[spec.column] + spec.step
    before = _score(model, present, spec.output)
    after = _score(model, raised, spec.output)
    change = after - before if spec.increases is not None else before - after
    wrong = change < -spec.tolerance
    failures = [
        f"{spec.column} {_plain(present[spec.column].iloc[i])!r} + {spec.step:g} on row "
        f"{present.index[i]}: {spec.output} {before[i]:.4g} -> {after[i]:.4g}"
        for i in np.flatnonzero(wrong)[:SHOWN]
    ]
    return CheckResult(name, 1 - wrong.mean(), len(present), failures)


def functionality(model: Estimator, columns: Any, cases: list[Case]) -> CheckResult:
    """The share of hand-written cases the model gets right, and the misses."""
    frame = pd.DataFrame([case.record for case in cases]).reindex(columns=list(columns))
    got = _outputs(model, frame)
    misses = []
    for i, (case, answer) in enumerate(zip(cases, got, strict=True), 1):
        if case.expect is not None and str(answer) != case.expect:
            misses.append(f"case {i} -> {answer}, expected {case.expect}")
        elif case.expect_between is not None:
            low, high = case.expect_between
            if not low <= float(answer) <= high:
                misses.append(f"case {i} -> {float(answer):.4g}, expected {low:g}..{high:g}")
    return CheckResult("cases", 1 - len(misses) / len(cases), len(cases), misses[:SHOWN])


def _seen(column: pd.Series) -> list[Any]:
    counts = column.dropna().value_counts()
    return counts.index[:MAX_VALUES].tolist()


def _outputs(model: Estimator, frame: pd.DataFrame) -> np.ndarray:
    """Top-1 class (object array) or predicted value (float array) per row."""
    prediction = model.predict(frame, k=1)
    if isinstance(prediction, Prediction):
        return prediction.codes[:, 0].astype(object)
    return np.asarray(prediction.values, dtype=np.float64)


def _score(model: Estimator, frame: pd.DataFrame, output: str) -> np.ndarray:
    """The predicted value, or the probability of class ``output``, per row."""
    prediction = model.predict(frame, k=max(len(model.labels), 1))
    if isinstance(prediction, Prediction):
        return probabilities(prediction, model.labels)[:, model.labels.index(output)]
    return np.asarray(prediction.values, dtype=np.float64)


def _moved(before: np.ndarray, after: np.ndarray, tolerance: float) -> np.ndarray:
    if before.dtype == object:
        return before != after
    return np.abs(after - before) > tolerance


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so messages read 2.0, not np.float64(2.0)."""
    return value.item() if isinstance(value, np.generic) else value


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
