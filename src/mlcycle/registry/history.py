"""Questions answered by replaying the audit trail: who held an alias, when, and before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mlcycle.core.errors import InvalidInput
from mlcycle.registry.audit import ROLLBACK, Event


@dataclass(frozen=True)
class Tenure:
    """A version holding an alias from ``start`` until ``end`` (None: still holds it)."""

    version: str
    start: datetime | None  # None: held before the trail begins
    end: datetime | None


def holder_stack(events: list[Event], alias: str) -> list[str]:
    """The alias's holders as a stack: a promotion pushes, a rollback pops.

    A first event that moved the alias from a version (set outside mlcycle, say by
    ``mlflow`` itself) puts that version at the bottom, so it can be rolled back to.
    """
    stack: list[str] = []
    for event in events:
        if event.alias != alias or not event.moved:
            continue
        if not stack and event.from_version:
            stack.append(event.from_version)
        if event.action == ROLLBACK:
            if stack:
                stack.pop()
            if not stack or stack[-1] != event.to_version:
                stack.append(event.to_version)
        else:
            stack.append(event.to_version)
    return stack


def rollback_target(events: list[Event], alias: str, current: str | None) -> str | None:
    """The version to return ``alias`` to, or None when it has had no other holder."""
    stack = holder_stack(events, alias)
    if stack and current is not None and stack[-1] != current:
        return stack[-1]  # moved outside mlcycle: go back to the last recorded holder
    return stack[-2] if len(stack) >= 2 else None


def tenures(events: list[Event], alias: str) -> list[Tenure]:
    """Who held ``alias`` over time, oldest first."""
    out: list[Tenure] = []
    for event in events:
        if event.alias != alias or not event.moved:
            continue
        if not out and event.from_version:
            out.append(Tenure(event.from_version, None, event.moment))
        elif out:
            out[-1] = Tenure(out[-1].version, out[-1].start, event.moment)
        out.append(Tenure(event.to_version, event.moment, None))
    return out


def served_during(events: list[Event], alias: str, start: datetime, end: datetime) -> list[Tenure]:
    """The tenures of ``alias`` overlapping ``[start, end)``."""
    return [
        t
        for t in tenures(events, alias)
        if (t.start is None or t.start < end) and (t.end is None or t.end > start)
    ]


def parse_moment(text: str) -> tuple[datetime, datetime]:
    """``2025-03-01`` -> that whole UTC day; a date-time -> that instant. Naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] (UTC)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if len(text.strip()) == 10:  # a bare date: the whole day
        return moment, moment + timedelta(days=1)
    return moment, moment + timedelta(microseconds=1)
