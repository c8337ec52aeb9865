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

from mlcycle.monitor import svg
from mlcycle.monitor.summary import build_summary

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


def write_report(summary: dict[str, Any], path: Path) -> Path:
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
    """Build the summary of [start, end) and, with ``output``, write the HTML report."""
    summary = build_summary(settings, start, end)
    if output is not None:
        write_report(summary, output)
    return summary


def render(summary: dict[str, Any]) -> str:
    """The report page of a summary."""
    window, model = summary["window"], summary["model"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>mlcycle monitoring {escape(window['start'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Monitoring report: {escape(str(model['name']))} "
        f"version {escape(str(model['version']))}</h1>",
        f"<p>Window {escape(window['start'])} to {escape(window['end'])} "
        f"(buckets of {window['bucket_seconds']} s). Reference: "
        f"{escape(model['dataset'] or 'none')}. Generated {escape(summary['generated_at'])}.</p>",
    ]
    parts += [f"<p class='note'>{escape(note)}</p>" for note in summary["notes"]]
    for title, renderer in (
        ("Volume and service", _volume),
        ("Predicted codes", _prediction),
        ("Confidence and auto-coding", _confidence),
        ("Text input", _text),
        ("Live accuracy (feedback)", _quality),
    ):
        parts.append(f"<h2>{title}</h2>")
        parts.append(renderer(summary))
    data = json.dumps(summary, ensure_ascii=False).replace("</", "<\\/")
    parts.append(f"<script type='application/json' id='figures'>{data}</script></body></html>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    return escape(str(value))


def _missing(panel: dict[str, Any]) -> str | None:
    if panel.get("available", True):
        return None
    return f"<p class='note'>{escape(panel['reason'])}</p>"


def _verdict(drifted: bool) -> str:
    return "<span class='bad'>drift</span>" if drifted else "<span class='ok'>no drift</span>"


def _volume(summary: dict[str, Any]) -> str:
    volume = summary["volume"]
    series = volume["series"]
    out = [f"<p>{volume['predictions']:,} predictions in {volume['requests']:,} requests.</p>"]
    if series:
        out.append(svg.line_chart(series["t"], {"predictions": series["predictions"]}, "volume"))
        out.append(
            svg.line_chart(
                series["t"], {"p50 ms": series["p50_ms"], "p95 ms": series["p95_ms"]}, "latency"
            )
        )
    service = summary.get("service", {})
    if service.get("available"):
        latency = service["latency_ms"] or {}
        out.append(_table(list(latency), [list(latency.values())]))
        errors = service["errors"]
        out.append(
            _missing(errors)
            or f"<p>Error rate (5xx) since the server started: {errors['rate']}</p>"
        )
    rows = [
        [v["version"], v["predictions"], v["auto_coding_rate"], v["labelled"], v["accuracy_top1"]]
        for v in volume["by_version"]
    ]
    if rows:
        header = ["model version", "predictions", "auto-coding rate", "labelled", "top-1 acc."]
        out.append(_table(header, rows))
    return "".join(out)


def _prediction(summary: dict[str, Any]) -> str:
    panel = summary["prediction"]
    if missing := _missing(panel):
        return missing
    out = []
    drift = panel["drift"]
    if drift.get("available"):
        rows = [
            [level, drift[level]["result"]["method"], drift[level]["result"]["statistic"],
             _verdict_text(drift[level])]
            for level in ("code", "section") if level in drift
        ]  # fmt: skip
        out.append(_table(["level", "method", "score", "verdict"], rows))
        changes = drift["code"]["changes"]
        out.append(
            _table(
                ["code", "training share", "current share"],
                [[c["category"], c["reference_share"], c["current_share"]] for c in changes],
            )
        )
    else:
        out.append(_missing(drift) or "")
    if "sections" not in panel:  # labels without a nomenclature have no groups
        return "".join(out)
    reference = {r["key"]: r["share"] for r in panel.get("reference_sections", [])}
    current = {r["key"]: r["share"] for r in panel["sections"]}
    labels = sorted(set(reference) | set(current))
    bars = {"now": [current.get(s, 0.0) for s in labels]}
    if reference:
        bars = {"training data": [reference.get(s, 0.0) for s in labels], **bars}
    out.append(svg.bar_chart(labels, bars, "section shares"))
    series = panel["section_series"]
    top = sorted(series["shares"], key=lambda s: -sum(series["shares"][s]))[:6]
    lines = {s: series["shares"][s] for s in top}
    out.append(svg.line_chart(series["t"], lines, "sections over time", 1.0, True))
    return "".join(out)


def _verdict_text(drift: dict[str, Any]) -> str:
    return "drift" if drift["result"]["drifted"] else "no drift"


def _confidence(summary: dict[str, Any]) -> str:
    panel = summary["confidence"]
    if missing := _missing(panel):
        return missing
    out = [
        f"<p>Auto-coding rate (top-1 probability ≥ {panel['threshold']}): "
        f"<b>{100 * panel['auto_coding_rate']:.1f}%</b>; mean confidence {panel['mean']:.3f}.</p>"
    ]
    baseline = panel["baseline"]
    if baseline.get("available"):
        d = baseline["drift"]
        out.append(
            f"<p>Window before: {100 * baseline['auto_coding_rate']:.1f}% "
            f"(change {baseline['change_points']:+.1f} points). Confidence drift "
            f"({d['method']}): {d['statistic']:.4g}, {_verdict(d['drifted'])}.</p>"
        )
    else:
        out.append(_missing(baseline) or "")
    labels = [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)]
    bars = {"now": _deciles(panel["histogram"])}
    if sum(panel["baseline_histogram"]):
        bars = {"window before": _deciles(panel["baseline_histogram"]), **bars}
    out.append(svg.bar_chart(labels, bars, "top-1 probability"))
    series = summary["volume"]["series"]
    out.append(
        svg.line_chart(
            series["t"],
            {"auto-coding rate": series["auto_coding_rate"], "mean": series["mean_confidence"]},
            "confidence over time",
            1.0,
            True,
        )
    )
    return "".join(out)


def _deciles(histogram: list[float]) -> list[float]:
    total = sum(histogram) or 1.0
    step = len(histogram) // 10
    return [sum(histogram[i * step : (i + 1) * step]) / total for i in range(10)]


def _text(summary: dict[str, Any]) -> str:
    panel = summary["text"]
    if missing := _missing(panel):
        return missing
    drift = panel["drift"]
    if not drift.get("available"):
        words = [[w, n] for w, n in panel["frequent_words"]]
        return (_missing(drift) or "") + _table(["frequent word", "count"], words)
    tokens = drift["tokens"] or {}
    rows = [
        ["length", drift["length"]["method"], drift["length"]["statistic"],
         _verdict_text({"result": drift["length"]})],
        ["words (JS)", "jensenshannon", tokens.get("statistic"),
         "drift" if tokens.get("drifted") else "no drift"],
        ["unknown-word rate", "share", drift["oov_rate"],
         f"training {_cell(drift['reference_oov_rate'])}"],
        ["empty after cleaning", "share", drift["empty_share"], ""],
        ["mean length", "chars", drift["mean_length"], ""],
    ]  # fmt: skip
    out = [_table(["figure", "method", "value", "verdict"], rows)]
    new = [[t["token"], t["count"], t["share"]] for t in drift["new_tokens"]]
    out.append("<div class='grid'><div><h3>New frequent words</h3>")
    out.append(_table(["word", "count", "share"], new))
    rising = [
        [t["token"], t["reference_share"], t["current_share"]] for t in drift["rising_tokens"]
    ]
    out.append("</div><div><h3>Rising words</h3>")
    header = ["word", "training share", "current share"]
    out.append(_table(header, rising[:10]) + "</div></div>")
    return "".join(out)


def _quality(summary: dict[str, Any]) -> str:
    panel = summary["quality"]
    if missing := _missing(panel):
        return missing
    out = [
        f"<p>{panel['labelled']:,} labelled predictions; {panel['unmatched_feedback']:,} "
        "feedback row(s) name requests the log does not hold (ignored).</p>"
    ]
    rows = [
        [name.replace("accuracy_", ""), m["value"], m["low"], m["high"]]
        for name, m in panel["metrics"].items()
    ]
    out.append(_table(["metric", "value", "95% low", "95% high"], rows))
    series = panel["series"]
    out.append(
        svg.line_chart(
            [s["t"] for s in series],
            {"top-1 accuracy": [s["accuracy_top1"] for s in series]},
            "accuracy over time",
            1.0,
            True,
        )
    )
    pairs = [[c["true"], c["predicted"], c["count"]] for c in panel["confused"]]
    out.append("<h3>Most confused codes</h3>" + _table(["true", "predicted", "count"], pairs))
    return "".join(out)
