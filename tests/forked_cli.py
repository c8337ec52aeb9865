"""``python -m mlcycle ARGS`` for the tests, forked from a process that has imported MLflow.

Every command still runs in its own process, with its own environment, working folder,
standard streams and exit status, as ``python -m mlcycle`` does. What is shared is the
interpreter's start-up and the imports nearly every command makes (MLflow with its SQL
stores, pandas, pyarrow and mlcycle's CLI): about 2.3 s of CPU per command, paid here
once per test worker instead of a few hundred times per suite.

The forking process (the "zygote", this file run as a script) imports those modules
under the settings ``mlcycle.cli.main.run`` gives MLflow, starts no thread and runs no
command itself; each command is a fork of it that takes the request's environment,
folder and files, runs ``mlcycle``'s ``__main__`` and ends as the interpreter would
(non-daemon threads joined, exit handlers run, streams flushed).

A command whose environment changes what the interpreter reads at start-up (``PYTHON*``,
locale, time zone, MLflow's logging set-up) runs as a plain subprocess, and so does a
command started while the zygote is busy with another (tests that run commands side by
side) and every command off Linux (the umask is read from ``/proc``; macOS's system
libraries do not survive a fork). Tests of start-up itself (what a command imports)
run ``python -m mlcycle``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# Read by the interpreter or by MLflow's import, not later: a request whose values
# differ from the zygote's cannot be forked from it.
_START_UP_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "MLFLOW_CONFIGURE_LOGGING",
                       "MLFLOW_LOGGING_LEVEL")  # fmt: skip
# What mlcycle.core.logs.quiet_library_defaults sets unless the user did.
_MLCYCLE_DEFAULTS = {"MLFLOW_CONFIGURE_LOGGING": "false"}


def _start_up_values(env: dict[str, str]) -> dict[str, str | None]:
    names = {name for name in env if name.startswith("PYTHON")} | set(_START_UP_VARIABLES)
    return {name: env.get(name, _MLCYCLE_DEFAULTS.get(name)) for name in sorted(names)}


class _Zygote:
    """The forking process of this test worker, and the pipes to it."""

    def __init__(self) -> None:
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        self.start_up = _start_up_values(dict(os.environ))
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(requests_read), str(replies_write)],
            pass_fds=(requests_read, replies_write), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(requests_read)
        os.close(replies_write)
        self.busy = threading.Lock()
        self._pending = b""
        atexit.register(self.close)

    def close(self) -> None:
        """End the zygote (it stops at the end of its requests) and reap it."""
        os.close(self._requests)
        self.process.wait(timeout=60)

    def run(self, request: dict, timeout: float | None) -> int:
        """The exit status of the forked command (negative: killed by that signal)."""
        os.write(self._requests, json.dumps(request).encode() + b"\n")
        pid = self._reply(None)["pid"]
        try:
            return self._reply(timeout)["returncode"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._reply(None)
            raise

    def _reply(self, timeout: float | None) -> dict:
        while b"\n" not in self._pending:
            if not select.select([self._replies], [], [], timeout)[0]:
                raise TimeoutError
            chunk = os.read(self._replies, 4096)
            if not chunk:
                raise RuntimeError(f"the CLI zygote ended (exit status {self.process.wait()})")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)


_ZYGOTE: _Zygote | None = None
_STARTING = threading.Lock()


def _zygote() -> _Zygote:
    global _ZYGOTE
    with _STARTING:
        if _ZYGOTE is None or _ZYGOTE.process.poll() is not None:
            _ZYGOTE = _Zygote()
        return _ZYGOTE


def run_mlcycle(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path | str | None = None,
    timeout: float | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m mlcycle ARGS`` with ``env`` in ``cwd`` (default: this process's folder):
    its exit status and output.

    Raises:
        subprocess.TimeoutExpired: the command ran longer than ``timeout`` (it is killed).
    """
    argv = [sys.executable, "-m", "mlcycle", *args]
    zygote = _zygote() if sys.platform == "linux" else None  # macOS forks badly
    if (
        zygote is None
        or _start_up_values(env) != zygote.start_up
        or not zygote.busy.acquire(blocking=False)
    ):
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=timeout, input=stdin)  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="mlcycle-cli-") as folder:
            return _forked(zygote, argv, env, cwd or os.getcwd(), timeout, stdin, Path(folder))
    finally:
        zygote.busy.release()


def _umask() -> int:
    """This process's umask, which a subprocess would inherit (read, not set and reset:
    another thread may be creating a file)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise RuntimeError("this kernel does not report the umask in /proc/self/status")


def _forked(zygote: _Zygote, argv: list[str], env: dict[str, str], cwd: Path | str,
            timeout: float | None, stdin: str | None, folder: Path,
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    files = {name: folder / name for name in ("stdin", "stdout", "stderr")}
    files["stdin"].write_text(stdin or "")
    request = {"argv": argv, "env": env, "cwd": str(cwd), "umask": _umask(),
               **{k: str(v) for k, v in files.items()}}  # fmt: skip
    try:
        status = zygote.run(request, timeout)
    except TimeoutError:
        out, err = (files[n].read_text(errors="replace") for n in ("stdout", "stderr"))
        raise subprocess.TimeoutExpired(argv, timeout or 0, out, err) from None
    out, err = (files[n].read_text() for n in ("stdout", "stderr"))
    return subprocess.CompletedProcess(argv, status, out, err)


# --- the zygote -------------------------------------------------------------------


def _serve(requests: int, replies: int) -> None:
    """Fork one command per request line until the test worker closes the pipe."""
    from mlcycle.core.logs import quiet_library_defaults

    quiet_library_defaults()  # before MLflow's import, as mlcycle.cli.main.run does
    import mlflow.store.model_registry.sqlalchemy_store
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import mlcycle.cli.main  # noqa: F401

    assert threading.active_count() == 1, "a thread would be lost in every fork"
    with os.fdopen(requests, "rb") as reader, os.fdopen(replies, "wb", buffering=0) as writer:
        for line in reader:
            request = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                reader.close()
                writer.close()
                _command(request)
            writer.write(json.dumps({"pid": pid}).encode() + b"\n")
            _, status = os.waitpid(pid, 0)
            writer.write(
                json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n"
            )


def _command(request: dict) -> None:
    """In the fork: become ``python -m mlcycle`` as the request describes it; never returns."""
    status = 1
    try:
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # found again from this environment's TMPDIR
        written = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        for fd, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", written),
                                (2, "stderr", written)):  # fmt: skip
            opened = os.open(request[name], flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.argv = request["argv"][2:]  # runpy sets argv[0] to the module's file
        sys.path[0] = os.getcwd()  # as with -m: the working folder first
        status = _main()
    except BaseException:  # the fork could not become the command: say why
        sys.excepthook(*sys.exc_info())
        sys.stderr.flush()
    finally:
        os._exit(status)


def _main() -> int:
    """mlcycle's ``__main__`` and the interpreter's end: the exit status."""
    import runpy

    try:
        runpy.run_module("mlcycle", run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as stop:
        status = _exit_status(stop.code)
    except BaseException:  # as the interpreter does: the traceback on stderr, status 1
        sys.excepthook(*sys.exc_info())
        status = 1
    # What the interpreter does at its end: threading's exit hooks (which tell executors'
    # workers to stop), then a join of every non-daemon thread; then the atexit handlers.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return status


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
