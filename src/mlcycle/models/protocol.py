"""A model loaded from the registry, with its identity: what serving and the gates hold.

The prediction types every family's models return are in :mod:`mlcycle.core.predictions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServedModel:
    """A loaded model with its registry identity (``mlcycle.registry.loading`` makes them)."""

    name: str
    version: str
    model: Any  # follows mlcycle.core.predictions.Estimator
    model_uri: str
    task: str = "text-classification"  # versions logged before tasks were text classifiers
    family: str = "fasttext"
