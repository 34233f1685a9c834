"""Stream benchmarks: the fleet on the real PostgreSQL, NATS JetStream and Redis.

* workers — events published to JetStream (the listening-post workload: anonymous
  browsing, identify, login, shared devices), then ``onevoice worker`` processes (1, then
  2) store and process them: end-to-end events/s from the first event stored to the
  last one processed; the scaling ratio 2 workers / 1 worker.
* lag — 2 workers under a sustained published load: the lag (published − processed)
  sampled twice a second, its median and maximum, and the time to drain after the load.
* decide — decisions/s over HTTP with 1 and then 2 ``onevoice serve`` processes sharing
  PostgreSQL and Redis (caps and conversations in Redis), one flooding client per process.

Servers: ``--postgres-url`` (else ``ONEVOICE_TEST_POSTGRES_URL`` or the local server),
``ONEVOICE_BENCH_NATS_URL`` (``nats://127.0.0.1:4222``), ``ONEVOICE_BENCH_REDIS_URL``
(``redis://127.0.0.1:6379/0``). Each run uses its own databases, stream and key prefix.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench._workload import Workload
from bench.bench_decide import _client as _decide_client
from bench.bench_decide import _people, catalog
from bench.bench_listening_post import _machine, _row, _served
from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from onevoice.domain.events import parse_event
from onevoice.stream.nats import NatsPublisher

Row = dict[str, Any]
NATS_URL = os.environ.get("ONEVOICE_BENCH_NATS_URL", "nats://127.0.0.1:4222")
REDIS_URL = os.environ.get("ONEVOICE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PARTITIONS = 8


@contextlib.contextmanager
def _database(options: dict[str, Any]) -> Iterator[str]:
    import psycopg

    admin_url = str(
        options.get("postgres_url")
        or os.environ.get("ONEVOICE_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"onevoice_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _counts(url: str) -> Callable[[], tuple[int, int]]:
    """(stored, processed) events, read straight from the database."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)

    def counts() -> tuple[int, int]:
        row = conn.execute("SELECT COUNT(*), COUNT(profile_id) FROM events").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    return counts


def _env(database: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEVOICE_")}
    env.update(
        ONEVOICE_DATABASE_URL=database,
        ONEVOICE_SECRET_KEY="bench-secret",
        ONEVOICE_STREAM_URL=NATS_URL,
        ONEVOICE_STREAM_PREFIX=prefix,
        ONEVOICE_STREAM_PARTITIONS=str(PARTITIONS),
        ONEVOICE_REDIS_URL=REDIS_URL,
        ONEVOICE_REDIS_PREFIX=prefix,
        ONEVOICE_LEASE_SECONDS="3",
        ONEVOICE_METRICS_PORT="0",
        ONEVOICE_LOG_LEVEL="warning",
    )
    return env


@contextlib.contextmanager
def _workers(count: int, env: dict[str, str], log_dir: Path) -> Iterator[None]:
    procs = []
    for n in range(count):
        log = (log_dir / f"worker{n}.log").open("w")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "onevoice.cli", "worker", "--name", f"w{n}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _publisher(prefix: str) -> NatsPublisher:
    publisher = NatsPublisher(NATS_URL, prefix, PARTITIONS, timeout=30)
    publisher.start()
    return publisher


def _parsed(calls: list[dict[str, Any]]) -> list[Any]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return [parse_event(call, received_at=now) for call in calls]


def _end_to_end(options: dict[str, Any], workers: int, events: int) -> dict[str, float]:
    prefix = f"ovb{secrets.token_hex(4)}"
    workload = Workload(max(1, events // 5), events, seed=5, tag=prefix)
    with _database(options) as database, tempfile.TemporaryDirectory() as tmp:
        bootstrap(Settings(database_url=database, secret_key="bench-secret")).close()
        publisher = _publisher(prefix)
        began = time.perf_counter()
        for chunk in workload.chunks(500):
            publisher.publish(_parsed(chunk))
        published = time.perf_counter() - began
        publisher.close()
        counts = _counts(database)
        with _workers(workers, _env(database, prefix), Path(tmp)):
            first = None
            while True:
                stored, processed = counts()
                if first is None and stored:
                    first = time.perf_counter()
                if processed >= len(workload):
                    break
                time.sleep(0.1)
            took = time.perf_counter() - (first or time.perf_counter())
        _drop_stream(prefix)
    return {
        "rate": len(workload) / took,
        "seconds": took,
        "publish_rate": len(workload) / published,
        "load": os.getloadavg()[0],
    }


def _sustained(options: dict[str, Any], rate: int, seconds: float) -> dict[str, float]:
    prefix = f"ovb{secrets.token_hex(4)}"
    total = int(rate * seconds)
    workload = Workload(max(1, total // 5), total, seed=6, tag=prefix)
    with _database(options) as database, tempfile.TemporaryDirectory() as tmp:
        bootstrap(Settings(database_url=database, secret_key="bench-secret")).close()
        publisher = _publisher(prefix)
        counts = _counts(database)
        published = [0]
        lags: list[int] = []
        with _workers(2, _env(database, prefix), Path(tmp)):
            time.sleep(3)  # let the workers claim their partitions
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    lags.append(published[0] - counts()[1])
                    time.sleep(0.5)

            sampler = threading.Thread(target=sample, daemon=True)
            began = time.perf_counter()
            sampler.start()
            batch = max(1, rate // 10)
            for n, chunk in enumerate(workload.chunks(batch)):
                delay = began + n * batch / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                published[0] += publisher.publish(_parsed(chunk))
            offered = published[0] / (time.perf_counter() - began)
            stopped = time.perf_counter()
            while counts()[1] < len(workload):
                time.sleep(0.1)
            drained = time.perf_counter() - stopped
            done.set()
            sampler.join()
        publisher.close()
        _drop_stream(prefix)
    return {
        "offered": offered,
        "lag_median": statistics.median(lags) if lags else 0,
        "lag_max": max(lags) if lags else 0,
        "drain_seconds": drained,
    }


def _drop_stream(prefix: str) -> None:
    import asyncio

    import nats

    from onevoice.stream.partitions import stream_name

    async def drop() -> None:
        nc = await nats.connect(NATS_URL)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(stream_name(prefix))
        await nc.close()

    asyncio.run(drop())
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _decide_rates(options: dict[str, Any], people: int, seconds: float) -> tuple[float, float]:
    """decisions/s of one serve process, then of two sharing PostgreSQL and Redis."""
    prefix = f"ovb{secrets.token_hex(4)}"
    with _database(options) as database, tempfile.TemporaryDirectory() as tmp:
        ov = bootstrap(Settings(database_url=database, secret_key="bench-secret"))
        try:
            ov.actions.load(catalog(50))
            everyone = _people(people)
            for start in range(0, people, 1000):
                chunk = [call for person in everyone[start : start + 1000] for call in person]
                ov.collector.collect(chunk, source="bench")
                ov.processor.run_until_idle()
            key = ov.keys.create("server", "bench")[1]
        finally:
            ov.close()
        refs = Path(tmp) / "refs.txt"
        rng = random.Random(9)
        refs.write_text("\n".join(f"userId:d{rng.randrange(people)}" for _ in range(20_000)))
        extra = {
            "ONEVOICE_SECRET_KEY": "bench-secret",
            "ONEVOICE_REDIS_URL": REDIS_URL,
            "ONEVOICE_REDIS_PREFIX": prefix,
        }
        with _served(database, env_extra=extra) as url:
            one = _decide_client("flood", url, key, str(refs), "8", str(seconds))["rate"]
        with _served(database, env_extra=extra) as a, _served(database, env_extra=extra) as b:
            results: list[float] = []

            def flood(url: str) -> None:
                results.append(
                    _decide_client("flood", url, key, str(refs), "8", str(seconds))["rate"]
                )

            threads = [threading.Thread(target=flood, args=(u,)) for u in (a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        _drop_stream(prefix)
    return one, sum(results)


def stream(options: dict[str, Any]) -> list[Row]:
    quick = bool(options.get("quick"))
    events, rate, seconds, people = (
        (4_000, 300, 5.0, 1_000) if quick else (30_000, 1_000, 20.0, 5_000)
    )
    rows: list[Row] = []
    one = _end_to_end(options, 1, events)
    two = _end_to_end(options, 2, events)
    setup = (
        f"{events:,} listening-post events pre-published to JetStream ({PARTITIONS} partitions; "
        f"publish with acks {one['publish_rate']:,.0f}/s), PostgreSQL; {_machine()} shared "
        "by the workers, PostgreSQL, NATS and Redis"
    )
    rows.append(
        _row(
            "end-to-end events/s, 1 worker",
            f"{one['rate']:,.0f}",
            "",
            f"{setup}; load average {one['load']:.1f} after the run",
        )
    )
    rows.append(
        _row(
            "end-to-end events/s, 2 workers",
            f"{two['rate']:,.0f}",
            "",
            f"scaling ratio {two['rate'] / one['rate']:.2f}× (first event stored → last "
            f"processed); load average {two['load']:.1f} after the run",
        )
    )
    held = _sustained(options, rate, seconds)
    rows.append(
        _row(
            f"lag at {rate:,}/s sustained, 2 workers",
            f"median {held['lag_median']:,.0f}, max {held['lag_max']:,.0f} events",
            "",
            f"{seconds:.0f} s offered at {held['offered']:,.0f}/s; drained "
            f"{held['drain_seconds']:.1f} s after the load stopped",
        )
    )
    single, double = _decide_rates(options, people, 5.0 if quick else 10.0)
    rows.append(_row("decisions/s over HTTP, 1 serve process", f"{single:,.0f}", "", ""))
    rows.append(
        _row(
            "decisions/s over HTTP, 2 serve processes",
            f"{double:,.0f}",
            "",
            f"scaling ratio {double / single:.2f}×; shared PostgreSQL + Redis caps; "
            "one flooding client process (8 connections) per server, on the same cores; "
            f"load average {os.getloadavg()[0]:.1f}",
        )
    )
    return rows


SUITES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {"stream": stream}
