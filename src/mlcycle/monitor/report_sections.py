"""The HTML of each report section, one function per panel (typed, see ``panels``).

Each renderer takes the summary and returns an HTML fragment: tables and inline SVG
charts, every value escaped. A panel that could not be computed shows its reason.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from mlcycle.monitor import svg
from mlcycle.monitor.panels import (
    AccuracyPanel,
    ErrorPanel,
    LabelPredictionPanel,
    Panel,
    ValuePredictionPanel,
)

if TYPE_CHECKING:
    from mlcycle.monitor.summary import Summary


def table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(value)}</td>" for value in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def cell(value: Any) -> str:
    if isinstance(value, bool):
        return verdict(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    return escape(str(value))


def missing(panel: Panel) -> str | None:
    if panel.available:
        return None
    return f"<p class='note'>{escape(panel.reason or '')}</p>"


def verdict(drifted: bool) -> str:
    return "<span class='bad'>drift</span>" if drifted else "<span class='ok'>no drift</span>"


def prediction(summary: Summary) -> str:
    panel = summary.prediction
    if isinstance(panel, LabelPredictionPanel):
        return labels(panel)
    return values(panel)


def labels(panel: LabelPredictionPanel) -> str:
    if found := missing(panel):
        return found
    out = []
    drift = panel.drift
    if drift.available and drift.code is not None:
        levels = [("label", drift.code), ("section", drift.section)]
        rows = [[level, d.result.method, d.result.statistic, d.result.drifted]
                for level, d in levels if d is not None]  # fmt: skip
        out.append(table(["level", "method", "score", "verdict"], rows))
        changes = [[c["category"], c["reference_share"], c["current_share"]]
                   for c in drift.code.changes]  # fmt: skip
        out.append(table(["label", "training share", "current share"], changes))
    else:
        out.append(missing(drift) or "")
    if panel.sections is None or panel.section_series is None:
        top = [[s.key, s.count, s.share] for s in panel.codes]
        return "".join(out) + table(["predicted label", "count", "share"], top)
    reference = {s.key: s.share for s in panel.reference_sections or []}
    current = {s.key: s.share for s in panel.sections}
    keys = sorted(set(reference) | set(current))
    bars = {"now": [current.get(s, 0.0) for s in keys]}
    if reference:
        bars = {"training data": [reference.get(s, 0.0) for s in keys], **bars}
    out.append(svg.bar_chart(keys, bars, "section shares"))
    series = panel.section_series
    top_sections = sorted(series.values, key=lambda s: -sum(v or 0 for v in series.values[s]))
    lines = {s: series.values[s] for s in top_sections[:6]}
    out.append(svg.line_chart(series.t, lines, "sections over time", 1.0, True))
    return "".join(out)


def values(panel: ValuePredictionPanel) -> str:
    if found := missing(panel):
        return found
    rows = [["now", panel.count, panel.mean, panel.std,
             *(panel.quantiles.get(q) for q in ("0.05", "0.5", "0.95"))]]  # fmt: skip
    if panel.reference_quantiles is not None:
        known = panel.reference_quantiles
        rows.insert(0, ["training target", None, panel.reference_mean, panel.reference_std,
                        *(known.get(q) for q in ("0.05", "0.5", "0.95"))])  # fmt: skip
    out = [table(["values", "count", "mean", "std", "5%", "median", "95%"], rows)]
    drift = panel.drift
    if drift.result is not None:
        d = drift.result
        out.append(
            f"<p>Predicted values against the training target ({escape(d.method)}): "
            f"{d.statistic:.4g}, {verdict(d.drifted)}. A model's predictions spread less "
            "than its target, so some distance is expected: compare windows.</p>"
        )
    else:
        out.append(missing(drift) or "")
    if panel.edges and panel.histogram and panel.reference_histogram:
        edges = panel.edges
        names = [f"{svg.short(edges[i])}-{svg.short(edges[i + 1])}" for i in range(len(edges) - 1)]
        bars = {"training target": _shares(panel.reference_histogram),
                "now": _shares(panel.histogram)}  # fmt: skip
        out.append(svg.bar_chart(names, bars, "predicted values"))
    series = panel.series
    out.append(svg.line_chart(series.t, {"mean prediction": series.values.get("mean", [])},
                              "mean prediction over time"))  # fmt: skip
    return "".join(out)


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts) or 1
    return [c / total for c in counts]


def confidence(summary: Summary) -> str:
    panel = summary.confidence
    if panel is None:
        return ""
    if found := missing(panel):
        return found
    out = [
        f"<p>Auto-coding rate (top-1 probability ≥ {panel.threshold}): "
        f"<b>{100 * (panel.auto_coding_rate or 0):.1f}%</b>; mean confidence "
        f"{panel.mean or 0:.3f}.</p>"
    ]
    baseline = panel.baseline
    if baseline.available and baseline.drift is not None:
        d = baseline.drift
        out.append(
            f"<p>Window before: {100 * (baseline.auto_coding_rate or 0):.1f}% "
            f"(change {baseline.change_points or 0:+.1f} points). Confidence drift "
            f"({escape(d.method)}): {d.statistic:.4g}, {verdict(d.drifted)}.</p>"
        )
    else:
        out.append(missing(baseline) or "")
    names = [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)]
    bars = {"now": _deciles(panel.histogram)}
    if sum(panel.baseline_histogram):
        bars = {"window before": _deciles(panel.baseline_histogram), **bars}
    out.append(svg.bar_chart(names, bars, "top-1 probability"))
    series = summary.volume.series
    lines = {"auto-coding rate": series.values.get("auto_coding_rate", []),
             "mean": series.values.get("mean_confidence", [])}  # fmt: skip
    out.append(svg.line_chart(series.t, lines, "confidence over time", 1.0, True))
    return "".join(out)


def _deciles(histogram: list[float]) -> list[float]:
    total = sum(histogram) or 1.0
    step = len(histogram) // 10
    return [sum(histogram[i * step : (i + 1) * step]) / total for i in range(10)]


def text(summary: Summary) -> str:
    panel = summary.text
    if panel is None:
        return ""
    if found := missing(panel):
        return found
    drift = panel.drift.result
    if drift is None:
        words = [[w, n] for w, n in panel.frequent_words]
        return (missing(panel.drift) or "") + table(["frequent word", "count"], words)
    tokens = drift.tokens
    rows: list[list[Any]] = [
        ["length", drift.length.method, drift.length.statistic, drift.length.drifted],
        ["words (JS)", "jensenshannon", tokens.statistic if tokens else None,
         tokens.drifted if tokens else None],
        ["unknown-word rate", "share", drift.oov_rate,
         f"training {cell(drift.reference_oov_rate)}"],
        ["empty after cleaning", "share", drift.empty_share, ""],
        ["mean length", "chars", drift.mean_length, ""],
    ]  # fmt: skip
    out = [table(["figure", "method", "value", "verdict"], rows)]
    new = [[t["token"], t["count"], t["share"]] for t in drift.new_tokens]
    out.append("<div class='grid'><div><h3>New frequent words</h3>")
    out.append(table(["word", "count", "share"], new))
    rising = [[t["token"], t["reference_share"], t["current_share"]] for t in drift.rising_tokens]
    out.append("</div><div><h3>Rising words</h3>")
    out.append(table(["word", "training share", "current share"], rising[:10]) + "</div></div>")
    return "".join(out)


def features(summary: Summary) -> str:
    panel = summary.features
    if panel is None:
        return ""
    if found := missing(panel):
        return found
    out = [
        f"<p>{panel.records:,} logged records; {panel.drifted_count} of "
        f"{sum(c.result is not None for c in panel.columns)} features drifted (share "
        f"{panel.drifted_share:.2f}): {verdict(panel.dataset_drift)} of the dataset "
        f"(from a share of {panel.drift_share}).</p>"
    ]
    if panel.unreadable:
        out.append(f"<p class='note'>{panel.unreadable:,} logged records are not JSON "
                   "objects and were left out.</p>")  # fmt: skip
    rows = []
    for c in panel.columns:
        r = c.result
        rows.append([
            c.column, c.type, r.method if r else c.reason, r.statistic if r else None,
            r.threshold if r else None, r.drifted if r else None, c.reference_null_share,
            c.null_share, _moved(c),
        ])  # fmt: skip
    header = ["feature", "type", "method", "statistic", "threshold", "verdict",
              "training nulls", "nulls now", "what moved"]  # fmt: skip
    out.append(table(header, rows))
    return "".join(out)


def _moved(column: Any) -> str:
    if column.reference_mean is not None and column.current_mean is not None:
        return f"mean {column.reference_mean:.4g} → {column.current_mean:.4g}"
    return ", ".join(
        f"{c['category']} {100 * c['reference_share']:.0f}% → {100 * c['current_share']:.0f}%"
        for c in column.changes
    )


def quality(summary: Summary) -> str:
    panel = summary.quality
    if isinstance(panel, ErrorPanel):
        return error(panel)
    return accuracy(panel)


def accuracy(panel: AccuracyPanel) -> str:
    if found := missing(panel):
        return found
    out = [
        f"<p>{panel.labelled:,} labelled predictions; {panel.unmatched_feedback:,} "
        "feedback row(s) name requests the log does not hold (ignored).</p>"
    ]
    rows = [[name.replace("accuracy_", ""), m.value, m.low, m.high]
            for name, m in panel.metrics.items()]  # fmt: skip
    out.append(table(["metric", "value", "95% low", "95% high"], rows))
    points = panel.series
    lines = {"top-1 accuracy": [p.accuracy_top1 for p in points]}
    out.append(svg.line_chart([p.t for p in points], lines, "accuracy over time", 1.0, True))
    pairs = [[c["true"], c["predicted"], c["count"]] for c in panel.confused]
    out.append("<h3>Most confused labels</h3>" + table(["true", "predicted", "count"], pairs))
    return "".join(out)


def error(panel: ErrorPanel) -> str:
    if found := missing(panel):
        return found
    out = [
        f"<p>{panel.labelled:,} labelled predictions; {panel.unmatched_feedback:,} "
        "feedback row(s) name requests the log does not hold (ignored).</p>"
    ]
    rows = [[name, m.value, m.low, m.high, panel.trained.get(name)]
            for name, m in panel.metrics.items()]  # fmt: skip
    out.append(table(["metric", "value", "95% low", "95% high", "at training"], rows))
    points = panel.series
    lines = {"RMSE": [p.rmse for p in points], "MAE": [p.mae for p in points]}
    out.append(svg.line_chart([p.t for p in points], lines, "error over time"))
    largest = [[e.request_id, e.index, e.predicted, e.true, e.error] for e in panel.largest]
    header = ["request", "index", "predicted", "true", "error"]
    out.append("<h3>Largest errors</h3>" + table(header, largest))
    return "".join(out)
