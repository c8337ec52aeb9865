"""``mlcycle pipeline show``: the DAG as text and as an SVG (or an HTML page holding it).

Steps sit in columns by depth (a step one column right of the deepest step it reads
from), each box coloured by the step's last status and labelled with its duration.
Built with ElementTree, so names are escaped whatever the user called their steps.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from mlcycle.loop.pipeline.graph import Pipeline
from mlcycle.loop.pipeline.record import BLOCKED, FAILED, SKIPPED, SUCCEEDED, StepRecord

_COLOURS = {SUCCEEDED: "#d8f0d8", SKIPPED: "#e4ecf7", FAILED: "#f7d4d4", BLOCKED: "#f2e6c9"}
_NEVER = "#f4f4f4"
_WIDTH, _HEIGHT, _GAP_X, _GAP_Y, _MARGIN = 190, 62, 70, 24, 40


@dataclass(frozen=True)
class Box:
    step: str
    column: int
    row: int

    @property
    def x(self) -> int:
        return _MARGIN + self.column * (_WIDTH + _GAP_X)

    @property
    def y(self) -> int:
        return _MARGIN + self.row * (_HEIGHT + _GAP_Y)


def layout(pipeline: Pipeline) -> dict[str, Box]:
    """Each step's column (its depth) and row within the column."""
    depth: dict[str, int] = {}
    for step in pipeline.steps:  # run order: upstream steps already placed
        depth[step] = 1 + max((depth[u] for u in pipeline.upstream[step]), default=-1)
    rows: dict[int, int] = {}
    boxes = {}
    for step, column in depth.items():
        boxes[step] = Box(step, column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return boxes


def status_line(record: StepRecord | None) -> str:
    if record is None:
        return "never run"
    return f"{record.status}, {record.seconds:.1f} s"


def text(pipeline: Pipeline, last: dict[str, StepRecord | None]) -> list[str]:
    """One line per step in run order: what it runs, what it waits for, its last run."""
    lines = []
    for step, spec in pipeline.steps.items():
        after = ", ".join(pipeline.upstream[step]) or "-"
        lines.append(f"{step:<16} {spec.what:<28} after {after:<24} {status_line(last[step])}")
    return lines


def svg(pipeline: Pipeline, last: dict[str, StepRecord | None]) -> str:
    """The DAG as a standalone SVG document."""
    boxes = layout(pipeline)
    width = _MARGIN * 2 + (max(b.column for b in boxes.values()) + 1) * (_WIDTH + _GAP_X)
    height = _MARGIN * 2 + (max(b.row for b in boxes.values()) + 1) * (_HEIGHT + _GAP_Y)
    root = ET.Element(
        "svg", xmlns="http://www.w3.org/2000/svg", width=str(width), height=str(height),
        viewBox=f"0 0 {width} {height}", attrib={"font-family": "sans-serif", "font-size": "13"},
    )  # fmt: skip
    _arrow_marker(root)
    for step in pipeline.steps:
        for up in pipeline.upstream[step]:
            _edge(root, boxes[up], boxes[step])
    for step, spec in pipeline.steps.items():
        _box(root, boxes[step], spec.what, last[step])
    return ET.tostring(root, encoding="unicode")


def html(pipeline: Pipeline, last: dict[str, StepRecord | None], title: str) -> str:
    """A page with the picture and a table of the steps."""
    page = ET.Element("html")
    head = ET.SubElement(page, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(page, "body", style="font-family: sans-serif")
    ET.SubElement(body, "h1").text = title
    # As an image: an SVG parsed into the page would be written back with ns0: prefixes.
    picture = base64.b64encode(svg(pipeline, last).encode()).decode()
    ET.SubElement(body, "img", src=f"data:image/svg+xml;base64,{picture}", alt=title)
    table = ET.SubElement(body, "table", cellpadding="4")
    header = ET.SubElement(table, "tr")
    for name in ("step", "runs", "after", "last run", "note"):
        ET.SubElement(header, "th", align="left").text = name
    for step, spec in pipeline.steps.items():
        row = ET.SubElement(table, "tr")
        record = last[step]
        note = record.message if record else ""
        for cell in (
            step,
            spec.what,
            ", ".join(pipeline.upstream[step]),
            status_line(record),
            note,
        ):
            ET.SubElement(row, "td").text = cell
    return "<!DOCTYPE html>\n" + ET.tostring(page, encoding="unicode", method="html")


def _arrow_marker(root: ET.Element) -> None:
    defs = ET.SubElement(root, "defs")
    marker = ET.SubElement(
        defs, "marker", id="arrow", markerWidth="10", markerHeight="8", refX="9", refY="4",
        orient="auto",
    )  # fmt: skip
    ET.SubElement(marker, "path", d="M0,0 L10,4 L0,8 z", fill="#555")


def _edge(root: ET.Element, source: Box, target: Box) -> None:
    x1, y1 = source.x + _WIDTH, source.y + _HEIGHT // 2
    x2, y2 = target.x, target.y + _HEIGHT // 2
    middle = (x1 + x2) // 2
    shape = f"C{middle},{y1} {middle},{y2} {x2},{y2}"
    if target.column - source.column > 1:  # over the boxes between, not through them
        top = min(source.y, target.y) - _MARGIN
        shape = f"C{x1 + _GAP_X},{top} {x2 - _GAP_X},{top} {x2},{y2}"
    ET.SubElement(
        root, "path", d=f"M{x1},{y1} {shape}", fill="none",
        stroke="#555", attrib={"marker-end": "url(#arrow)", "stroke-width": "1.5"},
    )  # fmt: skip


def _box(root: ET.Element, box: Box, what: str, record: StepRecord | None) -> None:
    group = ET.SubElement(root, "g")
    ET.SubElement(group, "title").text = record.message if record and record.message else what
    fill = _COLOURS.get(record.status, _NEVER) if record else _NEVER
    ET.SubElement(
        group, "rect", x=str(box.x), y=str(box.y), width=str(_WIDTH), height=str(_HEIGHT),
        rx="8", fill=fill, stroke="#444",
    )  # fmt: skip
    lines = [(box.step, "bold"), (what[:28], "normal"), (status_line(record), "normal")]
    for index, (line, weight) in enumerate(lines):
        ET.SubElement(
            group, "text", x=str(box.x + 10), y=str(box.y + 18 + index * 17),
            attrib={"font-weight": weight},
        ).text = line  # fmt: skip
