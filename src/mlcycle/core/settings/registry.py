"""Registry governance settings: environments, promotion gates, the frozen holdout.

``Settings.registry`` is a :class:`RegistrySettings`. Every gate is configurable in the
project file; what a gate measures by default comes from the model's task (its metrics,
which way they go), so a setting left out here means "the task's default"::

    registry:
      environments: [staging, {name: production, gates: [quality, champion, contract]}]
      gates:
        quality: {minimums: {accuracy_top1: 0.8}}
        champion: {margin: 0.005}
        live: {margin: 0.01, min_labelled: 200}   # only where an environment lists it
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from mlcycle.core.settings.monitor import duration_seconds

GATE_NAMES = ("contract", "quality", "champion", "behaviour", "latency", "live")
# An environment without a gate list runs these: not ``live``, which needs an online
# experiment's traffic (a project lists it: ``gates: [contract, live]``).
DEFAULT_GATES = tuple(name for name in GATE_NAMES if name != "live")
_NAME = re.compile(r"^[A-Za-z][\w-]*$")


class QualityGate(BaseModel):
    """Minimums on the candidate's metrics over the frozen holdout."""

    enabled: bool = True
    # metric -> floor (a ceiling for metrics where lower is better, such as rmse);
    # None: the task's defaults.
    minimums: dict[str, float] | None = None


class ChampionGate(BaseModel):
    """The candidate may trail the alias holder by at most ``margin`` on each metric."""

    enabled: bool = True
    # None: the task's headline metrics.
    metrics: list[str] | None = None
    # Largest allowed regression, in the metric's own unit.
    margin: float = Field(0.01, ge=0.0, le=1.0)


class LatencyGate(BaseModel):
    """In-process p99 of single-text predictions, in milliseconds."""

    enabled: bool = True
    p99_ms: float = Field(25.0, gt=0.0)
    samples: int = Field(300, ge=20, le=100_000)


class BehaviourGate(BaseModel):
    """Invariance and minimum functionality, written as data the task checks.

    Text tasks: invariance to case, accents, punctuation and spaces over holdout texts,
    and ``cases`` as ``{text: expected label}``. Tabular tasks: ``invariance``
    (``[{column: sex}]``), ``direction`` (``[{column: bmi, increases: true}]``) and
    ``cases`` as ``[{record: {...}, expect: ...}]``. The cases are project data: they
    live in the project file or, with ``cases_file``, in a file of their own
    (:mod:`mlcycle.core.settings.cases`).
    """

    enabled: bool = True
    min_invariance: float = Field(0.99, ge=0.0, le=1.0)
    # Share of the cases answered right; the default lets one miss in ten pass, as a
    # few hand-picked texts are never all unambiguous on real data.
    min_functionality: float = Field(0.9, ge=0.0, le=1.0)
    # Share of (row, direction check) pairs where the prediction moves the right way.
    min_direction: float = Field(0.95, ge=0.0, le=1.0)
    invariance_texts: int = Field(100, ge=0, le=10_000)
    cases: dict[str, str] | list[dict[str, Any]] = Field(default_factory=dict)
    # A YAML or CSV file holding the cases instead: absolute, or relative to the
    # project file's folder.
    cases_file: str | None = None
    invariance: list[dict[str, Any]] = Field(default_factory=list)
    direction: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cases_in_one_place(self) -> BehaviourGate:
        if self.cases_file is not None and self.cases:
            raise ValueError("give the cases inline (cases) or in a file (cases_file), not both")
        return self


class ContractGate(BaseModel):
    """Same signature as the champion; the model loads in a fresh process."""

    enabled: bool = True
    fresh_process: bool = True
    timeout_s: float = Field(180.0, gt=0.0)


class LiveGate(BaseModel):
    """The candidate against the alias holder on live feedback (``serve.experiment``).

    The candidate is the version a shadow or canary server ran as challenger; the
    labelled requests of the last ``window`` (default ``monitor.window``) are compared
    as ``monitor compare`` does: paired when shadowed, arm against arm for a canary.
    Passes when the candidate's top-1 accuracy is not lower than the holder's by more
    than ``margin`` (regression: its RMSE not higher by more than ``relative_margin``,
    a share of the holder's RMSE) at ``confidence``: the one-sided bound of the
    difference's bootstrap interval must clear the margin. Refuses with fewer than
    ``min_labelled`` labelled requests answered by both (each arm, for a canary).
    """

    enabled: bool = True
    margin: float = Field(0.01, ge=0.0, le=1.0)
    relative_margin: float = Field(0.02, ge=0.0, le=10.0)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    min_labelled: int = Field(200, ge=1)
    # None: monitor.window.
    window: str | None = None
    seed: int = 0

    @field_validator("window")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class GateSettings(BaseModel):
    contract: ContractGate = Field(default_factory=ContractGate)
    quality: QualityGate = Field(default_factory=QualityGate)
    champion: ChampionGate = Field(default_factory=ChampionGate)
    behaviour: BehaviourGate = Field(default_factory=BehaviourGate)
    latency: LatencyGate = Field(default_factory=LatencyGate)
    live: LiveGate = Field(default_factory=LiveGate)

    @field_validator(*GATE_NAMES, mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        """``behaviour:`` with nothing under it (its last setting commented out) is the
        gate's defaults, as YAML reads it: null."""
        return {} if value is None else value


class HoldoutSettings(BaseModel):
    """The frozen holdout of each dataset, drawn from the first version trained on."""

    fraction: float = Field(0.1, gt=0.0, lt=0.5)
    max_rows: int = Field(3000, ge=10)
    seed: int = 1729


class EnvironmentSettings(BaseModel):
    """One environment (an alias); ``gates`` None means every enabled gate but ``live``."""

    name: str
    gates: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _alias_like(cls, value: str) -> str:
        if not _NAME.match(value) or value.lower() in ("latest", "challenger"):
            raise ValueError(f"{value!r} cannot be an environment name")
        return value

    @field_validator("gates")
    @classmethod
    def _known_gates(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(GATE_NAMES))
        if unknown:
            raise ValueError(f"unknown gates {unknown}; known: {', '.join(GATE_NAMES)}")
        return value


class RegistrySettings(BaseModel):
    """Ordered environments, the gates guarding them and the governance store."""

    # Staging takes any candidate that loads, keeps the contract, does not regress on
    # the staging holder and is fast; production adds the quality floors and behaviour.
    environments: list[EnvironmentSettings] = Field(
        default_factory=lambda: [
            EnvironmentSettings(name="staging", gates=["contract", "champion", "latency"]),
            EnvironmentSettings(name="production"),
        ]
    )
    # When true, a version must have reached the previous environment first.
    sequential: bool = False
    gates: GateSettings = Field(default_factory=GateSettings)
    holdout: HoldoutSettings = Field(default_factory=HoldoutSettings)
    # The experiment holding holdouts and audit logs (kept out of the training runs).
    governance_experiment: str = "mlcycle-governance"
    lock_timeout_s: float = Field(900.0, gt=0.0)
    # What the model is for, shown on its card; say it in the project file.
    intended_use: str = "Not stated; say it under registry.intended_use in the project file."

    @field_validator("environments", mode="before")
    @classmethod
    def _names_as_entries(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _distinct(self) -> RegistrySettings:
        names = [env.name for env in self.environments]
        if not names or len(set(names)) != len(names):
            raise ValueError("environments must be a non-empty list of distinct names")
        return self
