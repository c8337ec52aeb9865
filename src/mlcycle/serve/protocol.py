"""uvicorn's httptools connection, with deadlines for each request to arrive.

uvicorn closes a connection left idle after an answer (``timeout_keep_alive``), but it
waits without limit for a new connection's first byte, for the rest of headers once
one byte is in, and for a body its headers announce. Such a client holds a connection,
past its headers a task too, which a graceful shutdown then waits for until its grace
runs out and it cancels the task (a ``CancelledError`` traceback in the log).

Here a new connection gets ``timeout_keep_alive`` for its first byte (then it is closed
as an idle one is), a request ``serve.header_timeout_s`` for its headers from its first
byte, then ``serve.body_timeout_s`` for its body; past that it is answered 408 and the
connection closed. Since ``serve.body_timeout_s`` is shorter than the shutdown grace,
SIGTERM never waits for a slow client until it has to cancel.

Each connection has one timer, moved only for a deadline sooner than it and otherwise
re-armed when it fires: a request costs a look at the loop's clock as it starts and
once its headers are in (under a microsecond), no timer of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from mlcycle.core.settings import get_settings
from mlcycle.serve.responses import request_timeout

# What the connection waits for when its timer fires.
_FIRST_BYTE, _HEADERS, _BODY = "first byte", "headers", "body"


class DeadlineHttpProtocol(HttpToolsProtocol):
    """An httptools connection that closes on a client too slow to send its request."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        serve = get_settings().serve
        self.timeouts = {
            _FIRST_BYTE: float(config.timeout_keep_alive),
            _HEADERS: serve.header_timeout_s,
            _BODY: serve.body_timeout_s,
        }
        self.waiting_for: str | None = None  # None: the request is in (or none started)
        self.deadline = 0.0
        self.deadline_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect(_FIRST_BYTE)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.deadline_timer is not None:
            self.deadline_timer.cancel()
            self.deadline_timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._expect(_HEADERS)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._expect(_BODY)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.waiting_for = None

    def _expect(self, part: str) -> None:
        self.waiting_for = part
        self.deadline = self.loop.time() + self.timeouts[part]
        timer = self.deadline_timer
        if timer is None or self.deadline < timer.when():  # else it fires first, re-arms
            if timer is not None:
                timer.cancel()
            self.deadline_timer = self.loop.call_at(self.deadline, self._on_timer)

    def _on_timer(self) -> None:
        self.deadline_timer = None
        if self.waiting_for is None or self.transport.is_closing():
            return  # the next request arms the timer again
        if self.loop.time() < self.deadline:  # later requests moved the deadline on
            self.deadline_timer = self.loop.call_at(self.deadline, self._on_timer)
            return
        if self._may_answer():
            self._send_timeout(self.waiting_for)
        self.transport.close()

    def _may_answer(self) -> bool:
        """Whether a 408 cannot be mistaken for, or mixed into, another answer."""
        cycle = self.cycle
        if self.waiting_for == _FIRST_BYTE:
            return False  # nothing was asked: close it like an idle connection
        if self.waiting_for == _BODY:
            return cycle is not None and not cycle.response_started
        return cycle is None or cycle.response_complete  # no earlier answer under way

    def _send_timeout(self, part: str) -> None:
        body = request_timeout(part, self.timeouts[part]).body
        head = [b"HTTP/1.1 408 Request Timeout\r\n"]
        head += [b"%s: %s\r\n" % header for header in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
