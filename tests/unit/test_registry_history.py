"""Replaying the audit trail: holders, rollback targets, who served when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.registry.audit import Event
from mlcycle.registry.history import (
    holder_stack,
    parse_moment,
    rollback_target,
    served_during,
    tenures,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def event(minutes: int, action: str, frm: str | None, to: str, alias: str = "production"):
    when = (T0 + timedelta(minutes=minutes)).isoformat()
    return Event(when, "ana", "nace", alias, action, frm, to, f"{action} {to}")


TRAIL = [
    event(0, "promote", None, "1"),
    event(10, "refused", "1", "2"),
    event(20, "promote", "1", "3"),
    event(25, "promote", None, "3", alias="staging"),
    event(30, "rollback", "3", "1"),
]


def test_stack_ignores_refusals_and_other_aliases() -> None:
    assert holder_stack(TRAIL, "production") == ["1"]
    assert holder_stack(TRAIL[:3], "production") == ["1", "3"]
    assert holder_stack(TRAIL, "staging") == ["3"]


def test_rollback_target_walks_back_then_runs_out() -> None:
    assert rollback_target(TRAIL[:3], "production", current="3") == "1"
    assert rollback_target(TRAIL, "production", current="1") is None
    assert rollback_target([], "production", current=None) is None


def test_rollback_after_a_move_outside_mlcycle() -> None:
    # The alias was set to 7 by hand after mlcycle put 3 there: go back to 3.
    assert rollback_target(TRAIL[:3], "production", current="7") == "3"


def test_first_event_from_an_unrecorded_holder_can_be_rolled_back_to() -> None:
    trail = [event(0, "promote", "5", "6")]
    assert holder_stack(trail, "production") == ["5", "6"]
    assert rollback_target(trail, "production", current="6") == "5"


def test_tenures_and_who_served_when() -> None:
    spans = tenures(TRAIL, "production")
    assert [(t.version, t.start, t.end) for t in spans] == [
        ("1", T0, T0 + timedelta(minutes=20)),
        ("3", T0 + timedelta(minutes=20), T0 + timedelta(minutes=30)),
        ("1", T0 + timedelta(minutes=30), None),
    ]
    at = T0 + timedelta(minutes=15)
    window = served_during(TRAIL, "production", at, at + timedelta(microseconds=1))
    assert [t.version for t in window] == ["1"]  # v2 was refused: it never served
    day = served_during(TRAIL, "production", *parse_moment("2025-03-01"))
    assert [t.version for t in day] == ["1", "3", "1"]
    assert served_during(TRAIL, "production", *parse_moment("2025-02-28")) == []


def test_parse_moment() -> None:
    start, end = parse_moment("2025-03-01")
    assert (start, end - start) == (datetime(2025, 3, 1, tzinfo=UTC), timedelta(days=1))
    start, _ = parse_moment("2025-03-01T10:30")
    assert start == datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    start, _ = parse_moment("2025-03-01T10:30+02:00")
    assert start.astimezone(UTC).hour == 8
    with pytest.raises(InvalidInput, match="not a date"):
        parse_moment("yesterday")
