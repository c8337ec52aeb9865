"""Pipelines: the project's steps as a DAG, run with a cache, drawn, and sent to Argo.

- :mod:`~mlcycle.loop.pipeline.graph`: the declared steps (or the default pipeline),
  their dependencies and run order, ``--from``/``--to`` selections.
- :mod:`~mlcycle.loop.pipeline.fingerprint`: the cache key of a step.
- :mod:`~mlcycle.loop.pipeline.steps`: running one step (built-in, function, command).
- :mod:`~mlcycle.loop.pipeline.record`: the runs in MLflow (one nested run per step).
- :mod:`~mlcycle.loop.pipeline.runner`: ``mlcycle pipeline run``.
- :mod:`~mlcycle.loop.pipeline.picture`: ``mlcycle pipeline show`` (text, SVG, HTML).
- :mod:`~mlcycle.loop.pipeline.schedule`: Argo, cron and monitoring triggers.
"""
