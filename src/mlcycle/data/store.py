"""Dataset versions: references, look-up, listing and reading back snapshots.

A version is immutable once claimed (see :mod:`mlcycle.data.catalog`); its files are
read in place from a local artifact store and downloaded once (verified against the
digest, then cached by digest under the project home) from a remote one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlcycle.core.errors import DataError, InvalidInput, NotFound
from mlcycle.core.private import private_dirs
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import no_progress_bar, raise_refusal
from mlcycle.data.catalog import ROLE_TAG, Catalog, open_catalog
from mlcycle.data.profile import ReferenceProfile
from mlcycle.data.snapshot import read_parquet, table_digest

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_REF = re.compile(r"^(?P<name>[^@\s]+?)(?:@(?P<version>[^@\s]*))?$")
TAG = "mlcycle.dataset."
DATA_FILE, PROFILE_FILE, METADATA_FILE = "data.parquet", "profile.json", "metadata.json"
QUARANTINE_FILE = "quarantine.parquet"
VERSION_ROLE = "dataset-version"


def check_name(name: str) -> str:
    """``name`` if it can name a dataset, else one clear ``InvalidInput``."""
    if not NAME.match(name):
        raise InvalidInput(
            f"{name!r} cannot name a dataset; use letters, digits, '.', '_' or '-' "
            "(at most 100, starting with a letter or digit)."
        )
    return name


@dataclass(frozen=True)
class DatasetRef:
    """``NAME@V``, ``NAME@latest`` or ``NAME`` (the latest version)."""

    name: str
    version: int | None = None  # None: the latest

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        match = _REF.match(text.strip())
        version = match["version"] if match else ""
        if not match or (version is not None and version != "latest" and not version.isdigit()):
            raise InvalidInput(
                f"{text!r} is not a dataset reference; write NAME@VERSION (sales@3) or NAME@latest."
            )
        number = int(version) if version and version.isdigit() else None
        return cls(check_name(match["name"]), number)

    def __str__(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else 'latest'}"


@dataclass(frozen=True)
class DatasetVersion:
    """One stored version: identity, headline facts (from its run's tags), location."""

    name: str
    version: int
    run_id: str
    digest: str
    rows: int
    labels: int
    source: str
    created_at: str
    artifact_uri: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def uri(self, file: str = DATA_FILE) -> str:
        """Where one of the version's files is stored (an MLflow artifact URI)."""
        return f"{self.artifact_uri.rstrip('/')}/{file}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ref": self.ref, "uri": self.uri()}


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _catalog(settings: Settings) -> Catalog | None:
    from mlcycle.core.tracking import use_tracking

    use_tracking(settings)
    return open_catalog(settings)


def list_versions(
    name: str | None = None, settings: Settings | None = None
) -> list[DatasetVersion]:
    """Every version (of one dataset, or of all), by name then version."""
    settings = settings or get_settings()
    catalog = _catalog(settings)
    if catalog is None:
        return []
    claims = catalog.claims()
    if name is not None:
        claims = {name: claims.get(name, {})}
    runs = _version_runs(catalog)
    out = []
    for dataset, versions in sorted(claims.items()):
        for number, run_id in sorted(versions.items()):
            if run_id in runs:
                out.append(_version(dataset, number, runs[run_id]))
    return out


def _version_runs(catalog: Catalog) -> dict[str, Any]:
    runs, token = {}, None
    while True:
        page = _client().search_runs(
            [catalog.experiment_id],
            filter_string=f"tags.`{ROLE_TAG}` = '{VERSION_ROLE}'",
            max_results=1000,
            page_token=token,
        )
        runs.update({run.info.run_id: run for run in page})
        token = page.token
        if not token:
            return runs


def _version(name: str, number: int, run: Any) -> DatasetVersion:
    tags = run.data.tags
    return DatasetVersion(
        name,
        number,
        run.info.run_id,
        tags.get(TAG + "digest", ""),
        int(tags.get(TAG + "rows", 0)),
        int(tags.get(TAG + "labels", 0)),
        tags.get(TAG + "source", ""),
        tags.get(TAG + "created_at", ""),
        run.info.artifact_uri,
    )


def resolve(ref: str | DatasetRef, settings: Settings | None = None) -> DatasetVersion:
    """The version a reference names, or one clear ``NotFound``."""
    from mlflow.exceptions import MlflowException

    settings = settings or get_settings()
    ref = DatasetRef.parse(ref) if isinstance(ref, str) else ref
    catalog = _catalog(settings)
    claims = catalog.claims() if catalog else {}
    versions = claims.get(ref.name)
    if not versions:
        known = ", ".join(sorted(claims)) or "none yet"
        raise NotFound(
            f"No dataset named {ref.name!r} (datasets: {known}); add it with "
            f"mlcycle data add FILE --name {ref.name}."
        )
    number = max(versions) if ref.version is None else ref.version
    if number not in versions:
        raise NotFound(
            f"Dataset {ref.name!r} has no version {number} (versions: "
            f"{', '.join(map(str, sorted(versions)))}); see mlcycle data list."
        )
    try:
        run = _client().get_run(versions[number])
    except MlflowException as exc:
        raise_refusal(exc)
        run = None
    if run is None or run.info.lifecycle_stage != "active":
        raise NotFound(f"Dataset version {ref.name}@{number} was deleted from MLflow.")
    return _version(ref.name, number, run)


def local_file(version: DatasetVersion, file: str, settings: Settings | None = None) -> Path:
    """A local path to one of the version's files: in place, or downloaded and cached."""
    parts = urllib.parse.urlsplit(version.artifact_uri)
    if parts.scheme in ("", "file"):
        path = Path(urllib.request.url2pathname(parts.path)) / file
        if not path.is_file():
            raise DataError(f"{version.ref} has no file {file} (expected at {path}).")
        return path
    settings = settings or get_settings()
    cached = settings.home.resolve() / "cache" / "datasets" / version.digest / file
    if not cached.is_file():
        _download(version, file, cached)
    return cached


def _download(version: DatasetVersion, file: str, target: Path) -> None:
    """Download into a private folder, check the snapshot's digest, rename into the cache."""
    import mlflow.artifacts

    private_dirs(target.parent)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, no_progress_bar():
        try:
            got = Path(mlflow.artifacts.download_artifacts(version.uri(file), dst_path=tmp))
        except Exception as exc:  # the artifact store's own errors vary by backend
            raise DataError(f"Could not download {file} of {version.ref} ({exc}).") from None
        if file == DATA_FILE and table_digest(read_parquet(got)) != version.digest:
            raise DataError(f"The stored snapshot of {version.ref} does not match its digest.")
        os.replace(got, target)
        shutil.rmtree(tmp, ignore_errors=True)


def read_table(
    ref: str | DatasetVersion, columns: list[str] | None = None, settings: Settings | None = None
) -> pa.Table:
    """The rows of a version (all columns, or only ``columns``)."""
    version = ref if isinstance(ref, DatasetVersion) else resolve(ref, settings)
    return read_parquet(local_file(version, DATA_FILE, settings), columns)


def read_metadata(version: DatasetVersion, settings: Settings | None = None) -> dict[str, Any]:
    """Everything recorded when the version was added (see ``data show``)."""
    path = local_file(version, METADATA_FILE, settings)
    return json.loads(path.read_text(encoding="utf-8"))


def read_profile(ref: str | DatasetVersion, settings: Settings | None = None) -> ReferenceProfile:
    """The reference profile of a version."""
    version = ref if isinstance(ref, DatasetVersion) else resolve(ref, settings)
    profile = ReferenceProfile.read(local_file(version, PROFILE_FILE, settings))
    return ReferenceProfile.from_dict({**profile.to_dict(), "dataset": version.ref})


def training_frame(
    version: DatasetVersion, columns: list[str] | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """The rows of a version as the training pipeline reads them (``columns``, else all)."""
    table = read_table(version, None, settings)
    missing = [c for c in columns or () if c not in table.column_names]
    if missing:
        raise DataError(
            f"Dataset {version.ref} has no column {missing[0]!r} (columns: "
            f"{', '.join(table.column_names)}); fix data.features in the project file."
        )
    return (table.select(columns) if columns is not None else table).to_pandas()


def find_training_dataset(data: str | None, settings: Settings) -> DatasetVersion | None:
    """The dataset version ``train --data`` means, or None for a file or the synthetic set.

    Nothing given: the latest version of the project's dataset, the one ``data.dataset``
    names (it must exist), else the dataset added last; None when none was added.
    ``NAME@V``: that version. A bare ``NAME`` that is no file but a dataset: its latest
    version.
    """
    if data == "synthetic" or (data and (Path(data).exists() or "/" in data)):
        return None
    if not data:
        if settings.data.dataset:
            return resolve(DatasetRef(check_name(settings.data.dataset)), settings)
        return latest_added(settings)
    if "@" in data:
        try:
            ref = DatasetRef.parse(data)
        except InvalidInput:
            return None  # "extract@2024.csv": a file name, reported missing as such
        return resolve(ref, settings)
    if NAME.match(data):
        catalog = _catalog(settings)
        if catalog and catalog.versions(data):
            return resolve(DatasetRef(data), settings)
    return None


def latest_added(settings: Settings) -> DatasetVersion | None:
    """The version stored last, of any dataset (None: no dataset was added)."""
    catalog = _catalog(settings)
    if catalog is None:
        return None
    runs = _version_runs(catalog)
    claimed = [
        (runs[run_id].info.start_time, name, number)
        for name, versions in catalog.claims().items()
        for number, run_id in versions.items()
        if run_id in runs
    ]
    if not claimed:
        return None
    _, name, number = max(claimed)
    return resolve(DatasetRef(name, number), settings)
