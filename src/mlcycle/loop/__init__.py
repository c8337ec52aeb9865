"""The loop: what strings the lifecycle stages together, above every stage.

- :mod:`~mlcycle.loop.retrain`: ``mlcycle retrain``, from monitoring back to a promoted
  model (:mod:`~mlcycle.loop.training_set` builds its data, with
  :mod:`~mlcycle.loop.labelled` for the feedback of tabular tasks;
  :mod:`~mlcycle.loop.mlproject` retrains models trained by the user's own code).
- :mod:`~mlcycle.loop.demo`: the steps of ``mlcycle demo``, on an example project of
  :mod:`~mlcycle.loop.examples`, with the HTTP client of :mod:`~mlcycle.loop.traffic`.
- :mod:`~mlcycle.loop.move_in`: ``mlcycle server import``, an embedded store copied into
  the team server (datasets through the server layer, models through the registry).
- :mod:`~mlcycle.loop.scaffold`: ``mlcycle init``, a new project from the packaged copier
  template (``templates/project``), with columns, sample and behaviour cases read from
  the data (:mod:`~mlcycle.loop.scaffold_data`) or wrapping an MLflow model
  (:mod:`~mlcycle.loop.scaffold_model`).

Submodules are imported where used (they import the stages: pandas, MLflow).
"""

__all__ = [
    "demo",
    "examples",
    "labelled",
    "mlproject",
    "move_in",
    "retrain",
    "scaffold",
    "scaffold_data",
    "scaffold_model",
    "traffic",
    "training_set",
]
