"""The dashboard in real headless Chromium (Debian's ``chromium``), driven over DevTools.

The page must load without console errors, fill its volume, drift and accuracy panels
from ``/api/summary`` and refresh; the test saves a screenshot under its tmp dir. A
regression project shows its per-feature drift and live error instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.integration.test_live_experiment import home as live_home  # noqa: F401 (fixture)
from tests.integration.test_monitor import Monitored, monitored  # noqa: F401 (fixture)
from tests.integration.test_monitor_tabular import (  # noqa: F401 (fixture)
    Tabular,
    regression_monitored,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


class DevTools:
    """A minimal Chrome DevTools Protocol client on one page session."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def call(self, method: str, session: bool = False, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression)
        return result["result"].get("value")

    def errors(self) -> list[str]:
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                out.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(params["entry"]["text"])
        return out


def test_dashboard_shows_three_live_panels_in_chromium(
    monitored: Monitored,  # noqa: F811
    tmp_path: Path,
) -> None:
    with _dashboard_in_chromium(monitored.home, tmp_path) as (tools, url):
        _drive(tools, url, tmp_path)


def test_dashboard_shows_feature_drift_and_live_error_of_a_regression(
    regression_monitored: Tabular,  # noqa: F811
    tmp_path: Path,
) -> None:
    with _dashboard_in_chromium(regression_monitored.home, tmp_path) as (tools, url):
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            tools.call(domain, session=True)
        tools.call("Page.navigate", session=True, url=url)
        _wait_for(tools, "document.body.dataset.updated || ''")
        text = {
            name: tools.evaluate(f"document.querySelector('#{name}').innerText")
            for name in ("drift", "features", "accuracy")
        }
        assert "features drifted" in text["drift"] and "values ks" in text["drift"]
        assert "bmi" in text["features"] and "drift" in text["features"]
        assert tools.evaluate("document.getElementById('features').hidden") is False
        assert "Live error" in text["accuracy"] and "RMSE on 300 labelled" in text["accuracy"]
        assert "auto-coding" not in text["drift"]
        assert tools.evaluate("document.getElementById('experiment').hidden") is True
        assert tools.errors() == []


def test_dashboard_shows_the_online_experiment(
    live_home: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    with _dashboard_in_chromium(live_home, tmp_path) as (tools, url):
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            tools.call(domain, session=True)
        tools.call("Page.navigate", session=True, url=url)
        _wait_for(tools, "document.body.dataset.updated || ''")
        assert tools.evaluate("document.getElementById('experiment').hidden") is False
        text = tools.evaluate("document.querySelector('#experiment').innerText")
        # The shadowed versions 2, 3 and 4 against the champion, version 1.
        for challenger in ("2", "3", "4"):
            assert f"shadow: version 1 vs {challenger}" in text, text
        assert "agreement" in text and "accuracy_top1 difference" in text and "p = " in text
        assert tools.errors() == []


@contextlib.contextmanager
def _dashboard_in_chromium(home: Path, tmp_path: Path) -> Iterator[tuple[DevTools, str]]:
    """``monitor dashboard`` over the last 3 hours and a headless Chromium attached to it."""
    from websockets.sync.client import connect

    port = _free_port()
    dashboard = subprocess.Popen(
        [sys.executable, "-m", "mlcycle", "monitor", "dashboard", "--port", str(port),
         "--refresh", "1", "--since", "3h"],
        env=cli_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url + "api/summary", dashboard, 120)
        with connect(_devtools_url(browser), max_size=None, open_timeout=30) as ws:
            yield DevTools(ws), url
    finally:
        for process in (browser, dashboard):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _drive(tools: DevTools, url: str, tmp_path: Path) -> None:
    """Load the page, check the three panels and a refresh, take a screenshot."""
    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        tools.call(domain, session=True)
    tools.call("Page.navigate", session=True, url=url)
    first = _wait_for(tools, "document.body.dataset.updated || ''")
    panels = {
        name: tools.evaluate(f"document.querySelector('#{name} .body').innerText")
        for name in ("volume", "drift", "accuracy")
    }
    assert "predictions" in panels["volume"] and "1,200" in panels["volume"]
    assert "codes JS" in panels["drift"] and "auto-coding rate" in panels["drift"]
    assert "top-1" in panels["accuracy"] and "%" in panels["accuracy"]
    # Live: the page fetches again by itself and shows a newer summary.
    newer = f"(document.body.dataset.updated || '') > '{first}' ? 'yes' : ''"
    assert _wait_for(tools, newer, timeout=30) == "yes"
    shot = tools.call("Page.captureScreenshot", session=True, format="png")
    picture = tmp_path / "dashboard.png"
    picture.write_bytes(base64.b64decode(shot["data"]))
    assert picture.stat().st_size > 5_000
    assert tools.errors() == []


def _devtools_url(browser: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = browser.stderr.readline()
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            return found[1]
        if not line and browser.poll() is not None:
            break
    raise AssertionError("chromium did not open its DevTools port")


def _wait_for(tools: DevTools, expression: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = tools.evaluate(expression)
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{expression} stayed empty")
