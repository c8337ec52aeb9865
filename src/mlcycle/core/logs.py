"""The project's log file: where the libraries' chatter goes instead of the terminal.

A command's terminal carries mlcycle's own messages. MLflow, its database migrations
(alembic) and Python warnings write to ``<home>/logs/mlcycle.log`` instead, so a user
reads what mlcycle did and a maintainer still finds what the libraries said. Only the
CLI calls :func:`route_library_logs` (a library user keeps their own logging set-up);
nothing here runs at import.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from mlcycle.core.private import private_file

LOG_FILE = Path("logs") / "mlcycle.log"
# Each library's logger and the least severe record the file keeps from it (SQLAlchemy
# logs every statement at INFO).
LIBRARY_LEVELS = {
    "mlflow": logging.INFO,
    "alembic": logging.INFO,
    "huey": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "py.warnings": logging.WARNING,
}
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class AppendingFileHandler(logging.Handler):
    """Appends each record to a file, created owner-only at the first record.

    A command that logs nothing leaves no file behind; a file that cannot be written
    never fails the command it would only describe. The log may quote what a library
    was given (paths, model names), so only the project's user reads it.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.setFormatter(logging.Formatter(_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError, ValueError):
            line = self.format(record)
            with private_file(self.path).open("a", encoding="utf-8") as out:
                out.write(line + "\n")


def quiet_library_defaults() -> None:
    """What MLflow reads from the environment, set before it is imported.

    MLflow otherwise gives its loggers a handler on stderr when imported (replacing
    ours), draws a progress bar per download and, on a tracking server, writes a link to
    each run it ends on stdout (where ``--json`` output goes). A variable the user set wins.
    """
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def route_library_logs(home: Path) -> Path:
    """Send the libraries' log records (and Python warnings) to the project's log file.

    Returns:
        The log file.
    """
    path = home.resolve() / LOG_FILE
    quiet_library_defaults()
    logging.captureWarnings(True)
    for name, level in LIBRARY_LEVELS.items():
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, AppendingFileHandler)]
        logger.addHandler(AppendingFileHandler(path))
        logger.setLevel(level)
        logger.propagate = False
    return path


@contextlib.contextmanager
def stderr_to_log(name: str) -> Iterator[None]:
    """Lines a library prints on stderr during the block become records of ``name``.

    MLflow prints some messages rather than logging them ("Successfully registered
    model ..."); this turns them into log records, which the CLI sends to the log file.
    """
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    finally:
        logger = logging.getLogger(name)
        for line in captured.getvalue().splitlines():
            if line.strip():
                logger.info(line)
