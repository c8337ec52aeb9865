"""Model cards: what a version is for, what it learnt from, how good it is, who let it in.

Built from the registry, the run (params, metrics, tags, the per-class report) and the
audit trail; rendered as Markdown or standalone HTML.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, get_settings
from mlcycle.registry import card_confidence
from mlcycle.registry.audit import Event, read_events
from mlcycle.registry.details import VersionDetails, describe
from mlcycle.tasks import task_of

REPORT = "evaluation/classification_report.csv"
WORST = 10
# A card's section: its title, paragraphs, and a table (header row first; may be empty).
Section: TypeAlias = tuple[str, list[str], list[list[str]]]


@dataclass
class Card:
    details: VersionDetails
    intended_use: str
    coverage: dict[str, Any]
    worst: list[dict[str, Any]]  # the classes with the lowest F1
    gates: list[dict[str, Any]]  # of the last gated move of this version
    history: list[Event] = field(default_factory=list)
    levels: tuple[str, ...] = ()  # the labels' nomenclature levels, coarsest first
    nomenclature: str | None = None
    auto_coding: card_confidence.AutoCoding | None = None  # calibrated classifiers

    @property
    def title(self) -> str:
        return f"Model card: {self.details.name} version {self.details.version}"


def build_card(ref: str, settings: Settings | None = None) -> Card:
    """Gather the card of the version ``ref`` points at."""
    settings = settings or get_settings()
    details = describe(ref, settings)
    report = _report(details.run_id)
    events = [
        e
        for e in read_events(details.name, settings)
        if details.version in (e.to_version, e.from_version)
    ]
    gated = [e for e in events if e.to_version == details.version and e.gates]
    nomenclature = getattr(task_of(settings), "nomenclature", None)
    return Card(
        details,
        settings.registry.intended_use,
        _coverage(details, report),
        _worst(report, nomenclature.label if nomenclature else lambda code: None),
        gated[-1].gates if gated else [],
        events,
        nomenclature.levels if nomenclature else (),
        nomenclature.name if nomenclature else None,
        card_confidence.auto_coding_of(details),
    )


def _report(run_id: str | None) -> pd.DataFrame | None:
    import mlflow

    if not run_id:
        return None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REPORT, dst_path=tmp
            )
            report = pd.read_csv(local, dtype=str)
    except Exception:  # a version logged without the evaluation report
        return None
    # The first column names the class ("code" in reports of mlcycle 0.1, "class" since).
    report = report.rename(columns={report.columns[0]: "code"})
    return report.astype({c: float for c in ("precision", "recall", "f1", "support")})


def _coverage(details: VersionDetails, report: pd.DataFrame | None) -> dict[str, Any]:
    parts = ("train_rows", "calibration_rows", "eval_rows")
    rows = sum(int(float(details.params.get(k, 0))) for k in parts)
    seen = int((report["support"] > 0).sum()) if report is not None else None
    return {"rows": rows or None, "labels_evaluated": seen}


def _worst(report: pd.DataFrame | None, label: Callable[[str], str | None]) -> list[dict[str, Any]]:
    if report is None:
        return []
    present = report[report["support"] > 0]
    worst = present.sort_values(["f1", "support"], ascending=[True, False]).head(WORST)
    return [
        {
            "code": r.code,
            "label": label(r.code) or "",
            "f1": r.f1,
            "precision": r.precision,
            "recall": r.recall,
            "support": int(r.support),
        }
        for r in worst.itertuples()
    ]


def _sections(card: Card) -> list[Section]:
    """The card as (heading, paragraphs, table rows with a header row first)."""
    d = card.details
    m = d.metrics
    by_level = {f"accuracy_{level}" for level in card.levels}
    overall = [["metric", "value"]] + [
        [k, f"{v:.4f}"] for k, v in sorted(m.items()) if k not in by_level
    ]
    levels = [["level", "top-1 accuracy"]] + [
        [lvl, f"{m[f'accuracy_{lvl}']:.4f}"] for lvl in card.levels if f"accuracy_{lvl}" in m
    ]
    cov = card.coverage
    lineage = (
        [["item", "value"]]
        + [[f"dataset {k}", v] for k, v in d.dataset.items()]
        + [[f"holdout {k}", v] for k, v in d.holdout.items()]
        + [
            ["rows (train, calibration, evaluation)", str(cov["rows"] or "unknown")],
            [
                "label coverage",
                f"{cov['labels_evaluated']} classes with evaluation rows"
                if cov["labels_evaluated"] is not None
                else "unknown",
            ],
            ["run", d.run_id or ""],
            ["created", d.created],
        ]
    )
    params = [["parameter", "value"]] + [[k, v] for k, v in sorted(d.params.items())]
    worst = [["code", "label", "F1", "precision", "recall", "support"]] + [
        [
            w["code"],
            w["label"],
            f"{w['f1']:.3f}",
            f"{w['precision']:.3f}",
            f"{w['recall']:.3f}",
            str(w["support"]),
        ]
        for w in card.worst
    ]
    gates = [["gate", "result", "figure", "threshold", "detail"]] + [
        [
            g["name"],
            "pass" if g["passed"] else "FAIL",
            g["figure"],
            g["threshold"],
            g.get("detail", ""),
        ]
        for g in card.gates
    ]
    history = [["time (UTC)", "alias", "action", "from", "to", "by", "reason"]] + [
        [e.time, e.alias, e.action, e.from_version or "-", e.to_version, e.user, e.reason]
        for e in card.history
    ]
    aliases = ", ".join(d.aliases) or "none"
    per_level: list[Section] = (
        [(f"Metrics per level of {card.nomenclature}", [], levels)] if card.levels else []
    )
    weak: list[Section] = (
        [(f"Weak spots: the {WORST} classes with the lowest F1", [], worst)] if card.worst else []
    )
    auto = [card_confidence.section(card.auto_coding)] if card.auto_coding else []
    return [
        ("Intended use", [card.intended_use, f"Aliases held now: {aliases}."], []),
        ("Data lineage", [], lineage),
        ("Training parameters", [], params),
        ("Metrics", ["On the evaluation split of its training run."], overall),
        *per_level,
        *auto,
        *weak,
        ("Gate results", [] if card.gates else ["No gated promotion recorded."], gates),
        ("Promotion history", [] if card.history else ["Never promoted."], history),
    ]


def render(card: Card, fmt: str) -> str:
    """The card as ``md`` (Markdown) or ``html`` (one standalone page)."""
    if fmt == "md":
        return _markdown(card)
    if fmt == "html":
        return _html(card)
    raise InvalidInput(f"Unknown card format {fmt!r}; use md or html (-o card.md|card.html).")


def _cell_md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(card: Card) -> str:
    out = [f"# {card.title}", ""]
    for heading, paragraphs, table in _sections(card):
        out += [f"## {heading}", "", *[p + "\n" for p in paragraphs]]
        if len(table) > 1:
            out.append("| " + " | ".join(_cell_md(c) for c in table[0]) + " |")
            out.append("|" + "---|" * len(table[0]))
            out += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in table[1:]]
            out.append("")
    return "\n".join(out)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}th{background:#f3f3f3}"
)


def _html(card: Card) -> str:
    esc = html.escape
    body = [f"<h1>{esc(card.title)}</h1>"]
    for heading, paragraphs, table in _sections(card):
        body.append(f"<h2>{esc(heading)}</h2>")
        body += [f"<p>{esc(p)}</p>" for p in paragraphs]
        if len(table) > 1:
            head = "".join(f"<th>{esc(str(c))}</th>" for c in table[0])
            rows = "".join(
                "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
                for row in table[1:]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        if heading == card_confidence.HEADING and card.auto_coding is not None:
            body.append(card_confidence.image_html(card.auto_coding))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(card.title)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_card(card: Card, path: Path) -> Path:
    """Write the card to ``path`` (format from its suffix), atomically."""
    fmt = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"Write the card to a .md or .html file, not {path.name!r}.")
    text = render(card, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    Path(tmp.name).replace(path)
    return path
