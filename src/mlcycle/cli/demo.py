"""``mlcycle demo``: the whole loop on an example project, in a few minutes on a laptop.

The steps are :mod:`mlcycle.loop.demo`'s; this command chooses the example, calls them
in order and prints what each did (:mod:`mlcycle.cli.demo_views`).
"""

from __future__ import annotations

import os
import time
from typing import Any

import typer


def demo(
    rows: int = typer.Option(
        30_000, "--rows", min=1_000, help="Rows of generated data (text examples)."
    ),
    seed: int = typer.Option(42, "--seed", help="Seed of the generated data and the traffic."),
    example: str | None = typer.Option(
        None,
        "--example",
        help="An example project of examples/: diabetes (regression), quality "
        "(classification), or the default project's model name. Default: the project in "
        "effect.",
        show_default=False,
    ),
) -> None:
    """Data, train, register, promote, serve, query, monitor, retrain and swap."""
    from mlcycle.cli import demo_views as views
    from mlcycle.core.settings import get_settings
    from mlcycle.loop import demo as steps
    from mlcycle.loop.examples import current_example, use_example
    from mlcycle.loop.examples import example as find_example

    # The gates load models from the store: no download progress bars in the demo.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    started = time.monotonic()
    chosen = find_example(example) if example else current_example(get_settings())
    if example:
        use_example(chosen)
    settings = get_settings()
    out = views.console()
    data = steps.demo_data(settings, chosen, rows, seed)
    trained = _first_model(out, settings, data)
    out.rule("[bold]4. Serve and query")
    served = f"{trained.name}@{settings.registry.environments[-1].name}"
    with steps.serving(settings, served) as url:
        out.print(f"API ready on {url} (OpenAPI docs at {url}/docs); querying it.")
        views.print_answers(out, data, steps.first_answers(url, data))
        _the_loop(out, steps.monitored(settings, url), url, data)
    out.print("API stopped.")
    out.rule("[bold]10. Browse what was tracked")
    views.print_ui_hint(out, settings.resolved_tracking_uri())
    out.print(f"Demo finished in {time.monotonic() - started:.0f} s.")


def _first_model(out: Any, settings: Any, data: Any) -> Any:
    """Steps 1 to 3: the data stored, the first model trained and promoted."""
    from mlcycle.cli import demo_views as views
    from mlcycle.loop import demo as steps

    out.rule("[bold]1. Data")
    out.print(data.source)
    added = steps.store_data(data, settings)
    out.print(f"Stored as dataset version {added.version.ref} (validated, profiled).")
    out.rule("[bold]2. Train, evaluate, track, register")
    with views.progress(out) as reporter:
        trained = steps.train_first(added, settings, reporter)
    views.print_training(out, trained)
    out.rule("[bold]3. Promote through the gates")
    moved = steps.promote_first(trained, settings)
    views.print_move(moved, out)
    steps.require_moved(moved)
    return trained


def _the_loop(out: Any, settings: Any, url: str, data: Any) -> None:
    """Steps 5 to 9 against the running server: drift, check, retrain, swap, report."""
    from datetime import UTC, datetime, timedelta

    from mlcycle.cli import demo_views as views
    from mlcycle.loop import demo as steps

    began = datetime.now(UTC) - timedelta(seconds=1)
    out.rule("[bold]5. Normal traffic, then drifted traffic with feedback")
    normal, drifted, drift_start = steps.normal_then_drifted(url, data)
    views.print_traffic(out, data, normal, drifted)
    out.rule("[bold]6. Monitoring check")
    check_end = datetime.now(UTC)
    check = steps.check_drift(settings, drift_start, check_end)
    views.print_check(out, check)
    out.rule("[bold]7. Retrain on the latest data plus feedback, promote through the gates")
    with views.progress(out) as reporter:
        outcome = steps.retrain_on_feedback(
            settings, drift_start, check_end, check.breached, reporter
        )
    views.print_retrain(out, outcome)
    out.rule("[bold]8. The server swaps to the new version")
    swapped, after = steps.swap_and_send(url, outcome, data)
    views.print_swap(out, data, outcome, swapped, after)
    out.rule("[bold]9. Monitoring report: the drift and the recovery")
    summary, path = steps.report(settings, began)
    views.print_versions(out, summary)
    out.print(f"Report (open it in a browser, no network needed): {path.resolve()}")
