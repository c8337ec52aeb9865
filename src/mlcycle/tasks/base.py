"""What every task says: its columns, how it splits, evaluates and judges a model.

A task is the shape of a problem (text classification, tabular classification,
regression), independent of the model family that solves it. Training, the promotion
gates, serving and monitoring ask the project's task these questions instead of
assuming codes and texts.

Datasets reach a task in one canonical layout: the feature columns under their own
names (``text`` for the text task) and the target as ``label``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from mlcycle.core.tabular import TaskKind
from mlcycle.tasks.labels import Nomenclature, nomenclature

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.core.settings.registry import BehaviourGate

LABEL = "label"


@dataclass(frozen=True)
class Evaluation:
    """A model's figures on labelled rows, and the tables the artifacts are drawn from."""

    metrics: dict[str, float]
    report: pd.DataFrame | None = None  # classification: one row per class
    confusion: pd.DataFrame | None = None  # classification: true x predicted counts
    residuals: pd.DataFrame | None = None  # regression: truth, prediction per row
    # Calibrated classifiers: threshold, coverage, precision of the top-1 probability.
    coverage: pd.DataFrame | None = None
    # Metrics that could not be computed on these rows, and why (never a made-up number).
    absent: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path) -> list[Path]:
        """Write ``metrics.json`` and the report, confusion, residual and
        coverage-precision artifacts."""
        from mlcycle.tasks.plots import confusion_png, coverage_png, residual_png

        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "metrics.json"]
        written[0].write_text(json.dumps(self.metrics, indent=2))
        if self.report is not None:
            written.append(folder / "classification_report.csv")
            self.report.to_csv(written[-1], float_format="%.4f")
        if self.confusion is not None:
            written.append(confusion_png(self.confusion, folder / "confusion.png"))
        if self.residuals is not None:
            rows = self.residuals
            written.append(
                residual_png(rows["truth"], rows["prediction"], folder / "residuals.png")
            )
        if self.coverage is not None:
            written.append(folder / "coverage_precision.csv")
            self.coverage.to_csv(written[-1], index=False, float_format="%.4f")
            png = folder / "coverage_precision.png"
            written.append(coverage_png(self.coverage, self.metrics, png))
        return written


@dataclass(frozen=True)
class BehaviourReport:
    """Shares of behaviour checks passed, and examples of what failed."""

    invariance: float
    functionality: float
    broken: list[str] = field(default_factory=list)
    direction: float | None = None  # tabular tasks with direction checks
    # How many checks each share stands on; a kind with 0 was not run (its share is 1.0
    # so it never refuses, and the gate says "none"). A kind not named: unknown.
    counts: dict[str, int] = field(default_factory=dict)


class Task(ABC):
    """One kind of problem; built from the project's settings."""

    name: ClassVar[str]
    kind: ClassVar[TaskKind]
    default_family: ClassVar[str]
    # Metrics the champion gate compares and tuning optimises (the first) by default.
    headline: ClassVar[tuple[str, ...]]
    # Metrics where a lower value is better (errors, losses); all others go up.
    lower_is_better: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # The text column of a text task (canonical name); None for tabular tasks.
    text_column: ClassVar[str | None] = None
    has_synthetic: ClassVar[bool] = False

    @property
    def target(self) -> str:
        """The target column as the user's files name it."""
        return self.settings.data.target

    @property
    def target_column(self) -> str:
        """The target's column in canonical frames (``label``; tabular: its own name)."""
        return LABEL

    def prediction_width(self, model: Any) -> int:
        """How many ranked labels evaluation asks a model for (top-5 accuracy needs 5)."""
        return 5

    @property
    def categorical_columns(self) -> list[str]:
        """The categorical columns a text task's model reads beside the text (none)."""
        return []

    def columns(self) -> list[str] | None:
        """The canonical columns training reads (None: every column of the dataset)."""
        features = self.settings.data.features
        return None if features is None else [*features, LABEL]

    def synthetic(self, rows: int, seed: int, drift: bool = False) -> pd.DataFrame | None:
        """A generated data set in the user's file layout, where the task has one
        (``drift``: shifted as production traffic drifts)."""
        return None

    def higher_is_better(self, metric: str) -> bool:
        return metric not in self.lower_is_better

    @abstractmethod
    def metric_names(self) -> list[str]:
        """The metrics :meth:`evaluate` computes."""

    @abstractmethod
    def default_minimums(self, truth: np.ndarray) -> dict[str, float]:
        """Quality-gate floors (ceilings for lower-is-better metrics) when none are set,
        for a holdout whose targets are ``truth``."""

    @abstractmethod
    def inputs(self, frame: pd.DataFrame) -> Any:
        """The model's input for the rows of a canonical frame."""

    def truth(self, frame: pd.DataFrame) -> np.ndarray:
        """The target of the rows of a canonical frame."""
        return frame[self.target_column].to_numpy()

    @abstractmethod
    def split(self, frame: pd.DataFrame, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
        """Row indices of the training and evaluation parts (seeded)."""

    @abstractmethod
    def evaluate(self, truth: np.ndarray, prediction: Any) -> Evaluation:
        """Score a model's prediction of rows against their truth."""

    @abstractmethod
    def behaviour(self, model: Any, frame: pd.DataFrame, config: BehaviourGate) -> BehaviourReport:
        """Invariance and minimum-functionality checks of a model."""

    @property
    def nomenclature(self) -> Nomenclature | None:
        """The hierarchy the labels belong to (``data.nomenclature``) at their level
        (``data.label_level``), if any."""
        return nomenclature(self.settings.data.nomenclature, self.settings.data.label_level)

    def label_name(self, label: str) -> str | None:
        """The official name of a label, when its nomenclature knows it."""
        found = self.nomenclature
        return found.label(label) if found is not None else None

    def label_parents(self, label: str) -> dict[str, tuple[str, str]]:
        """The ``(code, official name)`` of each level above a label, coarsest first
        (``{"section": ("I", "Hébergement et restauration"), ...}``); empty without a
        nomenclature or for a label it does not know."""
        found = self.nomenclature
        return dict(found.parents(label)) if found is not None else {}

    def normalise_label(self, raw: str) -> str | None:
        """A true label as a client sends it, in canonical form; None when it is invalid."""
        found = self.nomenclature
        if found is not None:
            return found.normalise(raw)
        text = raw.strip()
        if self.settings.data.normalise_labels:
            text = "".join(text.replace(".", " ").split()).upper()
        return text or None

    def label_description(self) -> str:
        """What a valid label is, for messages: ``a <nomenclature> code``."""
        found = self.nomenclature
        return f"a {found.name} code" if found is not None else "a non-empty label"

    def label_pattern(self) -> str:
        """A regular expression of the true labels a client may send (API schemas)."""
        found = self.nomenclature
        return found.written_pattern if found is not None else r"\S"

    def curated_inputs(self) -> pd.DataFrame | None:
        """The inputs of the behaviour gate's cases (canonical layout): the frozen holdout
        never takes them, so models can learn them."""
        return None

    def showcase(self) -> list[Any] | None:
        """A few inputs worth showing the answers to (``mlcycle demo``), where the task
        knows some; None: the demo shows its first rows of traffic."""
        return None

    def single_inputs(self, frame: pd.DataFrame, count: int) -> Sequence[Any]:
        """Up to ``count`` one-row inputs (the latency gate times them one by one)."""
        return [self.inputs(frame.iloc[[i]]) for i in range(min(count, len(frame)))]
