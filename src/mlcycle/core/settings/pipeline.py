"""The project's pipeline: named steps, what each reads and writes, when it runs.

    pipeline:
      schedule: "0 4 * * 1"          # Argo CronWorkflow, or a crontab line
      steps:
        add: {uses: data-add, inputs: [file:data/customers.csv], outputs: [dataset:customers]}
        train: {uses: train, inputs: [dataset:customers], outputs: [model:churn]}
        report: {command: python report.py, inputs: [model:churn], outputs: [file:report.html],
                 code: [report.py]}
        promote: {uses: promote, inputs: [model:churn], params: {to: staging}}

A reference is ``KIND:VALUE`` with KIND ``file`` (a path, relative to the project
file's folder), ``dataset`` (a stored dataset's name) or ``model`` (a registered model's
name). Steps are ordered by what they read and write, never by their order here.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUILT_IN_STEPS = ("data-add", "validate", "train", "evaluate", "gates", "promote")
REFERENCE_KINDS = ("file", "dataset", "model")
_REFERENCE = re.compile(rf"^({'|'.join(REFERENCE_KINDS)}):(.+)$")
_STEP_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$")
_CRON_FIELD = re.compile(r"^[0-9*/,\-A-Za-z]+$")


def parse_reference(text: str) -> tuple[str, str]:
    """``KIND:VALUE`` as (kind, value).

    Raises:
        ValueError: not a reference of a known kind.
    """
    found = _REFERENCE.match(text.strip())
    if found is None:
        kinds = ", ".join(f"{k}:..." for k in REFERENCE_KINDS)
        raise ValueError(f"{text!r} is not a reference; write one of {kinds}")
    return found.group(1), found.group(2).strip()


class PipelineStep(BaseModel):
    """One step: a built-in (``uses``), a Python function (``function: module:name``)
    or a command; what it reads and writes, and its parameters."""

    model_config = ConfigDict(extra="forbid")

    uses: str | None = None
    function: str | None = None
    command: str | None = None
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    # Files a command step runs (its scripts): their content is part of its cache key.
    code: list[str] = Field(default_factory=list)

    @field_validator("inputs", "outputs")
    @classmethod
    def _references(cls, given: list[str]) -> list[str]:
        return [":".join(parse_reference(text)) for text in given]

    @field_validator("uses")
    @classmethod
    def _known(cls, uses: str | None) -> str | None:
        if uses is not None and uses not in BUILT_IN_STEPS:
            raise ValueError(f"unknown step {uses!r}; built-in steps: {', '.join(BUILT_IN_STEPS)}")
        return uses

    @field_validator("function")
    @classmethod
    def _importable_form(cls, function: str | None) -> str | None:
        if function is not None and not re.match(r"^[\w.]+:[\w.]+$", function):
            raise ValueError(f"function {function!r} must read module:name, e.g. mypkg.steps:clean")
        return function

    @model_validator(mode="after")
    def _one_kind(self) -> PipelineStep:
        kinds = [k for k in ("uses", "function", "command") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("a step needs exactly one of uses, function or command")
        return self

    @property
    def what(self) -> str:
        """What the step runs, in a few words."""
        return self.uses or self.function or f"command {self.command}"


class PipelineSettings(BaseModel):
    """The declared steps (none: the default pipeline) and their schedule."""

    model_config = ConfigDict(extra="forbid")

    steps: dict[str, PipelineStep] = Field(default_factory=dict)
    # Five-field cron line (minute hour day month weekday); None: run by hand or trigger.
    schedule: str | None = None

    @field_validator("steps")
    @classmethod
    def _names(cls, steps: dict[str, PipelineStep]) -> dict[str, PipelineStep]:
        for name in steps:
            if not _STEP_NAME.match(name):
                raise ValueError(
                    f"step name {name!r} must be lower-case letters, digits and dashes "
                    "(it names a pod on Argo)"
                )
        return steps

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str | None) -> str | None:
        if schedule is None:
            return None
        fields = schedule.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError(
                f"schedule {schedule!r} is not a five-field cron line, e.g. '0 4 * * 1'"
            )
        return " ".join(fields)
