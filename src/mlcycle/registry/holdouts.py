"""Which frozen holdout a version is judged on, and whether another version left it out.

A version names its holdout in its tags (``mlcycle.holdout_dataset``, ``_version`` and
``_digest``): the one its training left out (the holdout of the dataset it was trained
on), or the one ``models import --holdout`` froze for it. The gates judge the candidate
on that holdout and compare the champion on the same rows; when the champion left
another holdout out (it was trained on another dataset, or before a redraw), the
comparison says it may have trained on some of them instead of comparing silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlcycle.core.settings import Settings
from mlcycle.data.holdout import DATASET_TAG, DIGEST_TAG, VERSION_TAG, Holdout, find_holdout
from mlcycle.registry.ops import VersionInfo

HOLDOUT_TAGS = (DATASET_TAG, VERSION_TAG, DIGEST_TAG, "mlcycle.holdout_run")


@dataclass(frozen=True)
class Judging:
    """The holdout a version is judged on, or why there is none."""

    holdout: Holdout | None
    problem: str = ""


def judging_holdout(info: VersionInfo, settings: Settings) -> Judging:
    """The holdout ``info`` names, from the tracking store."""
    dataset = info.tags.get(DATASET_TAG)
    if not dataset:
        return Judging(
            None,
            f"version {info.version} names no frozen holdout (trained before holdouts "
            "belonged to datasets, or imported without one); train it again, or import it "
            "with --holdout NAME@V",
        )
    number = int(info.tags.get(VERSION_TAG) or 0) or None
    found = find_holdout(dataset, settings, number)
    if found is None:
        return Judging(
            None,
            f"the holdout of {dataset} (version {number}) that version {info.version} "
            "names is not in this store; mlcycle models copy brings it with the version",
        )
    return Judging(found)


def unseen_note(info: VersionInfo, holdout: Holdout) -> str | None:
    """Why version ``info`` may have trained on rows of ``holdout``; None if it left
    exactly these rows out."""
    dataset = info.tags.get(DATASET_TAG)
    if dataset == holdout.dataset and info.tags.get(DIGEST_TAG) == holdout.digest:
        return None
    seen = "it may have trained on some of these rows"
    if not dataset:
        return f"version {info.version} names no holdout it left out: {seen}"
    if dataset != holdout.dataset:
        trained = info.tags.get("mlcycle.dataset_ref") or info.tags.get("mlcycle.dataset_name")
        on = f"was trained on {trained}, another dataset" if trained else "is of another dataset"
        return f"version {info.version} {on} (it left out the holdout of {dataset}): {seen}"
    left = info.tags.get(VERSION_TAG, "?")
    return (
        f"version {info.version} left out version {left} of the holdout of {dataset}, "
        f"not version {holdout.version}: {seen}"
    )


def inherited_tags(versions: list[VersionInfo], exclude: str) -> dict[str, str]:
    """The holdout tags of the newest version (other than ``exclude``) that has them: an
    imported version given no holdout is judged as its model's last one was."""
    for info in versions:
        if info.version != exclude and info.tags.get(DATASET_TAG):
            return {tag: info.tags[tag] for tag in HOLDOUT_TAGS if tag in info.tags}
    return {}
