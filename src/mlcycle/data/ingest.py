"""``data add``: fetch, read, validate, digest, profile and store a new dataset version.

Everything that can refuse the file happens before anything is written, so a bad file
leaves the store untouched. The snapshot, profile and metadata are then written to a
work folder under the home and uploaded as artifacts of a fresh run, and only then is
the version number claimed (the commit point, see :mod:`mlcycle.data.catalog`). The
run carries its host and work folder, by which a later add (or ``mlcycle doctor``)
tells a killed add's leftovers from an add in progress, and removes them (see
:mod:`mlcycle.data.housekeeping`).
"""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

import mlcycle
from mlcycle.core.errors import InvalidInput
from mlcycle.core.scratch import scratch_dir
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import USER_TAG, acting_user
from mlcycle.data.catalog import ROLE_TAG, Catalog, open_catalog
from mlcycle.data.housekeeping import discard_run, finish_version_run, owner_tags, tidy_killed_adds
from mlcycle.data.readers import RawTable, read_raw
from mlcycle.data.shape import Checked, check_file
from mlcycle.data.snapshot import table_digest, write_parquet
from mlcycle.data.sources import fetch, is_url
from mlcycle.data.store import (
    DATA_FILE,
    METADATA_FILE,
    PROFILE_FILE,
    QUARANTINE_FILE,
    TAG,
    VERSION_ROLE,
    DatasetVersion,
    check_name,
    list_versions,
    resolve,
)
from mlcycle.data.validate import Validated

_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class AddResult:
    """The version an add landed on, and what happened to the file's rows."""

    version: DatasetVersion
    created: bool
    rows_read: int
    dropped: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    tidied: list[str] = field(default_factory=list)  # leftovers of killed adds removed
    # What the checks found worth saying about the columns (a constant column left out,
    # numbers written with decimal commas...), one sentence each.
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "version": self.version.to_dict()}


def add_dataset(
    location: str,
    name: str,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    on_bad_rows: str | None = None,
    delimiter: str | None = None,
    settings: Settings | None = None,
) -> AddResult:
    """Add the file at ``location`` (path or URL) as the next version of dataset ``name``.

    Identical content (same digest as an existing version of ``name``) makes no new
    version: the existing one is returned with ``created`` False.

    Raises:
        InvalidInput, NotFound, DataError, InvalidRows, Unavailable: one clear sentence
            each; none of them leaves anything in the store.
    """
    settings = settings or get_settings()
    check_name(name)
    policy = on_bad_rows or settings.data.on_bad_rows
    with fetch(location, settings.home) as local:
        shown = local.source if is_url(location) else location
        raw = read_raw(local.path, _delimiter(delimiter), shown)
    shaped = check_file(raw, settings, policy, shown, text_col, label_col)
    checked = shaped.validated
    quarantined = checked.bad.num_rows if policy == "quarantine" else 0

    def result(version: DatasetVersion, created: bool, tidied: list[str]) -> AddResult:
        dropped = checked.bad.num_rows
        warnings = [issue.message for issue in checked.issues]
        return AddResult(
            version, created, checked.rows_read, dropped, quarantined, checked.reasons,
            tidied, warnings,
        )  # fmt: skip

    # The profile is the longest step: it runs beside the digest, the store look-ups
    # and the snapshot write (Arrow and numpy release the GIL, so two cores share it).
    with ThreadPoolExecutor(max_workers=1) as pool, scratch_dir(settings.home, "add") as work:
        profiling = pool.submit(shaped.profile)
        digest = table_digest(checked.table)
        catalog = _open(settings)
        tidied = _tidy(catalog, settings)
        for existing in list_versions(name, settings):
            if existing.digest == digest:
                return result(existing, False, tidied)
        metadata = _metadata(name, local.source, raw, shaped, policy, digest)
        _write_files(work, checked, quarantined > 0, metadata)
        profiling.result().write(work / PROFILE_FILE)
        number = _commit(catalog, name, work, metadata)
    return result(resolve(f"{name}@{number}", settings), True, tidied)


def _write_files(
    folder: Path, checked: Validated, quarantine: bool, metadata: dict[str, Any]
) -> None:
    """The snapshot, the quarantined rows if kept, and the metadata, ready to upload."""
    write_parquet(checked.table, folder / DATA_FILE)
    if quarantine:
        write_parquet(checked.bad, folder / QUARANTINE_FILE)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, ensure_ascii=False, indent=1))


def _tidy(catalog: Catalog, settings: Settings) -> list[str]:
    """What killed adds left, removed on the way; best effort: it never fails this add."""
    from mlflow.exceptions import MlflowException

    try:
        return [f.line() for f in tidy_killed_adds(catalog, settings) if f.repaired]
    except (MlflowException, OSError):
        return []  # mlcycle doctor reports what stays


def _open(settings: Settings) -> Catalog:
    from mlcycle.core.tracking import use_tracking

    use_tracking(settings)
    catalog = open_catalog(settings, create=True)
    assert catalog is not None  # create=True always gives one
    return catalog


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    value = _DELIMITER_NAMES.get(value.lower(), value)
    if len(value) != 1 or value in '"\r\n':
        raise InvalidInput(
            f"--delimiter must be one character (or tab), not {value!r}; e.g. --delimiter ';'."
        )
    return value


def _metadata(
    name: str,
    source: str,
    raw: RawTable,
    shaped: Checked,
    policy: str,
    digest: str,
) -> dict[str, Any]:
    checked, table = shaped.validated, shaped.table
    classes = shaped.task != "regression"
    labels = pc.value_counts(table.column(shaped.target)).to_pylist() if classes else []
    return {
        "name": name,
        "digest": digest,
        "rows": table.num_rows,
        "columns": table.column_names,
        "schema": {f.name: str(f.type) for f in table.schema},
        "source": source,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": raw.format,
        "encoding": raw.encoding,
        "delimiter": raw.delimiter,
        "task": shaped.task,
        **shaped.describe,
        "target_column": shaped.target,
        "feature_types": shaped.types,
        "issues": [issue.message for issue in checked.issues],
        "on_bad_rows": policy,
        "rows_read": checked.rows_read,
        "bad_rows": checked.bad.num_rows,
        "bad_reasons": checked.reasons,
        "quarantined_rows": checked.bad.num_rows if policy == "quarantine" else 0,
        "duplicate_rows": checked.duplicates,
        "conflicting_texts": checked.conflicting_texts,
        "null_rates": checked.null_rates,
        "label_counts": dict(sorted((str(c["values"]), c["counts"]) for c in labels)),
        "mlcycle_version": mlcycle.__version__,
    }


def _commit(catalog: Catalog, name: str, folder: Path, metadata: dict[str, Any]) -> int:
    """Upload the files in ``folder`` to a new run, then claim the version: the claim commits.

    ``folder`` is this add's locked work folder: the run names it, so that a later add
    knows this one is alive for as long as the folder's lock is held.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    tags = {
        **owner_tags(folder),
        ROLE_TAG: VERSION_ROLE,
        TAG + "name": name,
        TAG + "digest": metadata["digest"],
        TAG + "rows": str(metadata["rows"]),
        TAG + "labels": str(len(metadata["label_counts"])),
        TAG + "source": metadata["source"][:4000],
        TAG + "created_at": metadata["created_at"],
        TAG + "bad_rows": str(metadata["bad_rows"]),
        TAG + "on_bad_rows": metadata["on_bad_rows"],
        USER_TAG: acting_user(),  # who added it: the team server's account
    }
    run = client.create_run(catalog.experiment_id, run_name=f"{name} (adding)", tags=tags)
    run_id = run.info.run_id
    try:
        client.log_artifacts(run_id, str(folder))
        number = catalog.claim(name, run_id)
    except BaseException:
        # Nothing was claimed: the run is no version; remove it and its files.
        with contextlib.suppress(Exception):
            discard_run(run_id)
        raise
    # Committed. What follows only makes the run easier to read in the MLflow UI (a
    # later add finishes it if this process dies here).
    with contextlib.suppress(Exception):
        finish_version_run(run_id, name, number)
    return number
