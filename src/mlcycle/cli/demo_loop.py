"""The second half of ``mlcycle demo``: traffic, drift, alert, retrain, swap, report.

The server started by the first half keeps running and follows ``nace@production``;
this half sends it normal then drifted generated traffic (with true codes for part of
the drifted texts, through ``POST /feedback``), runs the monitoring check over the
drifted window (it fires), retrains on the latest data plus that feedback, waits for
the server to swap to the promoted version, sends more drifted traffic and writes the
report that shows the drift and the recovery.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

BATCH = 50


def send_traffic(url: str, frame: Any, feedback_share: float = 0.0) -> dict[str, int]:
    """POST the frame's texts in batches; send the true code of the first share of them."""
    import httpx

    texts, codes = frame["text"].tolist(), frame["nace"].tolist()
    sent = labelled = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        versions: dict[str, int] = {}
        for start in range(0, len(texts), BATCH):
            batch = texts[start : start + BATCH]
            reply = client.post("/predict", json={"texts": batch, "k": 5})
            reply.raise_for_status()
            answer = reply.json()
            version = answer["model"]["version"]
            versions[version] = versions.get(version, 0) + len(batch)
            sent += len(batch)
            if start < feedback_share * len(texts):
                items = [
                    {"request_id": answer["request_id"], "index": i, "true_code": code}
                    for i, code in enumerate(codes[start : start + BATCH])
                ]
                client.post("/feedback", json=items).raise_for_status()
                labelled += len(items)
    return {"sent": sent, "labelled": labelled, "versions": versions}


def wait_for_version(url: str, version: str, timeout: float = 90.0) -> bool:
    """Ask the server to check its alias now, then wait until it answers with ``version``."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{url}/admin/reload", timeout=60)
            reply = httpx.post(f"{url}/predict", json={"texts": ["boulanger"]}, timeout=30)
            if reply.json()["model"]["version"] == version:
                return True
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(1.0)
    return False


def run_loop(console: Any, url: str, settings: Any, rows: int, seed: int, flush_s: float) -> None:
    """Steps 5 to 9 of the demo, against the running server at ``url``."""
    from mlcycle.monitor.report import make_report
    from mlcycle.monitor.rules import run_check
    from mlcycle.tasks.text.generator import generate

    traffic = max(300, rows // 25)
    # The server's /metrics gives the check its error rate (the log holds answers only).
    monitor = settings.monitor.model_copy(update={"metrics_url": f"{url}/metrics"})
    settings = settings.model_copy(update={"monitor": monitor})
    began = datetime.now(UTC) - timedelta(seconds=1)
    console.rule("[bold]5. Normal traffic, then drifted traffic with feedback")
    normal = send_traffic(url, generate(traffic, seed + 1))
    console.print(f"Normal traffic: {normal['sent']:,} texts.")
    drift_start = datetime.now(UTC)
    drifted = send_traffic(url, generate(traffic, seed + 2, drift=True), feedback_share=0.5)
    console.print(
        f"Drifted traffic (new vocabulary, another class mix): {drifted['sent']:,} texts, "
        f"{drifted['labelled']:,} with their true code sent to /feedback."
    )
    time.sleep(flush_s)  # the server writes its log every flush interval
    console.rule("[bold]6. Monitoring check")
    check_end = datetime.now(UTC)
    check = run_check(settings, drift_start, check_end)
    for rule in check.results:
        colour = "red" if rule.breached else "green" if rule.status == "ok" else "yellow"
        console.print(f"[{colour}]{rule.status.upper():9}[/] {rule.rule}: {rule.message}")
    console.print(f"The check {'fires' if check.breached else 'is quiet'} (exit code "
                  f"{check.exit_code}).")  # fmt: skip
    console.rule("[bold]7. Retrain on the latest data plus feedback, promote through the gates")
    outcome = _retrain(console, settings, drift_start, check_end)
    console.rule("[bold]8. The server swaps to the new version")
    if outcome.version and outcome.outcome == "promoted":
        swapped = wait_for_version(url, outcome.version)
        console.print(
            f"Server answers with version {outcome.version}." if swapped
            else "The server did not swap in time; see the server log."
        )  # fmt: skip
        after = send_traffic(url, generate(traffic, seed + 3, drift=True), feedback_share=0.5)
        console.print(f"More drifted traffic after the swap: {after['sent']:,} texts.")
        time.sleep(flush_s)
    console.rule("[bold]9. Monitoring report: the drift and the recovery")
    report = settings.home / "monitoring-report.html"
    summary = make_report(settings, began, datetime.now(UTC) + timedelta(seconds=1), report)
    _print_versions(console, summary)
    console.print(f"Report (open it in a browser, no network needed): {report.resolve()}")


def _retrain(console: Any, settings: Any, start: datetime, end: datetime) -> Any:
    from mlcycle.cli.retrain import print_outcome
    from mlcycle.cli.train import _progress
    from mlcycle.loop.retrain import retrain

    with _progress(console) as reporter:
        result = retrain(settings, if_needed=True, start=start, end=end, reporter=reporter)
    print_outcome(console, result)
    return result


def _print_versions(console: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Traffic by served version (all demo traffic)")
    for column in ("version", "predictions", "auto-coding rate", "labelled", "top-1 accuracy"):
        table.add_column(column)
    for row in summary["volume"]["by_version"]:
        accuracy = row["accuracy_top1"]
        table.add_row(
            str(row["version"]), f"{row['predictions']:,}", f"{100 * row['auto_coding_rate']:.1f}%",
            f"{row['labelled']:,}", "-" if accuracy is None else f"{100 * accuracy:.1f}%",
        )  # fmt: skip
    console.print(table)
