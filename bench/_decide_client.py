"""The loopback client of the decide benchmark, run in its own process.

``python -m bench._decide_client paced URL KEY FILE RATE SECONDS`` sends ``POST /v1/decide``
open-loop at RATE per second (each request starts on schedule, whether or not the last
one finished, over a pool of keep-alive connections) and times each from its scheduled
start; ``... flood URL KEY FILE CONCURRENCY SECONDS`` sends as fast as CONCURRENCY
connections allow. Customers are read from FILE, one per line. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import orjson

CHANNELS = ("web", "app", "email", "call_centre")


def _body(refs: list[str], n: int) -> bytes:
    return orjson.dumps(
        {
            "customer": refs[n % len(refs)],
            "channel": CHANNELS[n % len(CHANNELS)],
            "context": {"page": f"p{n % 10}"},
            "k": 1,
        }
    )


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
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    latencies: list[float] = []
    failures: dict[str, int] = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    # an overloaded server queues requests: waiting for a pooled connection is part of the
    # latency (from the scheduled start), never a client-side failure
    timeout = httpx.Timeout(120.0, pool=None)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=timeout
    ) as c:
        for n in range(200):  # warm up connections and caches
            await c.post("/v1/decide", content=_body(refs, n + 7))

        async def one(n: int, scheduled: float) -> None:
            try:
                response = await c.post("/v1/decide", content=_body(refs, n))
                failure = None if response.status_code == 200 else str(response.status_code)
            except httpx.HTTPError as error:  # counted, and its wait still timed
                failure = type(error).__name__
            latencies.append(time.perf_counter() - scheduled)
            if failure is not None:
                failures[failure] = failures.get(failure, 0) + 1

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
        return _summary(latencies, time.perf_counter() - began, failures)


def main() -> None:
    mode, url, key, path, level, seconds = sys.argv[1:7]
    with open(path) as f:
        refs = [line.strip() for line in f if line.strip()]
    result = asyncio.run(_run(mode, url, key, refs, float(level), float(seconds)))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
