"""Redrawing a dataset's frozen holdout on purpose (``mlcycle models holdout redraw``).

A dataset's holdout is drawn once, from the first version a model is trained on
(:mod:`mlcycle.data.holdout`). When that draw no longer fits (the dataset's data
changed in kind, the holdout was drawn from the wrong rows), a redraw takes a new
version from the dataset's latest version, with the behaviour gate's cases kept out as
at training. Models trained from then on leave the new rows out and are judged on them;
versions trained before keep the holdout they left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlcycle.core.settings import Settings
from mlcycle.data.holdout import Holdout, redraw_holdout
from mlcycle.data.store import DatasetRef, resolve
from mlcycle.tasks import task_of
from mlcycle.train.pipeline import SYNTHETIC, holdout_keys, load_training_data


@dataclass(frozen=True)
class Redrawn:
    """The holdout a redraw stored, and the one it retired (None: the first)."""

    holdout: Holdout
    previous: Holdout | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "holdout": self.holdout.summary(),
            "previous": self.previous.summary() if self.previous is not None else None,
        }


def redraw(dataset: str | None, settings: Settings) -> Redrawn:
    """Draw the next holdout of ``dataset`` (``NAME`` or ``NAME@V``, ``synthetic``), by
    default of the project's dataset (what ``mlcycle train`` would train on).

    Raises:
        NotFound: No stored dataset of that name (or version).
        InvalidInput: ``dataset`` cannot name a dataset.
    """
    if dataset not in (None, "", SYNTHETIC):
        dataset = resolve(DatasetRef.parse(dataset), settings).ref
    data = load_training_data(dataset, settings)
    keys, curated = holdout_keys(data, task_of(settings))
    drawn, previous = redraw_holdout(data.lineage, data.frame, keys, curated, settings, data.origin)
    return Redrawn(drawn, previous)
