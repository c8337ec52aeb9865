"""Online experiments: a challenger served beside the champion (``serve.experiment``).

``shadow``: a ``share`` of requests, sampled by request id, is also scored by the
challenger off the response path, in the challenger's own process
(:mod:`mlcycle.serve.shadow_link`); clients get the champion's answer. ``canary``: a
``share`` of requests is answered by the challenger, chosen by a hash of the client's
API-key name (``sticky: key``: a client always gets the same arm; a request without a
key by its id) or of the request id (``sticky: request``); the answer's ``model`` says
which version spoke. The log says which arm answered. A
request the canary challenger fails on is answered by the champion (its arm and version
in the answer and the log): the failure is counted and logged once per kind, and never
reaches the client.

The challenger has its own holder and follows its alias like the champion (in shadow
mode, in its own process, which reports here). One that does not exist or fails to load
leaves the champion answering alone: the reason is logged once, shown by ``/ready``,
counted, and the registry is asked again every ``serve.reload_seconds``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlcycle.core.errors import MlcycleError
from mlcycle.core.settings import ExperimentSettings
from mlcycle.serve.answers import AnyPredictor
from mlcycle.serve.follow import AliasFollower, ReloadResult
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.shadow import ShadowJob, first_of_kind
from mlcycle.serve.shadow_link import ShadowLink

if TYPE_CHECKING:
    from mlcycle.models.protocol import ServedModel

log = logging.getLogger(__name__)

CHAMPION = "champion"
CANARY = "canary"
_SCALE = float(2**64)


def share_point(text: str) -> float:
    """A point in [0, 1) fixed by ``text``: the same id or key always falls the same side
    of a share, and the points of many are spread evenly."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


class Experiment:
    """Which arm answers each request, and the challenger's state."""

    def __init__(
        self,
        config: ExperimentSettings,
        holder: ModelHolder,
        shadow: ShadowLink | None = None,
        metrics: Metrics | None = None,
        retry_s: float = 30.0,
    ) -> None:
        """
        Args:
            config: Mode, share and stickiness (mode is shadow or canary).
            holder: The challenger's holder (canary mode: the shadow's is in its process).
            shadow: The shadow challenger's process (shadow mode only).
            metrics: Counts the challenger's load failures.
            retry_s: How often a missing challenger is looked for again (for messages).
        """
        self.mode = config.mode
        self.share = config.share
        self.sticky = config.sticky
        self.holder = holder
        self.link = shadow
        if shadow is not None:
            shadow.on_reload = self.reloaded
            shadow.on_failed = lambda reason: self.failed(MlcycleError(reason))
        self.metrics = metrics
        self.retry_s = retry_s
        self.follower: AliasFollower | None = None
        self.reason: str | None = None  # why the challenger is not answering, if it is not
        self._said: str | None = None
        self._said_kinds: set[str] = set()  # kinds of canary failure already logged

    # -- the request path ---------------------------------------------------------------

    def arm(
        self, champion: AnyPredictor, request_id: str, key: str | None
    ) -> tuple[AnyPredictor, str]:
        """The predictor that answers this request and its arm (the champion's in shadow
        mode and whenever the challenger is not loaded)."""
        challenger = self.holder.predictor
        if self.mode != CANARY or challenger is None:
            return champion, CHAMPION
        by = key if key is not None and self.sticky == "key" else request_id
        return (challenger, CANARY) if share_point(by) < self.share else (champion, CHAMPION)

    def shadow(self, raw: bytes, request_id: str, ms: int, key: str | None, items: int) -> None:
        """Hand an answered request (of ``items`` texts or records) to the shadow
        challenger when it is sampled."""
        link = self.link
        if link is None or link.version is None:
            return
        if self.share >= 1.0 or share_point(request_id) < self.share:
            link.submit(ShadowJob(raw, request_id, ms, key, items))

    def champion_working(self) -> contextlib.AbstractContextManager[None]:
        """Around the champion's answer: a shadow challenger's process waits for its end
        before scoring (nothing for a canary)."""
        link = self.link
        return link.champion_working() if link is not None else contextlib.nullcontext()

    def fell_back(self, exc: Exception, version: str) -> str:
        """The canary challenger (``version``) failed on a request the champion then
        answered: counted each time, said once per kind of error. Returns the arm that
        answered instead."""
        if self.metrics is not None:
            self.metrics.challenger_errors.labels("answer").inc()
        if first_of_kind(exc, self._said_kinds):
            said = exc.message if isinstance(exc, MlcycleError) else repr(exc)
            log.warning(
                "The canary challenger %s (version %s) failed on a request, which the "
                "champion answered instead: %s (said once per kind of error).",
                self.holder.ref, version, said,
                exc_info=None if isinstance(exc, MlcycleError) else exc,
            )  # fmt: skip
        exc.__traceback__ = None  # its frames may hold the body: let it go now
        return CHAMPION

    # -- the challenger's state ---------------------------------------------------------

    @property
    def version(self) -> str | None:
        """The challenger's version answering now; None when none is."""
        return self.link.version if self.link is not None else self.holder.version

    def status(self) -> dict[str, Any]:
        """What ``/ready`` says of the experiment."""
        return {
            "mode": self.mode, "challenger": self.holder.ref, "version": self.version,
            "share": self.share, "sticky": self.sticky if self.mode == CANARY else None,
            "error": self.reason,
        }  # fmt: skip

    def load_in_background(self, load: Callable[[], ServedModel]) -> threading.Thread:
        """Load the challenger in a daemon thread (or start the shadow's process); a
        failure is remembered, not raised. The thread ends once it is in or failed."""
        if self.link is not None:
            return self.link.start()
        thread = threading.Thread(
            target=self._load, args=(load,), name="challenger-load", daemon=True
        )
        self.holder.loading = thread  # the follower waits for it
        thread.start()
        return thread

    def failed(self, exc: BaseException) -> None:
        """The challenger could not be found or loaded: counted each time, said once."""
        reason = exc.message if isinstance(exc, MlcycleError) else repr(exc)
        self.reason = reason
        if self.metrics is not None:
            self.metrics.challenger_errors.labels("load").inc()
        if reason == self._said:
            return
        self._said = reason
        log.warning(
            "The challenger %s is not served (%s); the champion answers alone, and the "
            "registry is asked again every %g s.", self.holder.ref, reason, self.retry_s,
        )  # fmt: skip

    def reloaded(self, result: ReloadResult) -> None:
        """The follower's report: a swap clears the reason, a failed version sets it."""
        if result.swapped:
            self.reason = self._said = None
            log.info("The challenger %s is version %s now.", self.holder.ref, result.current)
        elif result.error is not None:
            self.failed(MlcycleError(result.error))

    def start(self) -> None:
        """Follow the challenger's alias (the shadow's process follows its own)."""
        if self.follower is not None:
            self.follower.start()

    def stop(self) -> None:
        """Stop following, and let the shadow's process score what it was sent."""
        if self.follower is not None:
            self.follower.stop()
        if self.link is not None:
            self.link.stop()

    def _load(self, load: Callable[[], ServedModel]) -> None:
        try:
            served = load()
            self.holder.swap(served)
        except Exception as exc:  # the champion answers alone; the follower retries
            self.failed(exc)
        else:
            log.info(
                "The challenger %s version %s is loaded (%s of %g of requests).",
                self.holder.ref, served.version, self.mode, self.share,
            )  # fmt: skip
