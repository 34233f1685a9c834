"""The loopback client of the decide benchmark, run in its own process.

``python -m bench._decide_client paced URL KEY FILE RATE SECONDS`` sends ``POST /v1/decide``
open-loop at RATE per second (each request starts on schedule, whether or not the last
one finished, over a pool of at most :data:`MAX_CONNECTIONS` keep-alive connections) and
times each from its scheduled start; ``... flood URL KEY FILE CONCURRENCY SECONDS`` sends
as fast as CONCURRENCY connections allow. Customers are read from FILE, one per line.
Prints one JSON object: the rate and latency of answered requests, and the failures by
status or error (a server that sheds load answers 503: those are counted, not timed).

The client is :mod:`bench._http` (why not httpx: see there).
"""

from __future__ import annotations

import asyncio
import selectors
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench._http import Connection, Pool, request_bytes

CHANNELS = ("web", "app", "email", "call_centre")
#: Connections the paced mode opens at most; beyond that, requests wait (and are timed).
MAX_CONNECTIONS = 64
#: A response not received within this many seconds counts as a failure.
TIMEOUT = 120.0


def _request(host: str, key: str, refs: list[str], n: int) -> bytes:
    body = orjson.dumps(
        {
            "customer": refs[n % len(refs)],
            "channel": CHANNELS[n % len(CHANNELS)],
            "context": {"page": f"p{n % 10}"},
            "k": 1,
        }
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return request_bytes("POST", "/v1/decide", host, headers, body)


def _summary(latencies: list[float], seconds: float, failures: dict[str, int]) -> dict[str, Any]:
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "seconds": seconds,
        "rate": n / seconds if seconds else 0.0,
        "p50_ms": 1000 * latencies[n // 2] if n else 0.0,
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else 0.0,
        "max_ms": 1000 * latencies[-1] if n else 0.0,
        "failures": failures,
    }


async def _run(mode: str, url: str, key: str, refs: list[str], level: float, seconds: float) -> Any:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [_request(f"{host}:{port}", key, refs, n) for n in range(len(refs))]
    limit = int(level) if mode == "flood" else MAX_CONNECTIONS
    pool = Pool(host, port, limit)
    latencies: list[float] = []
    failures: dict[str, int] = {}

    async def one(n: int, scheduled: float) -> None:
        connection: Connection | None = None
        failure: str | None = None
        try:
            connection = await pool.take()
            status = await asyncio.wait_for(
                connection.exchange(requests[n % len(requests)]), TIMEOUT
            )
            if status != 200:
                failure = str(status)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
            failure = type(error).__name__  # counted, and its wait still timed
            if connection is not None:
                connection.close()
                connection = None
            await pool.give(None)
        else:
            await pool.give(connection)
        if failure is None:  # the latency of answers; refusals (503 overloaded) are counted
            latencies.append(time.perf_counter() - scheduled)
        else:
            failures[failure] = failures.get(failure, 0) + 1

    for n in range(200):  # warm up a connection and the server's caches
        await one(n + 7, time.perf_counter())
    latencies.clear()
    failures.clear()
    began = time.perf_counter()
    if mode == "paced":
        tasks = []
        total = int(level * seconds)
        for n in range(total):
            scheduled = began + n / level
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, scheduled)))
        await asyncio.gather(*tasks)
    else:
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.perf_counter() - began < seconds:
                await one(next(counter), time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(int(level))))
    elapsed = time.perf_counter() - began
    pool.close()
    return _summary(latencies, elapsed, failures)


def _precise_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose timers wake within microseconds of when they are due.

    asyncio's default selector (epoll) waits in whole milliseconds, rounded up: at 50/s a
    request started 0.8–1.1 ms after its scheduled moment (p50; 0.3 ms with this loop, the
    rest being an idle process woken), and since each is timed from that moment, the
    client's own lateness counted as the server's latency. ``select`` waits in microseconds
    and, like every asyncio loop, never runs a timer early (uvloop's millisecond timers
    do, by up to half a millisecond, which would flatter the server). A client's few dozen
    sockets are well within its limits.
    """
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def main() -> None:
    mode, url, key, path, level, seconds = sys.argv[1:7]
    with open(path) as f:
        refs = [line.strip() for line in f if line.strip()]
    with asyncio.Runner(loop_factory=_precise_loop) as runner:
        result = runner.run(_run(mode, url, key, refs, float(level), float(seconds)))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
