"""Run the prediction API under uvicorn, with one model holder per worker process.

Workers are separate processes started from an import string, so each builds its own
app through ``app_factory``, loads the model itself and follows its alias; the model
reference reaches them through the ``MLCYCLE_SERVE__MODEL`` setting. Each server gets a
run directory shared by its workers: Prometheus values (``PROMETHEUS_MULTIPROC_DIR``)
and the file ``POST /admin/reload`` touches so every worker checks the alias. It is
removed when the server stops. With several workers on Linux, each listens on its own
socket (see :mod:`mlcycle.serve.listen`). uvicorn stops gracefully on SIGTERM or SIGINT: it stops
accepting, lets requests in flight finish (within ``serve.shutdown_grace_s``; clients too
slow to send theirs are cut off sooner, see :mod:`mlcycle.serve.protocol`), runs each
worker's shutdown (which writes the prediction log still in memory), then exits 0.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi import FastAPI

from mlcycle.core.processes import serving_process
from mlcycle.core.settings import get_settings
from mlcycle.serve.app import create_app
from mlcycle.serve.components import RUN_DIR_ENV
from mlcycle.serve.listen import WorkerSocket, spreads_connections
from mlcycle.serve.metrics import MULTIPROC_ENV

MODEL_ENV = "MLCYCLE_SERVE__MODEL"
FACTORY = "mlcycle.serve.runner:app_factory"
# uvicorn's httptools connection, with deadlines for slow clients.
PROTOCOL = "mlcycle.serve.protocol:DeadlineHttpProtocol"


def app_factory() -> FastAPI:
    """The app of one worker, serving the model named by the settings."""
    serving_process()
    return create_app()


def run_server(ref: str, host: str, port: int, workers: int = 1) -> None:
    """Serve model ``ref`` (an alias is followed) on ``host:port`` until stopped.

    ``port`` is one :func:`mlcycle.core.ports.check_port` returned: free, and never 0,
    since every worker must listen on the same one. SIGTERM stops the server gracefully
    and the process then exits with status 0.
    """
    os.environ[MODEL_ENV] = ref
    get_settings.cache_clear()  # this process too reads the settings again, with ``ref``
    run_dir = Path(tempfile.mkdtemp(prefix="mlcycle-serve-"))
    (run_dir / "metrics").mkdir()
    saved = {name: os.environ.get(name) for name in (MULTIPROC_ENV, RUN_DIR_ENV)}
    os.environ[MULTIPROC_ENV] = str(run_dir / "metrics")
    os.environ[RUN_DIR_ENV] = str(run_dir)
    # uvicorn re-raises SIGTERM once it has shut down gracefully; end with status 0 then.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _run_uvicorn(host, port, workers)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(run_dir, ignore_errors=True)


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=PROTOCOL,
        ws="none",  # the API has no WebSocket route
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=get_settings().serve.shutdown_grace_s,  # type: ignore[arg-type]
        log_config=_log_config(),
    )
    try:
        if workers == 1:
            uvicorn.Server(config).run()
        else:
            # uvicorn's supervisor (health checks, restarts, signals); on Linux each worker
            # gets its own socket, elsewhere they share one.
            shared = not spreads_connections()
            sockets = [config.bind_socket() if shared else WorkerSocket(host, port)]
            Multiprocess(config, sockets=sockets).run()  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass  # Ctrl-C: uvicorn has already shut down gracefully


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with mlcycle's own messages (model loaded, errors) shown too."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["mlcycle"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
