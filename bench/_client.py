"""The loopback client of the HTTP benchmarks, run in its own process.

``python -m bench._client ingest URL WRITE_KEY PEOPLE EVENTS BATCH CONCURRENCY SEED TAG``
posts the workload's events as ``/v1/batch`` bodies (serialised, as whole requests, before
the clock starts) over CONCURRENCY keep-alive connections of :mod:`bench._http`;
``python -m bench._client lookup URL KEY FILE N`` sends N sequential profile look-ups
(references read from FILE, one per line). Each prints one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from bench._http import Connection, request_bytes
from bench._workload import Workload


def _ingest(argv: list[str]) -> dict[str, Any]:
    url, key = argv[0], argv[1]
    people, events, batch, concurrency, seed = (int(a) for a in argv[2:7])
    tag = argv[7]
    workload = Workload(people, events, seed, tag=tag)
    bodies = [orjson.dumps({"batch": chunk}) for chunk in workload.chunks(batch)]
    sizes = [len(b) for b in bodies]
    counts = [len(orjson.loads(b)["batch"]) for b in bodies]
    latencies: list[float] = []
    failures: dict[str, int] = {}
    last_ok = 0.0
    next_index = 0
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "Content-Type": "application/json",
    }
    requests = [request_bytes("POST", "/v1/batch", f"{host}:{port}", headers, b) for b in bodies]

    async def worker() -> None:
        nonlocal last_ok, next_index
        connection = await Connection.open(host, port)
        try:
            while next_index < len(requests):
                request = requests[next_index]
                next_index += 1
                began = time.perf_counter()
                status = await connection.exchange(request)
                latencies.append(time.perf_counter() - began)
                if 200 <= status < 300:
                    last_ok = time.monotonic()
                else:
                    failures[str(status)] = failures.get(str(status), 0) + 1
        finally:
            connection.close()

    async def run() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began

    seconds = asyncio.run(run())
    latencies.sort()
    return {
        "events": sum(counts),
        "requests": len(bodies),
        "seconds": seconds,
        "mean_event_bytes": sum(sizes) / max(sum(counts), 1),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "failures": failures,
        "last_ok_monotonic": last_ok,
    }


def _lookup(argv: list[str]) -> dict[str, Any]:
    """Sequential keep-alive look-ups, timed with a lean client (the standard library's
    ``http.client``, as ``wrk`` or ``hey`` would time them) and, for comparison, with
    httpx, whose own request building and parsing add about half a millisecond."""
    url, key, path, count = argv[0], argv[1], argv[2], int(argv[3])
    with open(path) as f:
        refs = [line.strip() for line in f if line.strip()]
    headers = {"Authorization": f"Bearer {key}"}
    failures: dict[str, int] = {}

    def timed(get: Callable[[str], int]) -> list[float]:
        timings: list[float] = []
        for n in range(count + 200):
            began = time.perf_counter()
            status = get(refs[n % len(refs)])
            elapsed = time.perf_counter() - began
            if status != 200:
                failures[str(status)] = failures.get(str(status), 0) + 1
            if n >= 200:  # the first 200 warm up caches and connections
                timings.append(elapsed)
        timings.sort()
        return timings

    parsed = urlsplit(url)
    lean = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80)

    def lean_get(ref: str) -> int:
        lean.request("GET", f"/v1/profiles/{quote(ref, safe=':@')}", headers=headers)
        response = lean.getresponse()
        response.read()
        return response.status

    with httpx.Client(headers=headers, timeout=30) as client:
        other = timed(lambda ref: client.get(f"{url}/v1/profiles/{ref}").status_code)
    timings = timed(lean_get)
    lean.close()
    return {
        "requests": len(timings),
        "p50_ms": 1000 * _quantile(timings, 0.5),
        "p99_ms": 1000 * _quantile(timings, 0.99),
        "mean_ms": 1000 * statistics.fmean(timings),
        "max_ms": 1000 * timings[-1],
        "httpx_p50_ms": 1000 * _quantile(other, 0.5),
        "httpx_p99_ms": 1000 * _quantile(other, 0.99),
        "failures": failures,
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    mode, argv = sys.argv[1], sys.argv[2:]
    result = _ingest(argv) if mode == "ingest" else _lookup(argv)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
