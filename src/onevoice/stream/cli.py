"""``onevoice worker``: consume the event stream's partitions this worker holds."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys

import click

from onevoice.config import Settings
from onevoice.domain.errors import OnevoiceError


@click.command("worker")
@click.option("--database", default=None, help="database URL (default ONEVOICE_DATABASE_URL)")
@click.option("--name", default=None, help="this worker's name (default host-pid)")
@click.option("--metrics-port", type=int, default=None, help="Prometheus port (0: none)")
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="events fetched and stored per transaction, per partition",
)
def worker(database: str | None, name: str | None, metrics_port: int | None, batch: int) -> None:
    """Store and process events from NATS JetStream (needs ONEVOICE_STREAM_URL).

    Holds a fair share of the stream's partitions (leases in Redis when
    ONEVOICE_REDIS_URL is set; without Redis one worker holds them all), stores each
    batch and only then acknowledges it, and runs the processor. SIGTERM or Ctrl-C
    finishes the batches in flight and hands the partitions back.
    """
    from prometheus_client import start_http_server

    from onevoice.bootstrap import bootstrap
    from onevoice.ops.heap import tune_long_running
    from onevoice.ops.logs import configure_logging
    from onevoice.ops.metrics import WorkerMetrics
    from onevoice.stream.leases import AllPartitions, Leases, RedisLeases
    from onevoice.stream.worker import Worker

    overrides = {"database_url": database, "metrics_port": metrics_port}
    settings = Settings.from_env(os.environ, **overrides)
    configure_logging(settings.log_level, settings.log_format)
    if not settings.stream_url:
        click.echo("error: set ONEVOICE_STREAM_URL (nats://…) to run a worker", err=True)
        sys.exit(2)
    owner = name or f"{socket.gethostname()}-{os.getpid()}"
    try:  # the worker stores what it consumes: its own collector must not publish again
        ov = bootstrap(dataclasses.replace(settings, stream_url=""))
    except OnevoiceError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)
    tune_long_running()
    leases: Leases
    if settings.redis_url:
        from onevoice.shared.redis_state import client

        leases = RedisLeases(
            client(settings.redis_url, timeout=2.0),
            settings.redis_prefix,
            owner,
            settings.stream_partitions,
            settings.lease_seconds,
        )
    else:
        leases = AllPartitions(settings.stream_partitions)
    metrics = WorkerMetrics()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=metrics.registry)
    runner = Worker(
        ov,
        leases,
        metrics,
        url=settings.stream_url,
        prefix=settings.stream_prefix,
        dedupe_seconds=settings.stream_dedupe_seconds,
        batch=batch,
        tick=max(0.2, settings.lease_seconds / 4),
        lease_ttl=settings.lease_seconds,
    )
    click.echo(f"onevoice worker {owner} on {settings.stream_url} ({ov.store.backend})", err=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await runner.run(stop)

    try:
        asyncio.run(main())
    finally:
        ov.close()
