"""Progress of a search, read from the study itself (so it sees every worker's trials)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcycle.train.tune.objective import SESSION_ATTR, SKIPPED_ATTR, trial_summary


@dataclass(frozen=True)
class TuneStatus:
    """What a progress display shows: this command's count and the study's best so far."""

    done: int
    total: int | None  # None: until the timeout
    best_value: float | None
    best_number: int | None
    finished: list[dict[str, Any]] = field(default_factory=list)  # new since the last one
    searched: list[str] = field(default_factory=list)  # the parameter names searched


class Watcher:
    """Turns the study's trials into :class:`TuneStatus` updates for a callback."""

    def __init__(
        self,
        study: Any,
        session: str,
        total: int | None,
        callback: Callable[[TuneStatus], None] | None,
        direction: str,
        searched: list[str],
    ) -> None:
        self.study, self.session, self.total = study, session, total
        self.searched = searched
        self.callback, self.maximize = callback, direction == "maximize"
        self._seen: set[int] = set()

    def _mine(self) -> list[Any]:
        return [
            t
            for t in self.study.get_trials(deepcopy=False)
            if t.user_attrs.get(SESSION_ATTR) == self.session
            and t.state.is_finished()
            and not t.user_attrs.get(SKIPPED_ATTR)
        ]

    def done(self) -> int:
        return len(self._mine())

    def update(self) -> None:
        if self.callback is None:
            return
        mine = self._mine()
        fresh = [trial_summary(t) for t in mine if t.number not in self._seen]
        self._seen.update(t.number for t in mine)
        best = self._best()
        self.callback(
            TuneStatus(
                len(mine),
                self.total,
                best.value if best else None,
                best.number if best else None,
                sorted(fresh, key=lambda t: t["number"]),
                self.searched,
            )
        )

    def _best(self) -> Any:
        complete = [t for t in self.study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        if not complete:
            return None
        pick = max if self.maximize else min
        return pick(complete, key=lambda t: t.value)
