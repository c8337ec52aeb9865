"""Hyperparameter search settings (``mlcycle tune``).

Kept apart from ``settings.py`` like the registry's; ``Settings.tune`` is a
:class:`TuneSettings`. The search space is written as in a space file, one entry per
fastText parameter::

    tune:
      space:
        dim: {low: 25, high: 200, step: 25}   # an integer range
        lr: {low: 0.05, high: 1.0, log: true} # a float range, sampled on a log scale
        loss: [ova, softmax, hs]              # a choice
        epoch: 10                             # fixed for every trial
      trials: 20
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Wide enough to matter, narrow enough that one trial stays within seconds to a minute
# on the synthetic set: the seed's "accuracy against dim" exercise is the dim axis.
DEFAULT_TUNE_SPACE: dict[str, Any] = {
    "dim": {"low": 25, "high": 200, "step": 25},
    "lr": {"low": 0.05, "high": 1.0, "log": True},
    "epoch": {"low": 5, "high": 40, "step": 5},
    "wordNgrams": {"low": 1, "high": 3},
    "minn": {"low": 2, "high": 4},
    "maxn": {"low": 3, "high": 6},
    "minCount": {"low": 1, "high": 5},
    "bucket": [50_000, 100_000, 200_000],
    "loss": ["ova", "softmax", "hs"],
}


class TuneSettings(BaseModel):
    """Every knob of the search; the command-line options override a few of them."""

    model_config = ConfigDict(extra="forbid")  # a misspelt knob is an error, not ignored

    space: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_TUNE_SPACE))
    metric: str = "accuracy_top1"
    direction: Literal["maximize", "minimize"] = "maximize"
    trials: int = Field(20, ge=0)
    workers: int = Field(1, ge=1, le=64)
    study: str | None = None  # default: "<experiment>-tune"
    storage: str | None = None  # default: a journal file under the project home
    seed: int = 42
    # One thread per trial: trials run in parallel across workers instead, which scales
    # better than Hogwild threads inside one fit and keeps single-worker runs repeatable.
    thread: int = Field(1, ge=0)
    validation_size: float = Field(0.2, gt=0.0, lt=1.0)
    prune: bool | None = None  # None: on for TPE, off for a grid
    proxy_fraction: float = Field(0.25, gt=0.0, lt=1.0)
    pruner_startup_trials: int = Field(5, ge=0)
    heartbeat_interval: int = Field(10, ge=1)
    grace_period: int = Field(30, ge=2)
    max_retry: int = Field(2, ge=0)
