"""Prometheus metrics, each set on its own registry (built by whoever runs, never at import).

The API counts requests and their latency per route (decisions/s is
``rate(onevoice_http_requests_total{route="/v1/decide"}[1m])``), events in and errors; a
worker counts what it consumed and stored, and exposes the lag of each partition it holds.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "onevoice_http_requests", "HTTP requests answered", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "onevoice_http_request_seconds",
            "time to answer",
            ["route"],
            buckets=_LATENCY,
            registry=r,
        )
        self.events_in = Counter(
            "onevoice_events_in", "events accepted by collect", ["result"], registry=r
        )
        self.decisions = Counter("onevoice_decisions", "decisions made", ["result"], registry=r)
        self.errors = Counter("onevoice_errors", "failures", ["kind"], registry=r)
        self.shared_state_failures = Counter(
            "onevoice_shared_state_failures",
            "decisions that could not reach Redis (marketing blocked)",
            registry=r,
        )
        self.model_reloads = Counter(
            "onevoice_model_reloads", "newer models loaded from the database", registry=r
        )

    def stored(self, new: int, duplicates: int) -> None:
        self.events_in.labels("accepted").inc(new)
        self.events_in.labels("duplicate").inc(duplicates)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "onevoice_worker_consumed", "messages read from the stream", registry=r
        )
        self.stored = Counter("onevoice_worker_stored", "events appended to the log", registry=r)
        self.processed = Counter(
            "onevoice_worker_processed",
            "events filed under people (identity, profiles)",
            registry=r,
        )
        self.duplicates = Counter(
            "onevoice_worker_duplicates", "redelivered events already stored", registry=r
        )
        self.batch_seconds = Histogram(
            "onevoice_worker_batch_seconds",
            "time to store and acknowledge a batch",
            buckets=_LATENCY,
            registry=r,
        )
        self.lag = Gauge(
            "onevoice_partition_lag",
            "messages not yet acknowledged, per partition",
            ["partition"],
            registry=r,
        )
        self.backlog = Gauge(
            "onevoice_processing_backlog", "events stored but not yet processed", registry=r
        )
        self.partitions = Gauge(
            "onevoice_worker_partitions", "partitions this worker holds", registry=r
        )
        self.errors = Counter("onevoice_worker_errors", "failures", ["kind"], registry=r)
