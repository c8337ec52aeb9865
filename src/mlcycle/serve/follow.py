"""Follow a registry alias: when ``name@production`` moves, serve the new version.

Each worker runs one daemon thread. Every ``reload_seconds`` it asks the registry which
version the alias points at; when that differs from the version answering, it loads the
new one, checks it on a smoke input and swaps it in (``ModelHolder.swap``). A version
that fails to load or to answer is logged with the reason and skipped until the alias
moves again; the old model keeps answering. ``POST /admin/reload`` runs the same check
at once and touches a trigger file that the other workers of the server watch, so every
worker checks within a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlcycle.core.errors import MlcycleError
from mlcycle.serve.holder import ModelHolder

if TYPE_CHECKING:
    from mlcycle.models.protocol import ServedModel

log = logging.getLogger(__name__)

TRIGGER_CHECK_S = 1.0


@dataclass(frozen=True)
class ReloadResult:
    """What one check did."""

    previous: str | None
    current: str | None
    swapped: bool
    error: str | None = None


class AliasFollower:
    """Keeps ``holder`` on the version ``ref`` resolves to."""

    def __init__(
        self,
        holder: ModelHolder,
        resolve: Callable[[], str],
        load: Callable[[str], ServedModel],
        interval: float,
        trigger: Path | None = None,
        on_reload: Callable[[ReloadResult], None] | None = None,
        on_error: Callable[[MlcycleError], None] | None = None,
    ) -> None:
        """
        Args:
            holder: The model holder to keep current.
            resolve: Returns the version the followed reference points at now.
            load: Loads one pinned version.
            interval: Seconds between registry checks; 0 checks only when triggered.
            trigger: A file whose change makes every worker check at once.
            on_reload: Called after each swap or failed load (for metrics).
            on_error: Called when a periodic check cannot ask the registry (instead of
                logging a warning each time).
        """
        self.holder = holder
        self.resolve = resolve
        self.load = load
        self.interval = interval
        self.trigger = trigger
        self.on_reload = on_reload
        self.on_error = on_error
        self._failed: str | None = None  # a version that failed; retried once it changes
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self, force: bool = False) -> ReloadResult:
        """Swap to the version the alias points at now, if it differs.

        Args:
            force: Try a version that failed before again.

        Raises:
            MlcycleError: The registry cannot be asked (the model keeps answering).
        """
        with self._lock:
            current = self.holder.version
            target = self.resolve()
            if target == current or (target == self._failed and not force):
                return ReloadResult(current, current, swapped=False)
            try:
                self.holder.swap(self.load(target))
            except Exception as exc:  # any failure keeps the old model
                reason = exc.message if isinstance(exc, MlcycleError) else repr(exc)
                self._failed = target
                log.error(
                    "Version %s of %s failed to load (%s); still answering with version %s.",
                    target, self.holder.ref, reason, current,
                )  # fmt: skip
                result = ReloadResult(current, current, swapped=False, error=reason)
            else:
                self._failed = None
                log.info("Now answering with version %s (was %s).", target, current)
                result = ReloadResult(current, target, swapped=True)
        if self.on_reload is not None:
            self.on_reload(result)
        return result

    def touch_trigger(self) -> None:
        """Tell the other workers of this server to check now."""
        if self.trigger is not None:
            self.trigger.write_text(str(time.time_ns()))

    def start(self) -> None:
        """Start following in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="mlcycle-follow", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (a load in progress finishes in its daemon thread)."""
        self._stop.set()

    def _run(self) -> None:
        if self.holder.loading is not None:  # the first load runs on its own
            self.holder.loading.join()
        seen = self._trigger_stamp()
        next_check = time.monotonic() + self.interval
        while not self._stop.wait(min(TRIGGER_CHECK_S, self.interval or TRIGGER_CHECK_S)):
            stamp = self._trigger_stamp()
            due = self.interval > 0 and time.monotonic() >= next_check
            if not due and stamp == seen:
                continue
            seen = stamp
            next_check = time.monotonic() + self.interval
            try:
                self.check()
            except MlcycleError as exc:
                if self.on_error is not None:
                    self.on_error(exc)
                else:
                    log.warning("Cannot check %s in the registry: %s", self.holder.ref,
                                exc.message)  # fmt: skip
            except Exception:
                log.exception("Checking %s in the registry failed", self.holder.ref)

    def _trigger_stamp(self) -> int:
        try:
            return self.trigger.stat().st_mtime_ns if self.trigger is not None else 0
        except OSError:
            return 0
