"""Promotion and rollback: the only alias moves that go through gates and the audit trail.

Both hold the model's registry lock from reading the current holder to recording the
event, so two concurrent promotions run one after the other: the second compares
against (and records moving from) what the first put in place.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlcycle.core.errors import Conflict, InvalidInput, NotFound
from mlcycle.core.lock import registry_lock
from mlcycle.core.settings import Settings, get_settings
from mlcycle.registry.audit import (
    FORCE,
    OUTSIDE,
    PROMOTE,
    REFUSED,
    ROLLBACK,
    Event,
    append_event,
    new_event,
    read_events,
)
from mlcycle.registry.environments import environment, gates_for, previous_environment
from mlcycle.registry.gates import GateContext, GateResult, Subject, run_gates
from mlcycle.registry.history import holder_stack, rollback_target
from mlcycle.registry.holdouts import judging_holdout
from mlcycle.registry.ops import VersionInfo, resolve, set_alias
from mlcycle.registry.refs import ModelRef
from mlcycle.tasks import task_of


@dataclass
class MoveResult:
    """What a promotion or rollback did; ``moved`` is False when gates refused it."""

    name: str
    alias: str
    version: str
    previous: str | None
    action: str  # promote, force, refused, rollback, or none (already there)
    reason: str = ""
    gates: list[GateResult] = field(default_factory=list)
    event: Event | None = None
    holdout: dict[str, Any] | None = None  # the holdout the gates judged on

    @property
    def moved(self) -> bool:
        return self.action in (PROMOTE, FORCE, ROLLBACK)  # by this call

    @property
    def failed_gates(self) -> list[str]:
        return [g.name for g in self.gates if not g.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "action": self.action,
            "moved": self.moved,
            "reason": self.reason,
            "gates": [g.to_dict() for g in self.gates],
            "holdout": self.holdout,
            "time": self.event.time if self.event else None,
        }


def holder(name: str, alias: str) -> VersionInfo | None:
    """The version ``name@alias`` points at, or None."""
    with contextlib.suppress(NotFound):
        return resolve(ModelRef(name, alias=alias))
    return None


def promote(
    name: str,
    version: str | int,
    alias: str,
    reason: str = "",
    force: bool = False,
    settings: Settings | None = None,
) -> MoveResult:
    """Run the gates guarding ``alias`` on ``name/version``; move the alias if all pass.

    ``force`` moves it whatever the gates say; it needs a ``reason`` and is recorded.
    A refusal is recorded too, and returned (``moved`` False), not raised.
    """
    settings = settings or get_settings()
    environment(alias, settings.registry)
    if force and not reason.strip():
        raise InvalidInput("--force needs --reason TEXT saying why the gates are overridden.")
    candidate = resolve(ModelRef(name, version=str(version)))
    _check_task(candidate, settings)
    with registry_lock(name, settings.registry.lock_timeout_s):
        current = holder(name, alias)
        note_outside_move(name, alias, current, settings)
        if current is not None and current.version == candidate.version:
            return MoveResult(name, alias, candidate.version, current.version, "none", reason)
        if not force:
            _check_sequence(candidate, alias, settings)
        ctx = gate_context(candidate, current, alias, settings)
        results = run_gates(ctx, gates_for(alias, settings.registry))
        passed = all(g.passed for g in results)
        action = PROMOTE if passed else FORCE if force else REFUSED
        if action != REFUSED:
            set_alias(name, alias, candidate.version)
        previous = current.version if current else None
        event = new_event(
            name, alias, action, previous, candidate.version, reason, [g.to_dict() for g in results]
        )
        append_event(event, settings)
        judged = ctx.holdout.summary() if ctx.holdout is not None else None
        result = MoveResult(
            name, alias, candidate.version, previous, action, reason, results, event, judged
        )
        _log_evidence(candidate, result, settings)
    return result


def gate_context(
    candidate: VersionInfo, current: VersionInfo | None, alias: str, settings: Settings
) -> GateContext:
    """What the gates guarding ``alias`` judge ``candidate`` with, against ``current``."""
    judging = judging_holdout(candidate, settings)
    return GateContext(
        alias,
        Subject.load(candidate),
        Subject.load(current) if current is not None else None,
        judging.holdout,
        settings,
        task_of(settings),
        judging.problem,
    )


def judge(
    name: str,
    version: str | int,
    alias: str,
    settings: Settings | None = None,
    gates: list[str] | None = None,
) -> tuple[GateContext, list[GateResult]]:
    """The gates guarding ``alias`` (or ``gates``) run on ``name/version``, moving and
    recording nothing: what ``promote`` would decide now (a pipeline's ``gates`` step)."""
    settings = settings or get_settings()
    environment(alias, settings.registry)
    candidate = resolve(ModelRef(name, version=str(version)))
    _check_task(candidate, settings)
    ctx = gate_context(candidate, holder(name, alias), alias, settings)
    names = gates_for(alias, settings.registry) if gates is None else gates
    return ctx, run_gates(ctx, names)


def _check_task(candidate: VersionInfo, settings: Settings) -> None:
    """The gates judge by the project's task: it must be the one the version solves."""
    from mlcycle.registry.loading import task_of as version_task

    solves = version_task(candidate)
    if solves != settings.model.task:
        raise InvalidInput(
            f"Version {candidate.version} of {candidate.name!r} solves {solves}, but the "
            f"project file says {settings.model.task} (model {settings.model.name!r}); "
            "promote it with its own project file (MLCYCLE_PROJECT=path/to/mlcycle.yaml)."
        )


def _check_sequence(candidate: VersionInfo, alias: str, settings: Settings) -> None:
    """With sequential environments, the version must have reached the one before."""
    before = previous_environment(alias, settings.registry)
    if not settings.registry.sequential or before is None or before in candidate.aliases:
        return
    events = read_events(candidate.name, settings, before)
    if any(e.moved and e.to_version == candidate.version for e in events):
        return
    raise Conflict(
        f"Version {candidate.version} of {candidate.name!r} has not been in {before!r}; "
        f"promote it there first (environments are sequential), or --force with a reason."
    )


def rollback(
    name: str, alias: str, reason: str = "", settings: Settings | None = None
) -> MoveResult:
    """Return ``alias`` to the version that held it before (no gates: an undo)."""
    settings = settings or get_settings()
    environment(alias, settings.registry)
    _must_exist(name)
    with registry_lock(name, settings.registry.lock_timeout_s):
        current = holder(name, alias)
        events = note_outside_move(name, alias, current, settings)
        target = rollback_target(events, alias, current.version if current else None)
        if target is None:
            raise Conflict(
                f"{name}@{alias} has no previous holder to return to; "
                "promote a version instead (mlcycle models promote)."
            )
        try:
            resolve(ModelRef(name, version=target))
        except NotFound:
            raise NotFound(
                f"Version {target} of {name!r}, the previous holder of {alias!r}, "
                "no longer exists; promote a version instead."
            ) from None
        set_alias(name, alias, target)
        previous = current.version if current else None
        event = new_event(name, alias, ROLLBACK, previous, target, reason or "rollback")
        append_event(event, settings)
    return MoveResult(name, alias, target, previous, ROLLBACK, event.reason, [], event)


def note_outside_move(
    name: str, alias: str, current: VersionInfo | None, settings: Settings
) -> list[Event]:
    """Record a move made without mlcycle; return the alias's events, that one included.

    The MLflow UI or API, or a promotion killed between moving the alias and recording
    it, leave the alias on a version the trail does not name. The event carries the time
    it was noticed, the only time known. Call under the registry lock.
    """
    events = read_events(name, settings, alias)
    stack = holder_stack(events, alias)
    if current is None or not stack or stack[-1] == current.version:
        return events
    event = new_event(
        name, alias, OUTSIDE, stack[-1], current.version,
        "moved outside mlcycle (MLflow UI or API, or an interrupted promotion); "
        "recorded when next seen",
    )  # fmt: skip
    event = replace(event, user="unknown")  # not whoever happened to notice
    append_event(event, settings)
    return [*events, event]


def _must_exist(name: str) -> None:
    from mlcycle.registry.ops import list_versions

    list_versions(name)  # one clear NotFound for an unknown model


def _log_evidence(candidate: VersionInfo, result: MoveResult, settings: Settings) -> None:
    """Gate results, the champion comparison and (when moved) the card, in the run."""
    from mlflow import MlflowClient

    if not candidate.run_id or result.event is None:
        return
    stamp = result.event.moment.strftime("%Y%m%dT%H%M%SZ")
    folder = f"promotion/{result.alias}-{stamp}-{result.action}"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "gates.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
        champion = next((g for g in result.gates if g.name == "champion" and g.checks), None)
        if champion is not None:
            import pandas as pd

            pd.DataFrame(champion.checks).to_csv(work / "champion_comparison.csv", index=False)
        if result.moved:
            from mlcycle.registry.card import build_card, render

            card = build_card(f"{candidate.name}/{candidate.version}", settings)
            (work / "card.md").write_text(render(card, "md"))
            (work / "card.html").write_text(render(card, "html"))
        MlflowClient().log_artifacts(candidate.run_id, str(work), folder)
