"""The reference of a served model: the profile of the dataset version it was trained on.

The model version's lineage tags (``mlcycle.dataset_ref``, copied from its training run)
name the dataset version; failing those, the run's dataset input does. A model trained
on a plain file or the synthetic set has no stored profile: the reference is then
absent, with the reason, and the report shows what needs none.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlcycle.core.errors import MlcycleError

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.data.profile import ReferenceProfile

_REF = re.compile(r"^(?P<name>[^@/\s]+)(?:@(?P<alias>[A-Za-z][\w-]*)|/(?P<version>\d+))?$")
_DATASET_TAG = "mlcycle.dataset_ref"
AUTO_CODING_METRIC = "auto_coding_threshold"  # logged by the training run


@dataclass(frozen=True)
class ServedReference:
    """Which model version a reference names and what it was trained on."""

    ref: str
    name: str
    version: str | None
    run_id: str | None
    dataset: str | None
    profile: ReferenceProfile | None
    reason: str | None  # why there is no profile
    # The training run's evaluation metrics (rmse, accuracy...): what live quality is
    # compared with.
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def auto_coding_threshold(self) -> float | None:
        """The auto-coding threshold the version's training set (for the project's target
        precision, on its calibrated probabilities); None for versions without one."""
        return self.metrics.get(AUTO_CODING_METRIC)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "version": self.version,
            "dataset": self.dataset,
            "profile": self.profile is not None,
            "reason": self.reason,
            "metrics": self.metrics,
        }


def served_reference(ref: str, settings: Settings) -> ServedReference:
    """The model version behind ``ref`` (``name@production``) and its dataset's profile.

    Never raises for a missing model or profile: the reason is returned instead, so a
    report can still show volume, confidence and accuracy.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mlcycle.core.tracking import raise_refusal, use_tracking

    match = _REF.match(ref.strip())
    if not match:
        return ServedReference(ref, ref, None, None, None, None, f"{ref!r} is not a model ref.")
    name = match["name"]
    use_tracking(settings)
    client = MlflowClient()
    try:
        if match["version"]:
            mv = client.get_model_version(name, match["version"])
        else:
            mv = client.get_model_version_by_alias(name, match["alias"] or "production")
    except MlflowException as exc:
        raise_refusal(exc)
        reason = f"No model version {ref} in the registry, so no reference to compare with."
        return ServedReference(ref, name, None, None, None, None, reason)
    run = _run_of(client, mv)
    metrics = dict(run.data.metrics) if run is not None else {}
    dataset = _dataset_of(mv, run)
    if dataset is None:
        missing = (
            f"{name} version {mv.version} was not trained on a stored dataset version, so it "
            "has no reference profile; train on one (mlcycle data add, then train --data "
            "NAME@V) to get drift against the training data."
        )
        return ServedReference(ref, name, str(mv.version), mv.run_id, None, None, missing, metrics)
    profile, unread = _profile(dataset, settings)
    version = str(mv.version)
    return ServedReference(ref, name, version, mv.run_id, dataset, profile, unread, metrics)


def _run_of(client: Any, mv: Any) -> Any:
    """The version's training run, or None (no run, or a run the store no longer has)."""
    from mlflow.exceptions import MlflowException

    if not mv.run_id:
        return None
    with contextlib.suppress(MlflowException):
        return client.get_run(mv.run_id)
    return None


def _dataset_of(mv: Any, run: Any) -> str | None:
    if (mv.tags or {}).get(_DATASET_TAG):
        return mv.tags[_DATASET_TAG]
    if run is None:
        return None
    if run.data.tags.get(_DATASET_TAG):
        return run.data.tags[_DATASET_TAG]
    for entry in run.inputs.dataset_inputs or []:
        name = entry.dataset.name
        if "@" in name and name.rsplit("@", 1)[1].isdigit():
            return name
    return None


def _profile(dataset: str, settings: Settings) -> tuple[ReferenceProfile | None, str | None]:
    from mlcycle.data.store import read_profile

    try:
        return read_profile(dataset, settings), None
    except MlcycleError as exc:
        return None, f"The profile of {dataset} could not be read ({exc.message})."
