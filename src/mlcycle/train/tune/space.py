"""The search space: what ``mlcycle tune`` may vary, read and checked before any trial.

A space maps the model family's parameter names to a range, a list of choices or one
fixed value, and each entry says what kind of value it is::

    n_estimators: {low: 50, high: 400, step: 50}    # whole-number bounds: an integer range
    learning_rate: {low: 0.01, high: 0.3, log: true} # a decimal bound: a float range
    max_features: [sqrt, log2, 1.0]                  # a list: a choice
    max_depth: 8                                     # anything else: fixed

The family then judges every bound and choice (its ``build`` refuses unknown or invalid
parameters), so a bad space costs no trial. A grid (``--grid``) is either a mapping of
lists (every combination) or an explicit list of parameter sets, as in the seed's Argo
fan-out; it becomes a space of choices plus the points to run. Every mistake is one
sentence naming the file and the parameter.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput, MlcycleError, NotFound
from mlcycle.models.families import ModelFamily

_RANGE_KEYS = {"low", "high", "step", "log"}
# What Optuna stores as a choice (and JSON as a study's fingerprint).
_CHOICE_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class ParamSpec:
    """One searched parameter: an int or float range, or a list of choices."""

    name: str
    kind: str  # "int", "float" or "choice"
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.low is None or self.high is None:  # the parsers give every range both
            raise InvalidInput(f"Parameter {self.name!r} of the search space has no range.")
        if self.kind == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def describe(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out

    def probes(self) -> list[Any]:
        """The values a family is asked about before any trial: every choice, both bounds,
        and inside a float range a value that is no whole number, so that a parameter
        taking integers refuses a float range now rather than in the middle of a search."""
        if self.kind == "choice":
            return list(self.choices)
        probes = [self.low, self.high]
        if self.kind == "float" and self.step is None and self.high > self.low:  # type: ignore[operator]
            probes.append(self.low + (self.high - self.low) / math.sqrt(2))  # type: ignore[operator]
        return probes


@dataclass(frozen=True)
class SearchSpace:
    """Searched parameters plus the fixed ones every trial shares."""

    specs: tuple[ParamSpec, ...]
    fixed: dict[str, Any]  # model.params, the trial thread count, and fixed space entries

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """One trial's parameters: the fixed ones and a value for each searched one."""
        return {**self.fixed, **{spec.name: spec.suggest(trial) for spec in self.specs}}

    def describe(self) -> dict[str, Any]:
        return {spec.name: spec.describe() for spec in self.specs}


@dataclass(frozen=True)
class Grid:
    """The parameter sets of a grid, each complete for the searched names."""

    points: tuple[dict[str, Any], ...]
    space: SearchSpace


@dataclass(frozen=True)
class PointCheck:
    """Asks the project's model family whether it accepts a parameter set."""

    family: ModelFamily
    task: str
    types: Mapping[str, str]

    def __call__(self, params: dict[str, Any], reconcile: bool = True) -> None:
        """Raise the family's own error for parameters it refuses.

        ``reconcile``: adjust the point as a sampled trial's would be; a grid point is
        taken as written.
        """
        point = self.family.reconcile(dict(params)) if reconcile else params
        self.family.build(point, self.task, self.types)


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file's content, or one clear error naming it."""
    import yaml

    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise NotFound(f"The {what} {path} does not exist; check the path.") from None
    except OSError as exc:
        raise InvalidInput(f"The {what} {path} cannot be read ({exc.strerror}).") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInput(f"The {what} {path} is not valid YAML{where}; fix its syntax.") from None


def load_space_file(path: Path, base: dict[str, Any], check: PointCheck) -> SearchSpace:
    """A space file: the mapping itself, or a mapping with a top-level ``space`` key."""
    raw = read_yaml(path, "space file")
    if isinstance(raw, Mapping) and set(raw) == {"space"}:
        raw = raw["space"]
    return parse_space(raw, base, f"space file {path}", check)


def parse_space(raw: Any, base: dict[str, Any], where: str, check: PointCheck) -> SearchSpace:
    """Read every entry of a space mapping, then have the family judge its values."""
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInput(f"The {where} must map parameter names to ranges or choices.")
    specs, fixed = [], dict(base)
    for name, entry in raw.items():
        _check_name(name, where)
        if isinstance(entry, Mapping) and set(entry) != {"choices"}:
            specs.append(_range_spec(name, entry, where))
        elif isinstance(entry, (list, tuple, Mapping)):
            choices = entry["choices"] if isinstance(entry, Mapping) else entry
            specs.append(_choice_spec(name, choices, where))
        else:
            fixed[name] = entry
    if not specs:
        raise InvalidInput(f"The {where} fixes every parameter; give at least one a range.")
    space = SearchSpace(tuple(specs), fixed)
    _ask(check, space.fixed, f"The {where}")
    for spec in space.specs:
        for value in spec.probes():
            point = {**space.fixed, spec.name: value}
            _ask(check, point, f"The {where}, parameter {spec.name!r} at {_show(value)}")
    return space


def load_grid_file(path: Path, base: dict[str, Any], check: PointCheck) -> Grid:
    """A grid file: ``{dim: [25, 50], lr: [0.1]}`` or ``[{dim: 25}, {dim: 50, lr: 0.5}]``."""
    raw = read_yaml(path, "grid file")
    where = f"grid file {path}"
    if isinstance(raw, Mapping) and raw:
        names = list(raw)
        values = [raw[n] if isinstance(raw[n], (list, tuple)) else [raw[n]] for n in names]
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    elif isinstance(raw, list) and raw and all(isinstance(p, Mapping) for p in raw):
        points = [dict(p) for p in raw]
    else:
        raise InvalidInput(
            f"The {where} must map parameter names to lists of values, or be a list of "
            "parameter sets; it is empty or of another shape."
        )
    return _grid(points, base, where, check)


def _grid(
    points: list[dict[str, Any]], base: dict[str, Any], where: str, check: PointCheck
) -> Grid:
    for point in points:
        for name, value in point.items():
            _check_name(name, where)
            _check_choice(name, value, where)
    names = sorted({name for point in points for name in point})
    checked = []
    for number, point in enumerate(points, 1):
        full = {**base, **point}
        missing = [name for name in names if name not in full]
        if missing:
            raise InvalidInput(
                f"The {where}, parameter set {number}, has no {missing[0]!r}, which other sets "
                "vary and model.params does not fix; give every set the same parameters."
            )
        _ask(
            lambda params: check(params, reconcile=False),
            full,
            f"The {where}, parameter set {number}",
        )
        checked.append({name: full[name] for name in names})
    unique = list({json.dumps(p, sort_keys=True): p for p in checked}.values())
    if not names or not unique:
        raise InvalidInput(f"The {where} names no parameter to vary.")
    specs = tuple(
        ParamSpec(n, "choice", choices=tuple(_distinct(p[n] for p in unique))) for n in names
    )
    return Grid(tuple(unique), SearchSpace(specs, dict(base)))


def _ask(check: Any, point: dict[str, Any], context: str) -> None:
    """The family's verdict on ``point``; a refusal is one sentence saying where."""
    try:
        check(point)
    except MlcycleError as exc:
        raise InvalidInput(f"{context}: {exc.message}") from None


def _distinct(values: Any) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _show(value: Any) -> str:
    """A probed value as a user would write it (a long float shortened)."""
    text = repr(value)
    return f"{value:.6g}" if isinstance(value, float) and len(text) > 10 else text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"The {where} names parameter {name!r}; a parameter name is text.")


def _check_choice(name: str, value: Any, where: str) -> None:
    if not isinstance(value, _CHOICE_TYPES):
        raise InvalidInput(
            f"The {where} gives {name!r} the value {value!r}; a value to choose is a number, "
            "text, true/false or null."
        )


def _choice_spec(name: str, choices: Any, where: str) -> ParamSpec:
    if not isinstance(choices, (list, tuple)) or not choices:
        raise InvalidInput(f"The {where} gives {name!r} an empty list of choices; add values.")
    for value in choices:
        _check_choice(name, value, where)
    return ParamSpec(name, "choice", choices=tuple(_distinct(choices)))


def _range_spec(name: str, entry: Mapping[str, Any], where: str) -> ParamSpec:
    unknown = sorted(set(entry) - _RANGE_KEYS)
    if unknown or not {"low", "high"} <= set(entry):
        raise InvalidInput(
            f"The {where} gives {name!r} a range with keys {sorted(entry)}; a range needs "
            "low and high (step and log are optional), or write a list of choices."
        )
    low, high = entry["low"], entry["high"]
    if not (_is_number(low) and _is_number(high)):
        raise InvalidInput(
            f"The {where} gives {name!r} a range from {low!r} to {high!r}; low and high must "
            f"be numbers{_yaml_hint(low, high)}."
        )
    # Whole-number bounds make an integer range; one decimal bound (1.0) a float range.
    kind = "int" if isinstance(low, int) and isinstance(high, int) else "float"
    if low > high:
        raise InvalidInput(
            f"The {where} gives {name!r} an empty range (low {low} > high {high}); "
            "make low at most high."
        )
    log, step = entry.get("log", False), entry.get("step")
    if not isinstance(log, bool):
        raise InvalidInput(f"The {where} gives {name!r} log {log!r}; write true or false.")
    if step is not None and not _valid_step(step, kind, log):
        raise InvalidInput(
            f"The {where} gives {name!r} step {step!r}; a step must be positive"
            + (", whole for an integer range," if kind == "int" else "")
            + " and cannot be combined with log."
        )
    if log and low <= 0:
        raise InvalidInput(f"The {where} samples {name!r} on a log scale; low must be above 0.")
    if kind == "float":
        return ParamSpec(name, kind, float(low), float(high), _float(step), log)
    return ParamSpec(name, kind, low, high, step, log)


def _yaml_hint(*values: Any) -> str:
    """YAML reads ``1e-4`` as text (its floats need a dot): say so when that is the cause."""
    for value in values:
        try:
            if isinstance(value, str):
                float(value)
                return f"; YAML reads {value} as text, write it with a dot (1.0e-4 for 1e-4)"
        except ValueError:
            continue
    return " (write a list for choices)"


def _valid_step(step: Any, kind: str, log: bool) -> bool:
    whole = isinstance(step, int) or kind == "float"
    return _is_number(step) and step > 0 and whole and not log


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
