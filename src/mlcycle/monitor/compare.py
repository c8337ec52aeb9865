"""``monitor compare``: champion and challenger side by side on a window's live traffic.

Reads the window's prediction log, shadow log and feedback
(:mod:`mlcycle.data.experiment`) and compares each pair of versions found
(:mod:`mlcycle.models.live`): shadow pairs (the same requests answered by both) give the
agreement rate, where the versions disagree and, on labelled requests, the paired
difference of live quality; canary arms give each arm's live quality and the
independent difference. The report's experiment panel shows the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from mlcycle.data.experiment import read_experiment
from mlcycle.data.predlog import Skipped
from mlcycle.models.intervals import CONFIDENCE
from mlcycle.models.live import Comparison
from mlcycle.models.live_compare import comparisons
from mlcycle.monitor.panels import iso
from mlcycle.monitor.results import NoData
from mlcycle.tasks import task_of

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings


@dataclass
class CompareResult:
    """Every comparison of one window."""

    start: datetime
    end: datetime
    task: str
    comparisons: list[Comparison]
    confidence: float = CONFIDENCE
    skipped: list[Skipped] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "task": self.task,
            "confidence": self.confidence,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "skipped": [s.to_dict() for s in self.skipped],
        }


def compare_window(
    settings: Settings,
    start: datetime,
    end: datetime,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    tolerance: float | None = None,
) -> CompareResult:
    """The comparisons of [start, end).

    Raises:
        NoData: The window holds no shadow or canary traffic.
    """
    task = task_of(settings)
    rows = read_experiment(settings, start, end)
    if rows.empty:
        raise NoData(
            f"No shadow or canary traffic between {iso(start)} and {iso(end)}: nothing to "
            "compare; serve with serve.experiment.mode shadow or canary, or widen the "
            "window (--since 30d, --from/--to)."
        )
    regression = task.kind == "regression"
    found = comparisons(rows.shadow, rows.canary, regression, confidence, seed, tolerance)
    return CompareResult(start, end, task.name, found, confidence, rows.skipped)


def experiment_panel(settings: Settings, start: datetime, end: datetime) -> dict[str, Any] | None:
    """The report's experiment figures, or None when the window had no experiment."""
    try:
        return compare_window(settings, start, end).to_dict()
    except NoData:
        return None


def headline(comparison: dict[str, Any]) -> list[str]:
    """One line per figure of a comparison (its JSON form), for people."""
    c = comparison
    lines = [
        f"{c['mode']}: champion version {c['champion_version']} vs challenger version "
        f"{c['challenger_version']}; {c['rows']['champion']:,} / {c['rows']['challenger']:,} "
        f"rows, {c['labelled']['champion']:,} / {c['labelled']['challenger']:,} labelled"
    ]
    agreement = c.get("agreement")
    if agreement and agreement.get("rate"):
        rate = agreement["rate"]
        lines.append(f"  agreement {_share(rate)}")
        for pair in agreement.get("disagreements", [])[:5]:
            lines.append(f"    {pair['champion']} -> {pair['challenger']}: {pair['count']:,}")
        for row in agreement.get("largest", [])[:5]:
            lines.append(f"    {row['row']}: {row['champion']:.4g} -> {row['challenger']:.4g}")
    for name, metric in c["metrics"].items():
        d = metric["difference"]
        lines.append(
            f"  {name}: champion {_estimate(metric['champion'])}, challenger "
            f"{_estimate(metric['challenger'])}; difference {d['value']:+.4f} "
            f"[{d['low']:+.4f}, {d['high']:+.4f}], p = {d['p_value']:.3g} ({d['test']})"
        )
    if not c["metrics"]:
        lines.append("  no labelled rows on both sides yet: send feedback to compare quality")
    return lines


def table_rows(comparison: dict[str, Any]) -> list[list[str]]:
    """``metric, champion, challenger, difference (interval), p-value`` rows of a
    comparison (its JSON form; the versions' own intervals are there)."""
    rows = []
    for name, metric in comparison["metrics"].items():
        d = metric["difference"]
        rows.append([name, f"{metric['champion']['value']:.4f}",
                     f"{metric['challenger']['value']:.4f}",
                     f"{d['value']:+.4f} ({d['low']:+.4f} to {d['high']:+.4f})",
                     f"{d['p_value']:.2g}"])  # fmt: skip
    return rows


def _estimate(e: dict[str, float]) -> str:
    return f"{e['value']:.4f} [{e['low']:.4f}, {e['high']:.4f}]"


def _share(e: dict[str, float]) -> str:
    return f"{e['value']:.1%} [{e['low']:.1%}, {e['high']:.1%}]"


def render_panel(figures: dict[str, Any]) -> str:
    """The report's experiment section (HTML) from :func:`experiment_panel`'s figures."""
    parts = [
        f"<p>Differences are challenger minus champion, with "
        f"{figures['confidence']:.0%} intervals.</p>"
    ]
    for comparison in figures["comparisons"]:
        lines = headline(comparison)
        parts.append(f"<h3>{escape(lines[0])}</h3>")
        parts.append("<pre>" + escape("\n".join(line.strip() for line in lines[1:])) + "</pre>")
    return "".join(parts)
