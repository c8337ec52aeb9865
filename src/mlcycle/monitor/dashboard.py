"""``monitor dashboard``: a live page on the monitoring summary, no CDN, no network.

Starlette serves one static page (``assets/dashboard.html``, plain JavaScript and
inline SVG) and ``/api/summary``, the same JSON as ``monitor report --json`` for the
last ``window`` of traffic; the page shows the panels the project's task has. The page
fetches it every ``refresh`` seconds; the server rebuilds the summary at most that often,
whatever the number of open pages. The online experiment's comparison (shadow or canary
traffic, :mod:`mlcycle.monitor.compare`) rides along, rebuilt at most once a minute: its
bootstrap intervals cost more than the rest and move slowly.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from mlcycle.core.errors import MlcycleError
from mlcycle.core.settings.monitor import duration_seconds
from mlcycle.monitor.compare import experiment_panel
from mlcycle.monitor.summary import build_summary

EXPERIMENT_MAX_AGE_S = 60.0

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings


class SummaryCache:
    """The latest summary, rebuilt when older than ``max_age`` seconds (one build at a time)."""

    def __init__(self, settings: Settings, window: str, max_age: float) -> None:
        self.settings = settings
        self.span = timedelta(seconds=duration_seconds(window))
        self.max_age = max_age
        self._lock = threading.Lock()
        self._value: dict[str, Any] | None = None
        self._built = 0.0
        self._experiment: dict[str, Any] | None = None
        self._compared = -EXPERIMENT_MAX_AGE_S

    def get(self) -> dict[str, Any]:
        with self._lock:
            if self._value is None or time.monotonic() - self._built >= self.max_age:
                end = datetime.now(UTC)
                self._value = build_summary(self.settings, end - self.span, end).to_dict()
                self._value["experiment"] = self._compare(end)
                self._built = time.monotonic()
            return self._value

    def _compare(self, end: datetime) -> dict[str, Any] | None:
        if time.monotonic() - self._compared >= max(self.max_age, EXPERIMENT_MAX_AGE_S):
            self._experiment = experiment_panel(self.settings, end - self.span, end)
            self._compared = time.monotonic()
        return self._experiment


def _page(refresh: float) -> str:
    page = resources.files("mlcycle.monitor").joinpath("assets/dashboard.html")
    return page.read_text(encoding="utf-8").replace("__REFRESH_MS__", str(int(refresh * 1000)))


def create_dashboard(settings: Settings, window: str, refresh: float = 5.0) -> Starlette:
    """The dashboard app over the last ``window`` of traffic, refreshed every ``refresh`` s."""
    cache = SummaryCache(settings, window, refresh)
    html = _page(refresh)

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    async def summary(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await run_in_threadpool(cache.get))
        except MlcycleError as exc:
            return JSONResponse(exc.to_dict(), status_code=exc.http_status)

    return Starlette(routes=[Route("/", index), Route("/api/summary", summary)])
