"""``monitor report``: one self-contained HTML file of a window's figures, and its JSON.

The page holds inline SVG charts and the summary itself as embedded JSON; it loads
nothing from the network. Everything it draws is an aggregate, so a window of a
million predictions gives a page of a few hundred kilobytes at most.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcycle.monitor import report_sections as section
from mlcycle.monitor import svg
from mlcycle.monitor.compare import experiment_panel, render_panel
from mlcycle.monitor.summary import Summary, build_summary

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .6em;
text-align:left;font-size:.9em}.note{background:#fff4e5;border-left:4px solid #f0a000;
padding:.4em .8em;margin:.4em 0}.bad{color:#c00;font-weight:bold}.ok{color:#080}
.grid{display:flex;flex-wrap:wrap;gap:1em}
"""


def write_report(summary: Summary, path: Path) -> Path:
    """Write the HTML report atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(render(summary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def make_report(
    settings: Settings, start: datetime, end: datetime, output: Path | None = None
) -> dict[str, Any]:
    """Build the summary of [start, end) and, with ``output``, write the HTML report.

    Returns the summary's JSON form (what ``monitor report --json`` prints); callers
    that want the typed panels call :func:`~mlcycle.monitor.summary.build_summary`.
    """
    summary = build_summary(settings, start, end)
    # Only the report pays for reading the shadow log (check and the dashboard do not).
    summary.experiment = experiment_panel(settings, start, end)
    if output is not None:
        write_report(summary, output)
    return summary.to_dict()


def render(summary: Summary) -> str:
    """The report page of a summary: the sections of the panels its task has."""
    window, model = summary.window, summary.model
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>mlcycle monitoring {escape(window.start)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Monitoring report: {escape(str(model.name))} "
        f"version {escape(str(model.version))}</h1>",
        f"<p>Task {escape(summary.task)}. Window {escape(window.start)} to "
        f"{escape(window.end)} (buckets of {window.bucket_seconds} s). Reference: "
        f"{escape(model.dataset or 'none')}. Generated {escape(summary.generated_at)}.</p>",
    ]
    parts += [f"<p class='note'>{escape(note)}</p>" for note in summary.notes]
    regression = summary.quality.kind == "error"
    for title, renderer, shown in (
        ("Volume and service", _volume, True),
        ("Predicted values" if regression else "Predicted labels", section.prediction, True),
        ("Confidence and auto-coding", section.confidence, summary.confidence is not None),
        ("Text input", section.text, summary.text is not None),
        ("Input features", section.features, summary.features is not None),
        (f"Live {'error' if regression else 'accuracy'} (feedback)", section.quality, True),
        ("Online experiment (champion vs challenger)", _experiment, bool(summary.experiment)),
    ):
        if shown:
            parts.append(f"<h2>{title}</h2>{renderer(summary)}")
    data = json.dumps(summary.to_dict(), ensure_ascii=False).replace("</", "<\\/")
    parts.append(f"<script type='application/json' id='figures'>{data}</script></body></html>")
    return "".join(parts)


def _experiment(summary: Summary) -> str:
    return render_panel(summary.experiment or {})


def _volume(summary: Summary) -> str:
    volume = summary.volume
    series = volume.series
    out = [f"<p>{volume.predictions:,} predictions in {volume.requests:,} requests.</p>"]
    if series.t:
        out.append(
            svg.line_chart(series.t, {"predictions": series.values["predictions"]}, "volume")
        )
        latency = {"p50 ms": series.values["p50_ms"], "p95 ms": series.values["p95_ms"]}
        out.append(svg.line_chart(series.t, latency, "latency"))
    service = summary.service
    if service.available:
        quantiles = service.latency_ms or {}
        out.append(section.table(list(quantiles), [list(quantiles.values())]))
        errors = service.errors
        shown = errors.result.rate if errors.result is not None else None
        out.append(
            section.missing(errors) or f"<p>Error rate (5xx) since the server started: {shown}</p>"
        )
    regression = summary.quality.kind == "error"
    rows = [
        [v.version, v.predictions, v.labelled, v.rmse] if regression
        else [v.version, v.predictions, v.auto_coding_rate, v.labelled, v.accuracy_top1]
        for v in volume.by_version
    ]  # fmt: skip
    if rows:
        measured = ["RMSE"] if regression else ["auto-coding rate", "labelled", "top-1 acc."]
        header = ["model version", "predictions", *(["labelled"] if regression else []), *measured]
        out.append(section.table(header, rows))
    return "".join(out)
