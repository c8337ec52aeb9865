"""The frozen holdout: drawn once per model, stored versioned in the tracking store.

Champion and candidate are compared on the same rows, which no version was trained
on: training drops every row whose input is in the holdout (the same input as the
leakage check means it, :func:`mlcycle.data.leakage.input_keys`). The holdout is
drawn from the rows whose input occurs once in the first data set, so the exclusion
removes exactly the holdout rows there, not every ``coiffeur`` of the set (a frequent
short text held out would be missing from training altogether). Inputs the behaviour
gate curates never enter it, so models can learn them.

It lives as ``holdout/holdout.parquet`` in a run of the governance experiment, tagged
with the model, a version and a digest; a team server shares it like any artifact.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mlcycle.core.lock import registry_lock
from mlcycle.core.settings import Settings
from mlcycle.core.settings.registry import HoldoutSettings
from mlcycle.core.tracking import ensure_experiment
from mlcycle.data.leakage import input_keys

LABEL = "label"
# The key of a text with nothing left once normalised ("123 !!!"): never held out.
_EMPTY_TEXT_KEY = int(input_keys(pd.DataFrame({"text": [""]}), "text", LABEL)[0])

ARTIFACT = "holdout/holdout.parquet"
_KIND = "mlcycle.kind"
_MODEL = "mlcycle.holdout_model"


@dataclass(frozen=True)
class Holdout:
    """Rows (canonical layout) never trained on, with their identity in the store."""

    model: str
    version: int
    digest: str
    run_id: str
    frame: pd.DataFrame

    def keys(self, text_column: str | None, target: str = LABEL) -> np.ndarray:
        """The input keys of the holdout's rows (:func:`input_keys`)."""
        return input_keys(self.frame, text_column, target)

    def tags(self) -> dict[str, str]:
        """Lineage tags for a training run that excluded this holdout."""
        return {
            "mlcycle.holdout_version": str(self.version),
            "mlcycle.holdout_digest": self.digest,
            "mlcycle.holdout_run": self.run_id,
        }


def is_held_out(keys: np.ndarray, held: np.ndarray) -> np.ndarray:
    """A boolean mask: which rows' input keys are among the holdout's."""
    if len(held) == 0:
        return np.zeros(len(keys), dtype=bool)
    return np.isin(keys, held)


def ensure_holdout(
    model: str, frame: pd.DataFrame, keys: np.ndarray, curated: np.ndarray, settings: Settings
) -> Holdout:
    """The model's holdout; drawn from ``frame`` if it has none yet.

    Args:
        model: The registered model's name.
        frame: The training data (canonical layout).
        keys: Each row's input key (:func:`input_keys`).
        curated: Keys of inputs the behaviour gate curates (never held out).
        settings: The project's settings.
    """
    found = find_holdout(model, settings)
    if found is not None:
        return found
    with registry_lock(f"{model}.holdout", settings.registry.lock_timeout_s):
        found = find_holdout(model, settings)  # another process may have won the race
        if found is not None:
            return found
        held = draw(frame, keys, curated, settings.registry.holdout)
        return _store(model, held, settings, version=1)


def freeze_holdout(model: str, frame: pd.DataFrame, settings: Settings) -> tuple[Holdout, bool]:
    """Freeze ``frame`` (rows the model never saw) as the model's holdout, if it has none.

    For models trained elsewhere (``mlcycle models import --holdout``): their training
    data is unknown here, so the rows given are the holdout, not a draw from them (at
    most ``registry.holdout.max_rows``, a seeded sample). Returns the model's holdout and
    whether these rows became it (False: it already had one, which stays frozen).
    """
    found = find_holdout(model, settings)
    if found is not None:
        return found, False
    with registry_lock(f"{model}.holdout", settings.registry.lock_timeout_s):
        found = find_holdout(model, settings)
        if found is not None:
            return found, False
        limit = settings.registry.holdout.max_rows
        if len(frame) > limit:
            frame = frame.sample(n=limit, random_state=settings.registry.holdout.seed)
        return _store(model, frame.reset_index(drop=True), settings, version=1), True


def draw(
    frame: pd.DataFrame, keys: np.ndarray, curated: np.ndarray, settings: HoldoutSettings
) -> pd.DataFrame:
    """A seeded sample of the rows whose input occurs once in ``frame``."""
    unique, counts = np.unique(keys, return_counts=True)
    once = np.isin(keys, unique[counts == 1])
    candidates = np.flatnonzero(once & ~np.isin(keys, curated) & (keys != _EMPTY_TEXT_KEY))
    size = min(len(candidates), settings.max_rows, round(len(frame) * settings.fraction))
    rng = np.random.default_rng(settings.seed)
    rows = np.sort(rng.choice(candidates, size=size, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def _digest(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def _store(model: str, frame: pd.DataFrame, settings: Settings, version: int) -> Holdout:
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = ensure_experiment(settings.registry.governance_experiment, settings)
    digest = _digest(frame)
    tags = {
        _KIND: "holdout",
        _MODEL: model,
        "mlcycle.holdout_version": str(version),
        "mlcycle.holdout_digest": digest,
        "mlcycle.holdout_rows": str(len(frame)),
        "mlflow.runName": f"holdout-{model}-v{version}",
    }
    run = client.create_run(experiment, tags=tags)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holdout.parquet"
        frame.to_parquet(path, index=False)
        client.log_artifact(run.info.run_id, str(path), "holdout")
    client.set_terminated(run.info.run_id)
    return Holdout(model, version, digest, run.info.run_id, frame)


def find_holdout(model: str, settings: Settings) -> Holdout | None:
    """The model's current holdout in the tracking store, or None."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.registry.governance_experiment)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{_KIND}` = 'holdout' and tags.`{_MODEL}` = '{model}'",
        order_by=["attributes.start_time ASC"],
    )
    if not runs:
        return None
    # The highest version wins; within one, the earliest run (a lost race leaves a later one).
    run = max(runs, key=lambda r: (int(r.data.tags["mlcycle.holdout_version"]), -r.info.start_time))
    frame = _download(client.tracking_uri, run.info.run_id)
    tags = run.data.tags
    return Holdout(
        model,
        int(tags["mlcycle.holdout_version"]),
        tags["mlcycle.holdout_digest"],
        run.info.run_id,
        frame,
    )


@lru_cache(maxsize=8)
def _download(tracking_uri: str, run_id: str) -> pd.DataFrame:
    """A holdout's rows; cached, as a stored holdout never changes."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=ARTIFACT, dst_path=tmp, tracking_uri=tracking_uri
        )
        return pd.read_parquet(local)


def store_copy(holdout: Holdout, settings: Settings) -> Holdout:
    """Store ``holdout`` as is in the current tracking store (copying across servers)."""
    stored = _store(holdout.model, holdout.frame, settings, holdout.version)
    if stored.digest != holdout.digest:  # same rows give the same digest, else a bug
        raise RuntimeError("the copied holdout's digest differs from the source's")
    return stored
