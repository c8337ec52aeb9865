"""Integrity of stored models: the digest of every file, recorded in the registry.

Loading a registered model runs code from the artifact store (the pyfunc is logged from
code), so at registration the sha256 of every file of the model goes into a version tag.
The tag is the trust anchor: whoever can write artifacts cannot rewrite it. A version is
downloaded once, those very files are checked against the tag, and only then loaded.
MLflow accepts model-version tag values of up to 100,000 characters; a manifest of the
~30 files of a model takes about 3,000.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlcycle.core.errors import ModelError
from mlcycle.core.files import file_sha256
from mlcycle.core.tracking import no_progress_bar

MANIFEST_TAG = "mlcycle.manifest"
# Not part of a model: MLflow writes the name and version into every download of a
# registered model (nothing reads it back when loading), and Python and numba cache
# compiled code in __pycache__ folders. Caches are deleted from a copy before it is
# loaded, so a cache found in the store is never trusted.
_DOWNLOAD_NOTE = "registered_model_meta"
_CACHE_FOLDER = "__pycache__"


@dataclass(frozen=True)
class Difference:
    """A file that does not match the manifest: ``changed``, ``missing`` or ``unexpected``."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path} {self.problem}"


def digest_folder(folder: Path) -> dict[str, str]:
    """The sha256 of every file under ``folder``, by relative POSIX path."""
    manifest = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not _outside_model(relative):
            manifest[relative.as_posix()] = file_sha256(path)
    return manifest


def _outside_model(relative: Path) -> bool:
    return relative.as_posix() == _DOWNLOAD_NOTE or _CACHE_FOLDER in relative.parts


def compare(expected: dict[str, str], found: dict[str, str]) -> list[Difference]:
    """Every file that differs between a manifest and a folder's digests, by path."""
    differences = [
        Difference(path, "changed" if path in found else "missing")
        for path, digest in expected.items()
        if found.get(path) != digest
    ]
    differences += [Difference(path, "unexpected") for path in found if path not in expected]
    return sorted(differences, key=lambda d: d.path)


def encode(manifest: dict[str, str]) -> str:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"))


def manifest_of(model_uri: str) -> str:
    """The encoded manifest of the files stored at ``model_uri``, as MLflow stored them."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="mlcycle-manifest-") as tmp, no_progress_bar():
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        return encode(digest_folder(Path(local)))


def recorded_manifest(name: str, version: str) -> dict[str, str] | None:
    """The manifest the registry holds for a version; None when it holds none."""
    from mlflow import MlflowClient

    text = (MlflowClient().get_model_version(name, version).tags or {}).get(MANIFEST_TAG)
    if text is None:
        return None
    try:
        manifest = json.loads(text)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or not manifest:
        raise ModelError(
            f"Model {name} version {version} has an unreadable {MANIFEST_TAG} tag; "
            "register the model again."
        )
    return manifest


def no_manifest_error(name: str, version: str) -> ModelError:
    """The refusal for a version registered without a manifest."""
    return ModelError(
        f"Model {name} version {version} has no integrity manifest (registered outside "
        f"mlcycle or before manifests); check its files, then record one with: "
        f"mlcycle models verify {name}/{version} --record."
    )


def download_verified(name: str, version: str, folder: Path) -> Path:
    """Download a version into ``folder``, check every file; return the model folder.

    Raises:
        ModelError: No manifest, or a file changed, missing or unexpected.
    """
    expected = recorded_manifest(name, version)
    if expected is None:
        raise no_manifest_error(name, version)
    local = download(name, version, folder)
    differences = compare(expected, digest_folder(local))
    if differences:
        raise mismatch_error(name, version, differences)
    return local


def mismatch_error(name: str, version: str, differences: list[Difference]) -> ModelError:
    """The refusal for files that differ from the manifest, naming the first."""
    more = f", {len(differences)} files differ" if len(differences) > 1 else ""
    return ModelError(
        f"Model {name} version {version} does not match its integrity manifest "
        f"({differences[0]}{more}): its files may have been tampered with, so mlcycle "
        "will not load it."
    )


def download(name: str, version: str, folder: Path) -> Path:
    """Download a version's files into ``folder``, without the caches stored beside code."""
    import mlflow

    try:
        with no_progress_bar():
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version}", dst_path=str(folder)
                )
            )
    except Exception as exc:  # a missing or unreachable store: said once, for any cause
        raise ModelError(
            f"The files of model {name} version {version} could not be downloaded ({exc})."
        ) from None
    for cache in list(local.rglob(_CACHE_FOLDER)):
        shutil.rmtree(cache, ignore_errors=True)
    return local
