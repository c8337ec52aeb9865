"""Listening ports: whether one is free, said in one sentence when it is not."""

from __future__ import annotations

import socket

from mlcycle.core.errors import ErrorCode, MlcycleError


def new_socket(host: str) -> socket.socket:
    """A TCP socket of ``host``'s family, ready to bind again right after a stop."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    # Restarting right after a stop must not wait for old connections in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def check_port(host: str, port: int) -> int:
    """The port a server will listen on, or one sentence saying why it cannot.

    Binding without ``SO_REUSEPORT`` fails while any server listens on the port, ours
    included, so two servers never split one port's traffic. Port 0 picks a free
    port here, once.
    """
    try:
        with new_socket(host) as probe:
            probe.bind((host, port))
            return int(probe.getsockname()[1])
    except OSError as exc:
        raise MlcycleError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}); stop the server "
            "using that port or choose another with --port.",
            code=ErrorCode.UNAVAILABLE,
        ) from exc
