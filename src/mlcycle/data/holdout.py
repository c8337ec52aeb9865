"""Frozen holdouts: one per dataset, stored versioned in the tracking store.

A holdout belongs to a dataset (its lineage: a stored dataset's name, or a data file's
name), not to a model: it is drawn from the first version of the dataset a model is
trained on and reused for its later versions, so every model of that data is judged on
the same rows, which none of them was trained on. Training drops every row whose input
is in the holdout (the same input as the leakage check means it,
:func:`mlcycle.data.leakage.input_keys`). The holdout is drawn from the rows whose input
occurs once in the version, so the exclusion removes exactly the holdout rows there,
not every ``coiffeur`` of the set (a frequent short text held out would be missing from
training altogether). Inputs the behaviour gate curates never enter it, so models can
learn them. ``mlcycle models holdout redraw`` draws a new version on purpose.

Each holdout is ``holdout/holdout.parquet`` in a run of the governance experiment,
tagged with its dataset, version, digest and source; a team server shares it like any
artifact. A holdout counts only once its run finished: a process killed while storing
one leaves nothing that is taken for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcycle.core.lock import registry_lock
from mlcycle.core.settings import Settings
from mlcycle.core.settings.registry import HoldoutSettings
from mlcycle.core.tracking import USER_TAG, acting_user, ensure_experiment
from mlcycle.data.leakage import input_keys

LABEL = "label"
# The key of a text with nothing left once normalised ("123 !!!"): never held out.
_EMPTY_TEXT_KEY = int(input_keys(pd.DataFrame({"text": [""]}), "text", LABEL)[0])

ARTIFACT = "holdout/holdout.parquet"
_KIND = "mlcycle.kind"
DATASET_TAG = "mlcycle.holdout_dataset"
VERSION_TAG = "mlcycle.holdout_version"
DIGEST_TAG = "mlcycle.holdout_digest"
_SOURCE = "mlcycle.holdout_source"
_ROWS = "mlcycle.holdout_rows"


@dataclass(frozen=True)
class Holdout:
    """Rows (canonical layout) never trained on, with their identity in the store."""

    dataset: str  # the lineage it belongs to
    version: int
    digest: str
    run_id: str
    frame: pd.DataFrame
    source: str = ""  # what it was drawn from: sirene@1, a file, a dataset version frozen

    def keys(self, text_column: str | None, target: str = LABEL) -> np.ndarray:
        """The input keys of the holdout's rows (:func:`input_keys`)."""
        return input_keys(self.frame, text_column, target)

    def tags(self) -> dict[str, str]:
        """Lineage tags for a version that is judged on this holdout (and, trained by
        mlcycle, left it out)."""
        return {
            DATASET_TAG: self.dataset,
            VERSION_TAG: str(self.version),
            DIGEST_TAG: self.digest,
            "mlcycle.holdout_run": self.run_id,
        }

    def summary(self) -> dict[str, Any]:
        """What it is, in a few fields (gate reports, ``--json`` outputs)."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "rows": len(self.frame),
            "source": self.source,
            "digest": self.digest,
        }

    def describe(self) -> str:
        """``the holdout of sirene (version 1, 85 rows drawn from sirene@1)``."""
        drawn = f" from {self.source}" if self.source else ""
        return (
            f"the holdout of {self.dataset} (version {self.version}, "
            f"{len(self.frame):,} rows{drawn})"
        )


def is_held_out(keys: np.ndarray, held: np.ndarray) -> np.ndarray:
    """A boolean mask: which rows' input keys are among the holdout's."""
    if len(held) == 0:
        return np.zeros(len(keys), dtype=bool)
    return np.isin(keys, held)


def ensure_holdout(
    dataset: str,
    frame: pd.DataFrame,
    keys: np.ndarray,
    curated: np.ndarray,
    settings: Settings,
    source: str = "",
) -> Holdout:
    """The dataset's holdout; drawn from ``frame`` (one of its versions) if it has none.

    Args:
        dataset: The lineage: a stored dataset's name, or a data file's.
        frame: The training data (canonical layout).
        keys: Each row's input key (:func:`input_keys`).
        curated: Keys of inputs the behaviour gate curates (never held out).
        settings: The project's settings.
        source: What ``frame`` is (``sirene@1``, a file), recorded with the holdout.
    """
    found = find_holdout(dataset, settings)
    if found is not None:
        return found
    with _lock(dataset, settings):
        found = find_holdout(dataset, settings)  # another process may have won the race
        if found is not None:
            return found
        held = draw(frame, keys, curated, settings.registry.holdout)
        return _store(dataset, held, settings, 1, source)


def redraw_holdout(
    dataset: str,
    frame: pd.DataFrame,
    keys: np.ndarray,
    curated: np.ndarray,
    settings: Settings,
    source: str = "",
) -> tuple[Holdout, Holdout | None]:
    """Draw the dataset's next holdout version from ``frame``; it and the one it retires.

    Each version draws with its own seed (``seed + version - 1``), so redrawing from the
    same data gives other rows. Versions trained before keep the holdout they left out.
    """
    with _lock(dataset, settings):
        previous = find_holdout(dataset, settings)
        version = previous.version + 1 if previous is not None else 1
        config = settings.registry.holdout
        config = config.model_copy(update={"seed": config.seed + version - 1})
        held = draw(frame, keys, curated, config)
        return _store(dataset, held, settings, version, source), previous


def freeze_holdout(
    dataset: str, frame: pd.DataFrame, settings: Settings, source: str = ""
) -> tuple[Holdout, bool]:
    """Freeze ``frame`` (rows a model never saw) as the dataset's holdout, if it has none.

    For models trained elsewhere (``mlcycle models import --holdout NAME@V``): their
    training data is unknown here, so the rows given are the holdout, not a draw from
    them (at most ``registry.holdout.max_rows``, a seeded sample). Returns the dataset's
    holdout and whether these rows became it (False: it had one, which stays frozen).
    """
    found = find_holdout(dataset, settings)
    if found is not None:
        return found, False
    with _lock(dataset, settings):
        found = find_holdout(dataset, settings)
        if found is not None:
            return found, False
        limit = settings.registry.holdout.max_rows
        if len(frame) > limit:
            frame = frame.sample(n=limit, random_state=settings.registry.holdout.seed)
        return _store(dataset, frame.reset_index(drop=True), settings, 1, source), True


def _lock(dataset: str, settings: Settings) -> Any:
    return registry_lock(f"holdout.{dataset}", settings.registry.lock_timeout_s)


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


def _store(
    dataset: str, frame: pd.DataFrame, settings: Settings, version: int, source: str
) -> Holdout:
    """Store the rows as the dataset's holdout ``version``; it counts once the run finished."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = ensure_experiment(settings.registry.governance_experiment, settings)
    digest = _digest(frame)
    tags = {
        _KIND: "holdout",
        DATASET_TAG: dataset,
        VERSION_TAG: str(version),
        DIGEST_TAG: digest,
        _ROWS: str(len(frame)),
        _SOURCE: source,
        "mlflow.runName": f"holdout-{dataset}-v{version}",
        USER_TAG: acting_user(),  # who drew (or froze) it
    }
    run_id = client.create_run(experiment, tags=tags).info.run_id
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "holdout.parquet"
            frame.to_parquet(path, index=False)
            client.log_artifact(run_id, str(path), "holdout")
    except BaseException:
        with contextlib.suppress(Exception):  # the run is left unfinished either way
            client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)  # the commit: only finished runs are holdouts
    return Holdout(dataset, version, digest, run_id, frame, source)


def find_holdout(dataset: str, settings: Settings, version: int | None = None) -> Holdout | None:
    """The dataset's current holdout (or its ``version``) in the tracking store, or None."""
    return _latest(_holdout_runs(settings), dataset, version)


def current_holdouts(settings: Settings) -> list[Holdout]:
    """Every dataset's current holdout, by dataset name."""
    runs = _holdout_runs(settings)
    names = sorted({run.data.tags.get(DATASET_TAG, "") for run in runs} - {""})
    return [found for name in names if (found := _latest(runs, name)) is not None]


def _latest(runs: list[Any], dataset: str, version: int | None = None) -> Holdout | None:
    """The dataset's highest holdout version among ``runs`` (or ``version``), or None."""
    mine = [r for r in runs if r.data.tags.get(DATASET_TAG) == dataset]
    if version is not None:
        mine = [r for r in mine if int(r.data.tags[VERSION_TAG]) == version]
    if not mine:
        return None
    # The highest version wins; within one, the earliest run (a lost race leaves a later one).
    return _holdout(max(mine, key=lambda r: (int(r.data.tags[VERSION_TAG]), -r.info.start_time)))


def _holdout_runs(settings: Settings) -> list[Any]:
    """The finished holdout runs of the governance experiment."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.registry.governance_experiment)
    if experiment is None:
        return []
    return list(
        client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`{_KIND}` = 'holdout' and attributes.status = 'FINISHED'",
            max_results=10_000,
        )
    )


def _holdout(run: Any) -> Holdout:
    from mlflow import MlflowClient

    tags = run.data.tags
    frame = _download(MlflowClient().tracking_uri, run.info.run_id)
    return Holdout(
        tags[DATASET_TAG], int(tags[VERSION_TAG]), tags[DIGEST_TAG], run.info.run_id, frame,
        tags.get(_SOURCE, ""),
    )  # fmt: skip


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
    stored = _store(holdout.dataset, holdout.frame, settings, holdout.version, holdout.source)
    if stored.digest != holdout.digest:  # same rows give the same digest, else a bug
        raise RuntimeError("the copied holdout's digest differs from the source's")
    return stored
