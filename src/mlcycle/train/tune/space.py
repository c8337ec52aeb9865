"""The search space: what ``mlcycle tune`` may vary, read and checked before any trial.

A space maps fastText parameter names to a range (``{low, high, step, log}``), a list
of choices, or one fixed value. A grid (``--grid``) is either a mapping of lists (every
combination) or an explicit list of parameter sets, as in the seed's Argo fan-out; it
becomes a space of choices plus the points to run. Every mistake is one sentence naming
the file and the parameter.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput, MlcycleError, NotFound
from mlcycle.models.fasttext import FastTextParams

_TYPES = {f.name: str(f.type) for f in fields(FastTextParams)}
_RANGE_KEYS = {"low", "high", "step", "log"}


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


@dataclass(frozen=True)
class SearchSpace:
    """Searched parameters plus the fixed ones every trial shares."""

    specs: tuple[ParamSpec, ...]
    fixed: dict[str, Any]  # model.params, the trial thread count, and fixed space entries

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """The full, valid parameter set of one trial."""
        chosen = {spec.name: spec.suggest(trial) for spec in self.specs}
        return coherent({**self.fixed, **chosen})

    def describe(self) -> dict[str, Any]:
        return {spec.name: spec.describe() for spec in self.specs}


@dataclass(frozen=True)
class Grid:
    """The parameter sets of a grid, each complete for the searched names."""

    points: tuple[dict[str, Any], ...]
    space: SearchSpace


def coherent(params: dict[str, Any]) -> dict[str, Any]:
    """Keep ``minn`` inside ``1..maxn`` when both are searched independently.

    TPE samples each parameter on its own, so ``minn=4, maxn=3`` can come up; the
    trial then trains (and records) ``minn=3`` rather than failing.
    """
    out = dict(params)
    if int(out.get("maxn", 0)) > 0 and "minn" in out:
        out["minn"] = min(max(int(out["minn"]), 1), int(out["maxn"]))
    return out


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


def load_space_file(path: Path, base: dict[str, Any]) -> SearchSpace:
    """A space file: the mapping itself, or a mapping with a top-level ``space`` key."""
    raw = read_yaml(path, "space file")
    if isinstance(raw, Mapping) and set(raw) == {"space"}:
        raw = raw["space"]
    return parse_space(raw, base, f"space file {path}")


def parse_space(raw: Any, base: dict[str, Any], where: str) -> SearchSpace:
    """Check every entry of a space mapping and build the space."""
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInput(f"The {where} must map parameter names to ranges or choices.")
    specs, fixed = [], dict(base)
    for name, entry in raw.items():
        _check_name(name, where)
        if isinstance(entry, Mapping) and set(entry) != {"choices"}:
            specs.append(_range_spec(name, entry, base, where))
        elif isinstance(entry, (list, tuple, Mapping)):
            choices = entry["choices"] if isinstance(entry, Mapping) else entry
            specs.append(_choice_spec(name, choices, base, where))
        else:
            fixed[name] = _checked(name, entry, base, where)
    if not specs:
        raise InvalidInput(f"The {where} fixes every parameter; give at least one a range.")
    return SearchSpace(tuple(specs), fixed)


def load_grid_file(path: Path, base: dict[str, Any]) -> Grid:
    """A grid file: ``{dim: [25, 50], lr: [0.1]}`` or ``[{dim: 25}, {dim: 50, lr: 0.5}]``."""
    raw = read_yaml(path, "grid file")
    where = f"grid file {path}"
    if isinstance(raw, Mapping) and raw:
        names = list(raw)
        for name in names:
            _check_name(name, where)
        values = [raw[n] if isinstance(raw[n], (list, tuple)) else [raw[n]] for n in names]
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    elif isinstance(raw, list) and raw and all(isinstance(p, Mapping) for p in raw):
        points = [dict(p) for p in raw]
    else:
        raise InvalidInput(
            f"The {where} must map parameter names to lists of values, or be a list of "
            "parameter sets; it is empty or of another shape."
        )
    return _grid(points, base, where)


def _grid(points: list[dict[str, Any]], base: dict[str, Any], where: str) -> Grid:
    names = sorted({name for point in points for name in point})
    checked = []
    for number, point in enumerate(points, 1):
        for name in point:
            _check_name(name, where)
        try:
            full = FastTextParams.from_mapping({**base, **point}).as_dict()
        except MlcycleError as exc:
            raise InvalidInput(f"The {where}, parameter set {number}: {exc.message}") from None
        checked.append({name: full[name] for name in names})
    unique = list({json.dumps(p, sort_keys=True): p for p in checked}.values())
    if not names or not unique:
        raise InvalidInput(f"The {where} names no parameter to vary.")
    specs = tuple(
        ParamSpec(n, "choice", choices=tuple(_distinct(p[n] for p in unique))) for n in names
    )
    return Grid(tuple(unique), SearchSpace(specs, dict(base)))


def _distinct(values: Any) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _check_name(name: Any, where: str) -> None:
    if name not in _TYPES:
        raise InvalidInput(
            f"The {where} names unknown parameter {name!r}; known: {', '.join(_TYPES)}."
        )


def _checked(name: str, value: Any, base: dict[str, Any], where: str) -> Any:
    """``value`` cast to the parameter's type, and valid for fastText."""
    try:
        cast = _cast(name, value)
        FastTextParams.from_mapping(coherent({**base, name: cast}))
    except MlcycleError as exc:
        raise InvalidInput(f"The {where}, parameter {name!r}: {exc.message}") from None
    return cast


def _cast(name: str, value: Any) -> Any:
    kind = _TYPES[name]
    try:
        if isinstance(value, bool) or (kind != "str" and isinstance(value, str)):
            raise ValueError(value)  # YAML reads numbers as numbers: a string is a typo
        if kind == "int":
            if not float(value).is_integer():
                raise ValueError(value)
            return int(value)
        return float(value) if kind == "float" else str(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"value {value!r} is not a valid {kind}.") from None


def _choice_spec(name: str, choices: Any, base: dict[str, Any], where: str) -> ParamSpec:
    if not isinstance(choices, (list, tuple)) or not choices:
        raise InvalidInput(f"The {where} gives {name!r} an empty list of choices; add values.")
    values = _distinct(_checked(name, value, base, where) for value in choices)
    return ParamSpec(name, "choice", choices=tuple(values))


def _range_spec(name: str, entry: Mapping[str, Any], base: dict[str, Any], where: str) -> ParamSpec:
    unknown = sorted(set(entry) - _RANGE_KEYS)
    if unknown or not {"low", "high"} <= set(entry):
        raise InvalidInput(
            f"The {where} gives {name!r} a range with keys {sorted(entry)}; a range needs "
            "low and high (step and log are optional), or write a list of choices."
        )
    kind = _TYPES[name]
    if kind not in ("int", "float"):
        raise InvalidInput(f"The {where} gives {name!r} a range; it takes a list of choices.")
    low, high = (_checked(name, entry[key], base, where) for key in ("low", "high"))
    if low > high:
        raise InvalidInput(
            f"The {where} gives {name!r} an empty range (low {low} > high {high}); "
            "make low at most high."
        )
    log, step = bool(entry.get("log", False)), entry.get("step")
    if step is not None:
        step = int(step) if kind == "int" and float(step).is_integer() else float(step)
        if step <= 0 or (kind == "int" and not isinstance(step, int)) or log:
            raise InvalidInput(
                f"The {where} gives {name!r} step {entry['step']}; a step must be positive"
                + (", whole for an integer," if kind == "int" else "")
                + " and cannot be combined with log."
            )
    if log and low <= 0:
        raise InvalidInput(f"The {where} samples {name!r} on a log scale; low must be above 0.")
    return ParamSpec(name, kind, low, high, step, log)
