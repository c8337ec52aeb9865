"""A workload test for a prediction API: throughput, latency percentiles, errors by status.

``run_loadtest`` keeps ``concurrency`` HTTP/1.1 keep-alive connections busy with
``POST /predict`` for ``duration`` seconds (or ``max_requests`` requests), each request
carrying ``batch`` generated activity descriptions. It speaks HTTP over asyncio streams
itself: a general client would cost more per request than the server it measures.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson

from mlcycle.core.errors import InvalidInput, Unavailable

MAX_DURATION_S = 3600.0
MAX_CONCURRENCY = 1024
MAX_BATCH = 10_000
CONNECTION_ERROR = "connection"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(
                f"{url!r} is not an http(s) URL; give one like http://127.0.0.1:8000."
            )
        path = parts.path if parts.path not in ("", "/") else "/predict"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.hostname, port, path, parts.scheme == "https")


@dataclass
class LoadReport:
    """What a load test measured."""

    url: str
    concurrency: int
    batch: int
    seconds: float
    requests: int
    ok: int
    errors: dict[str, int] = field(default_factory=dict)
    requests_per_s: float = 0.0
    texts_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_loadtest(
    url: str,
    *,
    concurrency: int = 16,
    duration: float = 10.0,
    batch: int = 1,
    k: int = 5,
    api_key: str | None = None,
    max_requests: int | None = None,
    timeout: float = 10.0,
    texts: list[str] | None = None,
) -> LoadReport:
    """Load ``url`` (a server base URL, ``/predict`` is added) and report.

    Raises:
        InvalidInput: A limit is out of range or the URL is not http(s).
        Unavailable: Nothing answers at the URL.
    """
    _check(concurrency, duration, batch, max_requests)
    target = Target.parse(url)
    bodies = _bodies(texts or _sample_texts(), batch, k)
    requests = [_request(target, body, api_key) for body in bodies]
    return asyncio.run(
        _load(target, url, requests, concurrency, duration, batch, max_requests, timeout)
    )


def _check(concurrency: int, duration: float, batch: int, max_requests: int | None) -> None:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, got {concurrency}.")
    if not 0 < duration <= MAX_DURATION_S:
        raise InvalidInput(f"--duration must be over 0 and at most {MAX_DURATION_S:g} s.")
    if not 1 <= batch <= MAX_BATCH:
        raise InvalidInput(f"--batch must be from 1 to {MAX_BATCH}, got {batch}.")
    if max_requests is not None and max_requests < 1:
        raise InvalidInput(f"--max-requests must be at least 1, got {max_requests}.")


def _sample_texts() -> list[str]:
    from mlcycle.tasks.text.generator import generate

    return generate(2000, seed=5)["text"].astype(str).tolist()


def _bodies(texts: list[str], batch: int, k: int) -> list[bytes]:
    """A few distinct bodies to rotate through."""
    pool = itertools.cycle(texts)
    count = max(1, min(64, 4000 // batch))
    return [
        orjson.dumps({"texts": list(itertools.islice(pool, batch)), "k": k}) for _ in range(count)
    ]


def _request(target: Target, body: bytes, api_key: str | None) -> bytes:
    head = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {target.host}:{target.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if api_key:
        head.append(f"Authorization: Bearer {api_key}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _load(
    target: Target,
    url: str,
    requests: list[bytes],
    concurrency: int,
    duration: float,
    batch: int,
    max_requests: int | None,
    timeout: float,
) -> LoadReport:
    await _probe(target, url)
    budget = itertools.count() if max_requests is None else iter(range(max_requests))
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    start = time.perf_counter()
    deadline = start + duration
    clients = [
        _client(target, requests, i, deadline, budget, timeout, latencies, outcomes)
        for i in range(concurrency)
    ]
    await asyncio.gather(*clients)
    seconds = time.perf_counter() - start
    return _report(url, concurrency, batch, seconds, latencies, outcomes)


async def _probe(target: Target, url: str) -> None:
    try:
        _, writer = await asyncio.wait_for(_connect(target), 10)
    except (OSError, TimeoutError) as exc:
        raise Unavailable(f"Nothing answers at {url} ({exc}); is the server running?") from None
    writer.close()


async def _connect(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = ssl.create_default_context() if target.tls else None
    return await asyncio.open_connection(target.host, target.port, ssl=context)


async def _client(
    target: Target,
    requests: list[bytes],
    offset: int,
    deadline: float,
    budget: Any,
    timeout: float,
    latencies: list[float],
    outcomes: Counter[str],
) -> None:
    """One connection sending requests back to back until time or budget run out."""
    connection = None
    turn = offset
    while time.perf_counter() < deadline and next(budget, None) is not None:
        turn += 1
        began = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                if connection is None:
                    connection = await _connect(target)
                status, keep = await _exchange(connection, requests[turn % len(requests)])
        except TimeoutError:
            outcomes[TIMEOUT] += 1
            _close(connection)
            connection = None
            continue
        except (OSError, asyncio.IncompleteReadError, ValueError):
            outcomes[CONNECTION_ERROR] += 1
            _close(connection)
            connection = None
            continue
        latencies.append(time.perf_counter() - began)
        outcomes[str(status)] += 1
        if not keep:
            _close(connection)
            connection = None
    _close(connection)


async def _exchange(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
) -> tuple[int, bool]:
    """Send one request, read its whole answer; return the status and keep-alive."""
    reader, writer = connection
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    )
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


def _close(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if connection is not None:
        connection[1].close()


def _report(
    url: str,
    concurrency: int,
    batch: int,
    seconds: float,
    latencies: list[float],
    outcomes: Counter[str],
) -> LoadReport:
    ok = sum(count for status, count in outcomes.items() if status.startswith("2"))
    answered = sum(count for status, count in outcomes.items() if status.isdigit())
    total = sum(outcomes.values())
    report = LoadReport(
        url, concurrency, batch, round(seconds, 3), total, ok,
        errors={s: c for s, c in sorted(outcomes.items()) if not s.startswith("2")},
    )  # fmt: skip
    if latencies:
        ms = np.asarray(latencies) * 1000.0
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        report.p50_ms, report.p95_ms, report.p99_ms = (round(float(v), 3) for v in (p50, p95, p99))
        report.max_ms = round(float(ms.max()), 3)
    report.requests_per_s = round(answered / seconds, 1) if seconds > 0 else 0.0
    report.texts_per_s = round(ok * batch / seconds, 1) if seconds > 0 else 0.0
    return report
