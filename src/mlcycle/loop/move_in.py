"""``mlcycle server import``: an embedded store moved into the team server, once.

In order: the dataset versions (:mod:`mlcycle.server.move_in`), each registered
model's versions (:func:`mlcycle.registry.copy.copy_version`, lineage and holdout
included) and its aliases, then its audit trail. Running it again copies nothing:
a server version tagged as copied from a source version stands for it, and an event
keeps its id.

It lives in the loop because it strings the server layer and the registry together,
which may not import each other.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mlcycle.core.errors import Conflict, Unavailable
from mlcycle.core.lock import PREFIX as LOCK_PREFIX
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import no_progress_bar, pointed_at, server_refusal, use_tracking
from mlcycle.registry.copy import COPIED_FROM_TAG
from mlcycle.server.move_in import (
    DatasetsMoved,
    Source,
    move_datasets,
    source_store,
    store_settings,
)


@dataclass
class ImportSummary:
    """What an import did; ``*_skipped`` were on the server already."""

    source: str
    target: str
    datasets_added: list[str] = field(default_factory=list)
    datasets_skipped: list[str] = field(default_factory=list)
    versions_copied: list[str] = field(default_factory=list)  # NAME/V of the source
    versions_skipped: list[str] = field(default_factory=list)
    aliases_set: list[str] = field(default_factory=list)  # NAME@ALIAS -> server version
    events_copied: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Model:
    """A source model as read: versions ascending, aliases, audit events."""

    name: str
    versions: list[str]
    aliases: dict[str, str]
    events: list[Any]


def import_store(source: str, url: str, settings: Settings | None = None) -> ImportSummary:
    """Copy the embedded store ``source`` into the tracking server at ``url``.

    Raises:
        NotFound, InvalidInput: ``source`` is no embedded store.
        Conflict: The server holds a model of the same name not copied from ``source``.
        Unauthorized, Unavailable: The server refused or did not answer.
    """
    from mlflow.exceptions import MlflowException

    settings = settings or get_settings()
    store = source_store(source)
    summary = ImportSummary(store.uri, url)
    # MLflow prints "View run ... at URL" for each run it ends on a server: that would
    # spoil --json, so it goes to the log.
    printed = io.StringIO()
    try:
        with no_progress_bar(), contextlib.redirect_stdout(printed):
            _copy(store, url, settings, summary)
    except MlflowException as exc:
        said = server_refusal(exc, url)
        if said is not None:
            raise said from None
        raise Unavailable(f"The import into {url} failed ({exc.message}); rerun it: "
                          "what was copied is not copied twice.") from None  # fmt: skip
    finally:
        for line in printed.getvalue().splitlines():
            logging.getLogger("mlflow.tracking").info(line)
    return summary


def _copy(store: Source, url: str, settings: Settings, summary: ImportSummary) -> None:
    """The three steps; nothing is copied when a model would be refused."""
    with pointed_at(url):  # a silent server said now, not after MLflow's retries
        use_tracking(store_settings(settings, url))
    models = _read_models(store, settings)
    for model in models:
        _origins(model.name, store, url)
    _record_datasets(summary, move_datasets(store, url, settings))
    for model in models:
        _move_model(model, store, url, settings, summary)


def _record_datasets(summary: ImportSummary, moved: DatasetsMoved) -> None:
    summary.datasets_added, summary.datasets_skipped = moved.added, moved.skipped


def _read_models(store: Source, settings: Settings) -> list[_Model]:
    """Every registered model of the store (locks left out), with its trail."""
    from mlflow import MlflowClient

    from mlcycle.registry.audit import read_events

    here = store_settings(settings, store.uri, store.home)
    with pointed_at(store.uri):
        client = MlflowClient()
        models = []
        for registered in client.search_registered_models(max_results=1000):
            if registered.name.startswith(LOCK_PREFIX):  # locks are models too
                continue
            found = client.search_model_versions(f"name = '{registered.name}'")
            versions = sorted((str(v.version) for v in found), key=int)
            aliases = {a: str(v) for a, v in (registered.aliases or {}).items()}
            events = read_events(registered.name, here)
            models.append(_Model(registered.name, versions, aliases, events))
    return models


def _origins(name: str, store: Source, url: str) -> dict[str, str]:
    """Source version -> server version, for the server's copies of ``name`` from ``store``.

    Raises:
        Conflict: A server version of ``name`` was not copied from ``store``.
    """
    from mlflow import MlflowClient

    prefix = f"{store.uri} {name}/"
    with pointed_at(url):
        found = MlflowClient().search_model_versions(f"name = '{name}'")
    origins = {}
    for version in found:
        origin = (version.tags or {}).get(COPIED_FROM_TAG, "")
        if not origin.startswith(prefix):
            raise Conflict(
                f"The server already holds a different model named {name} (version "
                f"{version.version} was not copied from {store.uri}); rename the local model "
                "(model.name in its project file, then retrain) or remove the server's, "
                "then import again."
            )
        origins[origin.removeprefix(prefix)] = str(version.version)
    return origins


def _move_model(
    model: _Model, store: Source, url: str, settings: Settings, summary: ImportSummary
) -> None:
    """Copy the versions the server lacks, then the aliases, then the audit trail."""
    from mlcycle.registry.copy import copy_version

    origins = _origins(model.name, store, url)
    here = store_settings(settings, store.uri, store.home)
    for version in model.versions:
        ref = f"{model.name}/{version}"
        if version in origins:
            summary.versions_skipped.append(ref)
            continue
        with pointed_at(store.uri):  # copy_version copies from the current store
            origins[version] = copy_version(ref, url, here).version
        summary.versions_copied.append(ref)
    summary.aliases_set += _move_aliases(model, origins, url)
    summary.events_copied += _move_events(model, origins, url, settings)


def _move_aliases(model: _Model, origins: dict[str, str], url: str) -> list[str]:
    """Point each alias of the source model at the server's copy of its version."""
    from mlflow import MlflowClient

    moved = []
    with pointed_at(url):
        client = MlflowClient()
        held = client.get_registered_model(model.name).aliases or {}
        for alias, version in sorted(model.aliases.items()):
            target = origins.get(version)
            if target is None or str(held.get(alias, "")) == target:
                continue
            client.set_registered_model_alias(model.name, alias, target)
            moved.append(f"{model.name}@{alias} -> {target}")
    return moved


def _move_events(model: _Model, origins: dict[str, str], url: str, settings: Settings) -> int:
    """Write the source events the server lacks (by id), naming the server's versions."""
    from mlcycle.registry.audit import append_event, read_events

    target = store_settings(settings, url)
    with pointed_at(url):
        known = {event.id for event in read_events(model.name, target)}
        missing = [event for event in model.events if event.id not in known]
        for event in missing:
            before = event.from_version
            moved = replace(
                event,
                to_version=origins.get(event.to_version, event.to_version),
                from_version=origins.get(before, before) if before else before,
            )
            append_event(moved, target)
    return len(missing)
