"""Operations: ``/readyz`` (can this replica serve?), ``/metrics`` (Prometheus) and a
middleware timing every request by its route."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.ops.logs import configure_logging


def install(app: FastAPI, ov: Onevoice) -> None:
    metrics = ov.fleet.metrics
    if ov.settings.log_format == "json":
        configure_logging(ov.settings.log_level, "json")

    @app.middleware("http")
    async def timed(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.latency.labels(path).observe(time.perf_counter() - started)
            metrics.requests.labels(path, str(status)).inc()
            if status >= 500:
                metrics.errors.labels("http_5xx").inc()
            if path == "/v1/decide" and status == 200:
                metrics.decisions.labels("made").inc()

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database, the event stream and Redis answer (503 if not)",
    )
    async def ready() -> Json:
        checks = await run_in_threadpool(ov.fleet.checks, ov.store)
        ok = all(checks.values())
        return Json(
            {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics of this replica")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
