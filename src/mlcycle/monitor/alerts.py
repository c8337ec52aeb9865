"""Alert delivery: breached rules as an Alertmanager-compatible JSON array, POSTed.

The body is what Alertmanager's ``POST /api/v2/alerts`` takes: a list of alerts, each
with ``labels`` (``alertname``, ``severity``, ``model``, ``version``, ``rule``),
``annotations`` (``summary``, ``description``), ``startsAt`` and ``generatorURL``. Any
receiver that reads JSON (a chat webhook relay, a ticketing hook) gets the same list.
A receiver that fails is reported, never fatal: the check's exit code still says
what breached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcycle.core.settings.monitor import MonitorSettings
    from mlcycle.monitor.rules import CheckResult

SEVERITY = {"error_rate": "critical", "live_accuracy": "critical", "live_error": "critical"}


def alert_payload(result: CheckResult) -> list[dict[str, Any]]:
    """One Alertmanager alert per breached rule."""
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    model = result.model
    alerts = []
    for rule in result.breached:
        name = "Mlcycle" + "".join(part.title() for part in rule.rule.split("_"))
        alerts.append(
            {
                "labels": {
                    "alertname": name,
                    "severity": SEVERITY.get(rule.rule, "warning"),
                    "model": str(model.get("name")),
                    "version": str(model.get("version")),
                    "rule": rule.rule,
                },
                "annotations": {
                    "summary": rule.message,
                    "description": (
                        f"{rule.rule}: value {rule.value}, threshold {rule.threshold}, window "
                        f"{result.window['start']} to {result.window['end']}."
                    ),
                },
                "startsAt": now,
                "generatorURL": "mlcycle monitor check",
            }
        )
    return alerts


def send_alerts(result: CheckResult, settings: MonitorSettings) -> list[dict[str, Any]]:
    """POST the alerts to every webhook; one delivery record per webhook."""
    import httpx

    payload = alert_payload(result)
    deliveries = []
    for url in settings.webhooks:
        try:
            reply = httpx.post(url, json=payload, timeout=settings.webhook_timeout_s)
            ok = reply.status_code < 300
            deliveries.append({"url": url, "status": reply.status_code, "delivered": ok})
        except httpx.HTTPError as exc:
            deliveries.append({"url": url, "status": None, "delivered": False, "error": str(exc)})
    return deliveries
