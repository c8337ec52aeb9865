"""What a step's cache key is made of: its inputs as they are now, and its code.

A fingerprint names one state of a reference: a file's content digest, a dataset
version (``NAME@V#DIGEST``), a registered model version (``NAME/V``). Two runs of a
step with the same key (definition, code, input fingerprints) would do the same work.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from mlcycle import __version__
from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.files import file_sha256
from mlcycle.core.settings import PipelineStep, Settings, parse_reference

# The settings sections a built-in step's work depends on (its "code" besides mlcycle's).
_SECTIONS = {
    "data-add": ("data",),
    "validate": ("data",),
    "train": ("model", "data", "train"),
    "evaluate": ("registry",),
    "gates": ("registry",),
    "promote": ("registry",),
}


def current(ref: str, project_dir: Path, settings: Settings) -> str | None:
    """The fingerprint of ``ref`` as it is now; None when it does not exist."""
    kind, value = parse_reference(ref)
    if kind == "file":
        return file_digest(project_dir / value)
    if kind == "dataset":
        return _latest_dataset(value, settings)
    return _latest_model(value)


def file_digest(path: Path) -> str | None:
    """sha256 of a file, or of a folder's files and their names; None if absent."""
    if not path.exists():
        return None
    if not path.is_dir():
        return "sha256:" + file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}\0{file_sha256(file)}\n".encode())
    return "sha256:" + digest.hexdigest()


def _latest_dataset(name: str, settings: Settings) -> str | None:
    from mlcycle.data.store import list_versions

    with contextlib.suppress(NotFound, InvalidInput):
        versions = list_versions(name, settings)
        if versions:
            last = max(versions, key=lambda v: v.version)
            return f"{last.name}@{last.version}#{last.digest}"
    return None


def _latest_model(name: str) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):
        found = MlflowClient().search_model_versions(f"name = '{name}'")
        if found:
            return f"{name}/{max(int(v.version) for v in found)}"
    return None


def dataset_ref(fingerprint: str) -> str:
    """``NAME@V`` of a dataset fingerprint."""
    return fingerprint.split("#", 1)[0]


def model_version(fingerprint: str) -> tuple[str, str]:
    """(name, version) of a model fingerprint."""
    name, version = fingerprint.rsplit("/", 1)
    return name, version


def code_digest(step: PipelineStep, project_dir: Path, settings: Settings) -> str:
    """What the step runs: mlcycle and its settings, the function's module, the command
    and its scripts."""
    if step.uses is not None:
        sections = {s: getattr(settings, s).model_dump(mode="json") for s in _SECTIONS[step.uses]}
        return _digest({"mlcycle": __version__, "settings": sections})
    if step.function is not None:
        return _digest({"module": file_digest(module_file(step.function))})
    scripts = {path: file_digest(project_dir / path) for path in step.code}
    for path, digest in scripts.items():
        if digest is None:
            raise InvalidInput(f"The command step's code file {path} does not exist.")
    return _digest({"command": step.command, "code": scripts})


def module_file(function: str) -> Path:
    """The source file of ``module:name``'s module.

    Raises:
        InvalidInput: no such module.
    """
    module = function.split(":", 1)[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise InvalidInput(
            f"Function {function}: there is no module {module} (looked in the project "
            "folder and the installed packages)."
        )
    return Path(spec.origin)


def step_key(step: PipelineStep, code: str, inputs: dict[str, str | None]) -> str:
    """The cache key: same key, same work."""
    return _digest({"step": step.model_dump(mode="json"), "code": code, "inputs": inputs})


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
