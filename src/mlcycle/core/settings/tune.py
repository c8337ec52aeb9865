"""Hyperparameter search settings (``mlcycle tune``).

``Settings.tune`` is a :class:`TuneSettings`. The search space is written as in a space
file, one entry per parameter of the model's family (left out: the family's default
space); each entry's own values say what it is::

    tune:
      space:                                  # a scikit-learn RandomForestClassifier
        n_estimators: {low: 50, high: 400, step: 50}  # whole bounds: an integer range
        min_impurity_decrease: {low: 0.0, high: 0.1}  # a decimal bound: a float range
        max_features: [sqrt, log2, 1.0]               # a list: a choice
        criterion: entropy                            # a value: fixed for every trial
      metric: f1_macro                        # default: the task's headline metric
      trials: 20

The family checks every bound and choice before the first trial (a parameter the
estimator does not have, a value it refuses). A grid search is a ``--grid`` file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Which way a search moves its metric (Optuna's word).
Direction = Literal["maximize", "minimize"]


class TuneSettings(BaseModel):
    """Every knob of the search; the command-line options override a few of them."""

    model_config = ConfigDict(extra="forbid")  # a misspelt knob is an error, not ignored

    # None: the family's default space.
    space: dict[str, Any] | None = None
    # None: the task's headline metric; the direction follows from the metric.
    metric: str | None = None
    direction: Direction | None = None
    trials: int = Field(20, ge=0)
    workers: int = Field(1, ge=1, le=64)
    study: str | None = None  # default: "<experiment>-tune"
    storage: str | None = None  # default: a journal file under the project home
    seed: int = 42
    # Threads per trial (fastText's ``thread``, the OpenMP/BLAS pools of scikit-learn;
    # 0: one per core). One: trials run in parallel across workers instead, which scales
    # better than threads inside one fit and keeps single-worker runs repeatable.
    thread: int = Field(1, ge=0)
    validation_size: float = Field(0.2, gt=0.0, lt=1.0)
    prune: bool | None = None  # None: on for TPE, off for a grid
    proxy_fraction: float = Field(0.25, gt=0.0, lt=1.0)
    pruner_startup_trials: int = Field(5, ge=0)
    heartbeat_interval: int = Field(10, ge=1)
    grace_period: int = Field(30, ge=2)
    max_retry: int = Field(2, ge=0)
