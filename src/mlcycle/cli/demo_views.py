"""What ``mlcycle demo`` prints at each step (the steps are :mod:`mlcycle.loop.demo`'s)."""

from __future__ import annotations

from typing import Any

from mlcycle.cli.views import console, print_move, print_retrain, print_training, progress, table

__all__ = [
    "console",
    "print_answers",
    "print_check",
    "print_move",
    "print_retrain",
    "print_swap",
    "print_traffic",
    "print_training",
    "print_ui_hint",
    "print_versions",
    "progress",
]
SHOWN_FIELDS = 4  # a record's first fields in the answers table


def print_answers(out: Any, data: Any, answers: dict[str, Any]) -> None:
    """The API's answers to the showcase inputs: ranked codes, or a record's answer."""
    model = answers["model"]
    if data.normal.task.text_column is not None:
        _print_ranked(out, data.showcase, answers, model)
        return
    fields = list(data.showcase[0])[:SHOWN_FIELDS]
    rows = [
        [*(record.get(name) for name in fields), _answer(entry)]
        for record, entry in zip(data.showcase, answers["predictions"], strict=True)
    ]
    title = f"Answers of {model['name']} version {model['version']} (first fields shown)"
    out.print(table(title, [*fields, "answer"], rows))


def _print_ranked(out: Any, texts: list[str], answers: dict[str, Any], model: dict) -> None:
    shown = table(f"Ranked codes from {model['name']} version {model['version']}",
                  ["query", "rank", "code", "probability", "label"], [])  # fmt: skip
    for text, ranked in zip(texts, answers["predictions"], strict=True):
        for rank, entry in enumerate(ranked, start=1):
            shown.add_row(
                text if rank == 1 else "", str(rank), entry["code"],
                f"{entry['probability']:.3f}", entry.get("label") or "",
            )  # fmt: skip
        shown.add_section()
    out.print(shown)


def _answer(entry: Any) -> str:
    """One record's answer as text: a value, or the best class with its probability."""
    if isinstance(entry, list) and entry:
        entry = entry[0]
    if isinstance(entry, dict):
        if "value" in entry:
            return f"{float(entry['value']):.1f}"
        if "code" in entry:
            return f"{entry['code']} ({float(entry.get('probability', 1.0)):.3f})"
    if isinstance(entry, int | float):
        return f"{float(entry):.1f}"
    return str(entry)


def _unit(data: Any) -> str:
    return "texts" if data.normal.task.text_column is not None else "records"


def print_traffic(out: Any, data: Any, normal: Any, drifted: Any) -> None:
    """Step 5: what was sent."""
    unit = _unit(data)
    out.print(f"Normal traffic: {normal.sent:,} {unit}.")
    truth = "code" if data.normal.task.kind == "classification" else "value"
    out.print(
        f"Drifted traffic ({data.drift}): {drifted.sent:,} {unit}, {drifted.labelled:,} "
        f"with their true {truth} sent to /feedback."
    )


def print_check(out: Any, check: Any) -> None:
    """Step 6: each rule's verdict and whether the check fires."""
    for rule in check.results:
        colour = "red" if rule.breached else "green" if rule.status == "ok" else "yellow"
        out.print(f"[{colour}]{rule.status.upper():9}[/] {rule.rule}: {rule.message}")
    fires = "fires" if check.breached else "is quiet"
    out.print(f"The check {fires} (exit code {check.exit_code}).")
    if not check.breached:
        out.print("The demo retrains anyway, to show the rest of the loop.")


def print_swap(out: Any, data: Any, outcome: Any, swapped: bool, after: Any) -> None:
    """Step 8: whether the server answers with the new version, and what it was sent."""
    from mlcycle.loop.retrain import PROMOTED

    if not outcome.version or outcome.outcome != PROMOTED:
        out.print("Nothing was promoted to production, so the server keeps its version.")
        return
    if not swapped:
        out.print("The server did not swap in time; see the server log.")
        return
    out.print(f"Server answers with version {outcome.version}.")
    out.print(f"More drifted traffic after the swap: {after.sent:,} {_unit(data)}.")


def print_versions(out: Any, summary: Any) -> None:
    """Step 9: the traffic each served version answered, from the report's figures."""
    rows = []
    for row in summary["volume"]["by_version"]:
        rate, accuracy = row.get("auto_coding_rate"), row.get("accuracy_top1")
        rows.append(
            [
                str(row["version"]), f"{row['predictions']:,}",
                "-" if rate is None else f"{100 * rate:.1f}%", f"{row.get('labelled', 0):,}",
                "-" if accuracy is None else f"{100 * accuracy:.1f}%",
            ]
        )  # fmt: skip
    columns = ["version", "predictions", "auto-coding rate", "labelled", "top-1 accuracy"]
    out.print(table("Traffic by served version (all demo traffic)", columns, rows))


def print_ui_hint(out: Any, tracking_uri: str) -> None:
    """How to browse what was tracked."""
    if tracking_uri.startswith(("http://", "https://")):  # a team server serves its own UI
        out.print(f"Browse everything tracked (runs, metrics, registry) at {tracking_uri}")
        return
    out.print("Open the MLflow UI on everything tracked (runs, metrics, artifacts, registry):")
    out.print(f"  .venv/bin/mlflow ui --backend-store-uri {tracking_uri} --port 5000")
    out.print("  then browse http://127.0.0.1:5000")
