"""App factories for ``bench_serve_tabular.py --levers``: mlcycle with one speed lever off.

Run by uvicorn (``tabular_variants:unbatched --factory``) with the benchmark's settings.
Neither is a way to serve: each exists to measure what one lever is worth.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from mlcycle.core.processes import one_native_thread
from mlcycle.serve.answers import Answer
from mlcycle.serve.app import create_app
from mlcycle.serve.bodies import Inputs
from mlcycle.serve.tabular import TabularPredictor


def unbatched() -> FastAPI:
    """One native thread, but each request predicted on its own, on the event loop."""

    async def respond(self: TabularPredictor, inputs: Inputs, request_id: str) -> Answer:
        return self.answer(inputs.items, inputs.k, request_id, inputs.mlflow)

    one_native_thread()
    TabularPredictor.respond = respond  # type: ignore[method-assign]
    return create_app()


def all_threads() -> FastAPI:
    """Micro-batching, with BLAS and OpenMP at their default number of threads."""
    return create_app()


__all__: list[Any] = ["all_threads", "unbatched"]
