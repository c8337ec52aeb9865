"""Check a registered version's files against its manifest by hand, or sign an old one.

Loading checks on its own (:mod:`mlcycle.registry.loading`); this is ``mlcycle models
verify``: every differing file listed, not only the first. A version registered without
a manifest (before manifests, or outside mlcycle) does not load until someone who has
checked its files records one from them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcycle.core.errors import Conflict, ModelError
from mlcycle.registry.manifest import (
    MANIFEST_TAG,
    Difference,
    compare,
    digest_folder,
    download,
    encode,
    no_manifest_error,
    recorded_manifest,
)
from mlcycle.registry.ops import resolve
from mlcycle.registry.refs import ModelRef


@dataclass(frozen=True)
class Verification:
    name: str
    version: str
    files: int  # files the manifest names
    differences: list[Difference] = field(default_factory=list)
    recorded: bool = False  # the manifest was recorded now, from the stored files

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "ok": self.ok,
            "files": self.files,
            "recorded": self.recorded,
            "differences": [{"path": d.path, "problem": d.problem} for d in self.differences],
        }


def verify_files(ref: str) -> Verification:
    """Compare every stored file of the version ``ref`` names with its manifest."""
    info = resolve(ModelRef.parse(ref))
    expected = recorded_manifest(info.name, info.version)
    if expected is None:
        raise no_manifest_error(info.name, info.version)
    found = _stored_digests(info.name, info.version)
    return Verification(info.name, info.version, len(expected), compare(expected, found))


def record_manifest(ref: str) -> Verification:
    """Record the manifest of a version that has none, from its files as stored now."""
    from mlflow import MlflowClient

    info = resolve(ModelRef.parse(ref))
    if recorded_manifest(info.name, info.version) is not None:
        raise Conflict(
            f"Model {info.name} version {info.version} already has a manifest, which is "
            f"never replaced; check it with: mlcycle models verify {info.name}/{info.version}."
        )
    found = _stored_digests(info.name, info.version)
    if not found:
        raise ModelError(f"Model {info.name} version {info.version} has no files to record.")
    MlflowClient().set_model_version_tag(info.name, info.version, MANIFEST_TAG, encode(found))
    return Verification(info.name, info.version, len(found), recorded=True)


def _stored_digests(name: str, version: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="mlcycle-verify-") as tmp:
        return digest_folder(download(name, version, Path(tmp)))
