"""Hyperparameter search with Optuna, every trial a nested MLflow run (``mlcycle tune``).

What other packages use: :func:`tune` with :class:`TuneOptions`, its
:class:`TuneResult`, the :class:`TuneStatus` a progress callback receives, and
:class:`TuneInterrupted` (Ctrl-C). One idea per module:

- ``search``: the command itself (parent run, trials, report, ``--register``);
- ``prepare``: options and settings checked into the plan, before any trial;
- ``space``: search spaces and grids, typed by their entries, checked by the family;
- ``objective``: one trial (validation split, proxy fit for pruning, nested run);
- ``study``: creating or joining a study; ``storage``: journal file or database;
- ``workers``: a worker's loop and the shared budget; ``pool``: local worker processes;
- ``runs``: MLflow runs and where Ctrl-C may land; ``watch``: progress;
  ``report``: best trial, importance, tables and plots.
"""

from mlcycle.train.tune.search import TuneInterrupted, TuneOptions, TuneResult, tune
from mlcycle.train.tune.watch import TuneStatus

__all__ = ["TuneInterrupted", "TuneOptions", "TuneResult", "TuneStatus", "tune"]
