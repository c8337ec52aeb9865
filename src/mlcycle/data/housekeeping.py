"""What killed processes leave in a project home, found and repaired.

``data add`` stores a version's files in a new run, then claims the version (see
:mod:`mlcycle.data.catalog`). Killed before the claim, it leaves a RUNNING run holding
the files that no listing shows; killed after it, a complete version whose run still
says RUNNING. Each add records its host and its locked work folder on its run
(:mod:`mlcycle.core.scratch`), so a later process knows whether the owner is alive:
on the same host, the work folder's lock says so exactly; from another host (or a
run of an older mlcycle) only age can tell, and a run is presumed abandoned after
:data:`STALE_AFTER_S`. An abandoned unclaimed run is removed with its files; an
abandoned claimed one is finished. A run whose owner is alive is never touched.

``data add`` tidies these quietly before its own commit; ``mlcycle doctor`` does it
on demand, with the leftover work folders and the permissions of the home.
"""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlcycle.core.errors import MlcycleError
from mlcycle.core.private import DIR_MODE, FILE_MODE, others_can_access
from mlcycle.core.scratch import in_use, leftovers, remove_if_abandoned, scratch_root
from mlcycle.core.settings import Settings
from mlcycle.data.catalog import ROLE_TAG, Catalog, open_catalog
from mlcycle.data.store import TAG, VERSION_ROLE

HOST_TAG, WORK_TAG = TAG + "host", TAG + "work"
STALE_AFTER_S = 24 * 3600  # no add runs this long; only for owners we cannot check


@dataclass(frozen=True)
class Finding:
    """One problem found in a project home, and what became of it."""

    subject: str
    problem: str
    repaired: bool
    outcome: str  # what was done, or why it was not

    def line(self) -> str:
        return f"{self.subject}: {self.problem}; {self.outcome}."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HomeCheck:
    """Everything ``mlcycle doctor`` found in a home."""

    home: str
    findings: list[Finding]

    @property
    def healthy(self) -> bool:
        """Nothing is left broken (whatever was found was repaired)."""
        return all(finding.repaired for finding in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "healthy": self.healthy,
            "findings": [f.to_dict() for f in self.findings],
        }


def owner_tags(work: Path) -> dict[str, str]:
    """The tags by which a later process tells whether this add is still alive."""
    return {HOST_TAG: socket.gethostname(), WORK_TAG: str(work)}


def check_home(settings: Settings, repair: bool = True) -> HomeCheck:
    """Check (and by default repair) a project home: permissions, leftovers, dataset runs."""
    home = settings.home.resolve()
    if not home.exists():
        return HomeCheck(str(home), [])
    findings = _permissions(home, repair) + _work_folders(home, repair)
    findings += _dataset_runs(settings, repair)
    return HomeCheck(str(home), findings)


def tidy_killed_adds(catalog: Catalog, settings: Settings) -> list[Finding]:
    """Remove what killed adds left (work folders, dataset runs); what ``data add`` runs."""
    return _work_folders(settings.home, True) + _unfinished_adds(catalog, True)


def _permissions(home: Path, repair: bool) -> list[Finding]:
    out = []
    for path, mode in ((home, DIR_MODE), (home / "mlflow.db", FILE_MODE)):
        if not path.exists() or not others_can_access(path):
            continue
        problem = f"other users can access it (mode {path.stat().st_mode & 0o777:o})"
        out.append(_attempt(str(path), problem, repair, f"set to {mode:o}", path.chmod, mode))
    return out


def _work_folders(home: Path, repair: bool) -> list[Finding]:
    """The work folders whose process is gone, removed when ``repair``."""
    out = []
    for folder in leftovers(home):
        subject = str(folder.relative_to(scratch_root(home).parent))
        problem = "work folder left by a process that is gone"
        if not repair:
            out.append(Finding(subject, problem, False, "left as is (--dry-run)"))
        elif remove_if_abandoned(folder):
            out.append(Finding(subject, problem, True, "removed"))
    return out


def _dataset_runs(settings: Settings, repair: bool) -> list[Finding]:
    from mlflow.exceptions import MlflowException

    from mlcycle.core.tracking import use_tracking

    uri = settings.resolved_tracking_uri()
    if uri.startswith("sqlite:") and not (settings.home.resolve() / "mlflow.db").exists():
        return []  # nothing tracked yet; do not create a store to look into
    try:
        use_tracking(settings)
        catalog = open_catalog(settings)
        return _unfinished_adds(catalog, repair) if catalog else []
    except (MlflowException, MlcycleError) as exc:
        return [Finding(uri, "the dataset runs could not be read", False, exc.message)]


def _unfinished_adds(catalog: Catalog, repair: bool) -> list[Finding]:
    """Dataset runs left RUNNING by dead adds: unclaimed ones removed, claimed ones finished."""
    claimed = {
        run_id: (name, number)
        for name, versions in catalog.claims().items()
        for number, run_id in versions.items()
    }
    out = []
    for run in _running(catalog):
        if _owner_alive(run):
            continue
        version = claimed.get(run.info.run_id)
        out.append(_finish(run, *version, repair) if version else _discard(run, repair))
    return out


def _running(catalog: Catalog) -> list[Any]:
    from mlflow import MlflowClient

    return MlflowClient().search_runs(
        [catalog.experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = '{VERSION_ROLE}' and attributes.status = 'RUNNING'",
        max_results=1000,
    )


def _owner_alive(run: Any) -> bool:
    tags = run.data.tags
    if tags.get(WORK_TAG) and tags.get(HOST_TAG) == socket.gethostname():
        return in_use(Path(tags[WORK_TAG]))
    return time.time() - run.info.start_time / 1000 < STALE_AFTER_S


def _discard(run: Any, repair: bool) -> Finding:
    name = run.data.tags.get(TAG + "name", "?")
    subject = f"dataset run {run.info.run_id}"
    problem = f"an add of {name!r} killed before its commit ({_started(run)}) left it RUNNING"
    return _attempt(
        subject, problem, repair, "removed with its files", discard_run, run.info.run_id
    )


def _finish(run: Any, name: str, number: int, repair: bool) -> Finding:
    run_id = run.info.run_id
    problem = f"{name}@{number} is complete but its add was killed before marking it finished"
    return _attempt(
        f"dataset run {run_id}", problem, repair, "marked finished",
        finish_version_run, run_id, name, number,
    )  # fmt: skip


def _attempt(
    subject: str, problem: str, repair: bool, done: str, action: Any, *args: Any
) -> Finding:
    """Run the repair ``action(*args)`` unless ``repair`` is off; say how it went."""
    if not repair:
        return Finding(subject, problem, False, "left as is (--dry-run)")
    try:
        action(*args)
    except Exception as exc:  # the store's or the file system's own errors, reported
        return Finding(subject, problem, False, f"could not repair it ({exc})")
    return Finding(subject, problem, True, done)


def _started(run: Any) -> str:
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
    return f"started {started.isoformat(timespec='seconds')}"


def finish_version_run(run_id: str, name: str, number: int) -> None:
    """Make a committed version's run read well in the MLflow UI: named and FINISHED."""
    from mlflow import MlflowClient

    client = MlflowClient()
    client.set_tag(run_id, TAG + "version", str(number))
    client.update_run(run_id, status="FINISHED", name=f"{name}@{number}")


def discard_run(run_id: str) -> None:
    """Remove a dataset run that never became a version: its files, then the run."""
    from mlflow import MlflowClient
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    client = MlflowClient()
    artifact_uri = client.get_run(run_id).info.artifact_uri
    get_artifact_repository(artifact_uri).delete_artifacts()
    _remove_empty_run_folder(artifact_uri)
    client.update_run(run_id, status="KILLED")
    client.delete_run(run_id)


def _remove_empty_run_folder(artifact_uri: str) -> None:
    """A local store keeps ``<run id>/artifacts``: the emptied run folder goes too."""
    parts = urllib.parse.urlsplit(artifact_uri)
    if parts.scheme in ("", "file"):
        with contextlib.suppress(OSError):  # not empty, or already gone
            Path(urllib.request.url2pathname(parts.path)).parent.rmdir()
