"""The Grafana dashboard, checked offline: Grafana is not run, so its structure is.

A dashboard Grafana would load needs a title and uid, panels with unique ids laid on the
24-column grid without overlapping, each query with a refId and an expression, and every
``$variable`` an expression uses defined. ``queries`` hands the expressions on, so their
PromQL syntax (promtool) and metric names (the tests) are checked too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

GRID_COLUMNS = 24
# Variables Grafana defines itself.
BUILT_IN = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"}
VARIABLE = re.compile(r"\$\{?(\w+)")


def load(path: Path) -> tuple[dict | None, str | None]:
    """The dashboard, or why it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, json.JSONDecodeError) as exc:
        return None, f"{path.name} is not readable JSON ({exc})."


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, rows' nested panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """``(panel title, expression)`` for every query."""
    for panel in panels(dashboard):
        for target in panel.get("targets") or []:
            yield panel.get("title", "?"), target.get("expr", "")


def problems(dashboard: dict) -> list[str]:
    """What would make Grafana refuse the dashboard or show a broken panel."""
    found = [f"the dashboard has no {key}." for key in ("title", "uid") if not dashboard.get(key)]
    if not isinstance(dashboard.get("schemaVersion"), int):
        found.append("the dashboard has no integer schemaVersion.")
    defined = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
    ids: set[int] = set()
    boxes: list[tuple[str, dict]] = []
    for panel in panels(dashboard):
        title = panel.get("title", "?")
        panel_id = panel.get("id")
        if not isinstance(panel_id, int) or panel_id in ids:
            found.append(f"panel '{title}' has a missing or repeated id.")
        else:
            ids.add(panel_id)
        found += _layout(panel, title, boxes)
        if panel.get("type") != "row":
            found += _panel_queries(panel, title, defined | BUILT_IN)
    return found


def _layout(panel: dict, title: str, boxes: list[tuple[str, dict]]) -> list[str]:
    grid = panel.get("gridPos") or {}
    if not all(isinstance(grid.get(k), int) for k in "xywh"):
        return [f"panel '{title}' has no complete gridPos (x, y, w, h)."]
    if grid["x"] < 0 or grid["x"] + grid["w"] > GRID_COLUMNS:
        return [f"panel '{title}' goes past the {GRID_COLUMNS}-column grid."]
    for other, box in boxes:
        if _overlap(grid, box):
            return [f"panel '{title}' overlaps panel '{other}'."]
    boxes.append((title, grid))
    return []


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def _panel_queries(panel: dict, title: str, defined: set[str]) -> list[str]:
    found = []
    source = str((panel.get("datasource") or {}).get("uid", ""))
    if not source:
        found.append(f"panel '{title}' names no datasource.")
    targets = panel.get("targets") or []
    if not targets:
        found.append(f"panel '{title}' has no query.")
    refs = [t.get("refId") for t in targets]
    if len(set(refs)) != len(refs) or not all(refs):
        found.append(f"panel '{title}' has a missing or repeated refId.")
    for target in targets:
        text = f"{source} {target.get('expr', '')}"
        for name in sorted(set(VARIABLE.findall(text)) - defined):
            found.append(f"panel '{title}' uses ${name}, which the dashboard does not define.")
        if not target.get("expr", "").strip():
            found.append(f"panel '{title}' has a query without an expression.")
    return found
