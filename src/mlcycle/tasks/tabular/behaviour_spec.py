"""How behaviour checks are written in a tabular project file (``behaviour:``)::

    behaviour:
      invariance: [{column: sex}]
      direction: [{column: bmi, increases: target, step: 1.0}]
      cases:
        - {record: {bmi: 30, bp: 100}, expect_between: [100, 300]}
        - {record: {smoker: true}, expect: "1"}

Written wrong (both or neither of increases/decreases, an unknown key) is refused when
the project file is read; :mod:`mlcycle.tasks.tabular.behaviour` runs them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Invariance(_Strict):
    """Changing ``column`` alone must not change the prediction."""

    column: str
    values: list[Any] | None = None  # values to try; default: those seen in the rows
    tolerance: float = Field(0.0, ge=0.0)  # regression: the largest move that is no change


class Direction(_Strict):
    """Raising ``column`` by ``step`` must not move the prediction the wrong way."""

    column: str
    increases: str | None = None  # "target" (regression) or a class (its probability)
    decreases: str | None = None
    step: float = Field(1.0, gt=0.0)
    tolerance: float = Field(0.0, ge=0.0)

    @model_validator(mode="after")
    def _one_way(self) -> Direction:
        if (self.increases is None) == (self.decreases is None):
            raise ValueError("give exactly one of increases or decreases")
        return self

    @property
    def output(self) -> str:
        return str(self.increases if self.increases is not None else self.decreases)


class Case(_Strict):
    """A record and its expected class, or the range its predicted value must fall in."""

    record: dict[str, Any]
    expect: str | None = None
    expect_between: tuple[float, float] | None = None

    @field_validator("expect", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return None if value is None else str(value)  # YAML reads class 1 as a number

    @model_validator(mode="after")
    def _one_expectation(self) -> Case:
        if (self.expect is None) == (self.expect_between is None):
            raise ValueError("give exactly one of expect or expect_between")
        if self.expect_between is not None and self.expect_between[0] > self.expect_between[1]:
            raise ValueError("expect_between is [low, high] with low <= high")
        return self


class BehaviourSpec(_Strict):
    """The ``behaviour:`` section of a tabular project file."""

    invariance: list[Invariance] = Field(default_factory=list)
    direction: list[Direction] = Field(default_factory=list)
    cases: list[Case] = Field(default_factory=list)
