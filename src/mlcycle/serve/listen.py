"""Listening sockets: checked once by the server, and one per worker where the OS can.

uvicorn's workers share one listening socket, and an idle event loop accepts every
pending connection at once: a client that opens its connections together (a load
balancer's pool, wrk) often lands them all on one worker while the others idle.
On Linux each worker instead binds its own socket with ``SO_REUSEPORT``; the kernel
then spreads new connections evenly over the workers' sockets.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from typing import Any

from mlcycle.core.ports import new_socket

# uvicorn's exit status for a worker that cannot start: its supervisor then stops
# instead of restarting the worker over and over.
STARTUP_FAILURE = 3


def spreads_connections() -> bool:
    """True where sockets sharing a port with SO_REUSEPORT share its connections."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


@dataclass(frozen=True)
class WorkerSocket:
    """Stands for a socket in a worker's arguments: unpickled, it is a fresh socket.

    uvicorn pickles the sockets it hands to each worker process it starts (and
    restarts); this one becomes, in the worker, its own socket bound to the same port.
    """

    host: str
    port: int

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return bind_worker_socket, (self.host, self.port)


def bind_worker_socket(host: str, port: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT, for the worker unpickling it to listen on."""
    sock = new_socket(host)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        print(f"A worker cannot listen on {host}:{port}: {exc.strerror or exc}.", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from None
    return sock
