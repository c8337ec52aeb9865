"""``mlcycle pipeline``: run the project's steps with a cache, draw them, send them to Argo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlcycle.cli.output import print_json

if TYPE_CHECKING:
    from mlcycle.loop.pipeline.record import StepRecord

app = typer.Typer(
    help="The project's pipeline: run its steps (unchanged ones skipped), show, render for Argo.",
    no_args_is_help=True,
)
_JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@app.command("run")
def run(
    start: str | None = typer.Option(None, "--from", help="Start at this step (and what follows)."),
    stop: str | None = typer.Option(None, "--to", help="Stop after this step."),
    force: bool = typer.Option(False, "--force", help="Run the selected steps even if unchanged."),
    trigger: str = typer.Option("manual", "--trigger", help="Why it runs, recorded on the run."),
    if_breached: bool = typer.Option(
        False, "--if-breached", help="Run only if a monitoring rule is breached (monitor check)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="With --if-breached: the window checked (default monitor.window)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Run the steps in dependency order; a step whose inputs and code are unchanged since
    its last success is skipped, and a failed step stops only what depends on it."""
    from mlcycle.core.settings import get_settings
    from mlcycle.loop.pipeline.runner import run_pipeline
    from mlcycle.loop.pipeline.schedule import breached_rules

    settings = get_settings()
    if if_breached:
        breached = breached_rules(settings, since)
        if not breached:
            _say_nothing_breached(as_json)
            return
        trigger = f"monitor: {', '.join(breached)}"
    result = run_pipeline(settings, start, stop, force, trigger, say=_printer(as_json))
    if as_json:
        print_json(result.to_dict())
    if result.failed:
        typer.echo(f"Pipeline failed: {', '.join(result.failed)} (run {result.run_id}).", err=True)
        raise typer.Exit(1)


def _say_nothing_breached(as_json: bool) -> None:
    if as_json:
        print_json({"ok": True, "trigger": None, "steps": []})
    else:
        typer.echo("No monitoring rule is breached: nothing to run.")


def _printer(as_json: bool) -> Callable[[StepRecord], None]:
    def say(record: StepRecord) -> None:
        note = f"  {record.message}" if record.message else ""
        line = f"{record.step:<16} {record.status:<10} {record.seconds:6.1f} s{note}"
        typer.echo(line, err=as_json)

    return say


@app.command("show")
def show(
    svg: Path | None = typer.Option(None, "--svg", help="Also write the picture as SVG."),
    html: Path | None = typer.Option(None, "--html", help="Also write an HTML page with it."),
    as_json: bool = _JSON,
) -> None:
    """Draw the DAG: each step, what it waits for, its last status and duration."""
    from mlcycle.core.files import atomic_write_text
    from mlcycle.core.settings import get_settings
    from mlcycle.loop.pipeline import picture
    from mlcycle.loop.pipeline.graph import pipeline_of
    from mlcycle.loop.pipeline.record import Recorder

    settings = get_settings()
    pipeline = pipeline_of(settings)
    recorder = Recorder(settings)
    last = {step: recorder.last(step) for step in pipeline.steps}
    title = f"{settings.model.name} pipeline"
    for path, draw in ((svg, picture.svg), (html, lambda p, r: picture.html(p, r, title))):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, draw(pipeline, last))
    if as_json:
        steps = []
        for step, spec in pipeline.steps.items():
            record = last[step]
            steps.append({
                "step": step, "after": pipeline.upstream[step], "runs": spec.what,
                "last": record.to_dict() if record is not None else None,
            })  # fmt: skip
        print_json({"default": pipeline.default, "steps": steps})
        return
    for line in picture.text(pipeline, last):
        typer.echo(line)


@app.command("render")
def render(
    argo: bool = typer.Option(False, "--argo", help="Write an Argo WorkflowTemplate."),
    cron: bool = typer.Option(False, "--cron", help="Print a crontab line for pipeline.schedule."),
    out: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: DEPLOY_PATH/argo/pipeline/NAME.yaml)."
    ),
    image: str | None = typer.Option(None, "--image", help="Image of the pods."),
) -> None:
    """Write the pipeline as an Argo WorkflowTemplate (one pod per step; a CronWorkflow
    too when pipeline.schedule is set), or print a crontab line for a plain machine."""
    import yaml

    from mlcycle.core.errors import InvalidInput
    from mlcycle.core.files import atomic_write_text
    from mlcycle.core.settings import get_settings
    from mlcycle.deploy.render import HEADER
    from mlcycle.loop.pipeline.graph import pipeline_of
    from mlcycle.loop.pipeline.runner import project_dir
    from mlcycle.loop.pipeline.schedule import argo_documents, crontab_line, template_name

    settings = get_settings()
    if argo == cron:
        raise InvalidInput("Say what to render: --argo or --cron.")
    if cron:
        typer.echo(crontab_line(settings, project_dir()))
        return
    documents = argo_documents(settings, pipeline_of(settings), image)
    target = (
        out or Path(settings.deploy.path) / "argo" / "pipeline" / f"{template_name(settings)}.yaml"
    )
    text = HEADER + yaml.safe_dump_all(documents, sort_keys=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    typer.echo(f"Wrote {target} ({', '.join(d['kind'] for d in documents)}).")
