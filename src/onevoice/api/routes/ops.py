"""Operations: ``/readyz`` (can this replica serve?), ``/metrics`` (Prometheus) and a
middleware timing every request by its route."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.ops.logs import configure_logging


class _Timed:
    """Times every request by its route (pure ASGI: no task or body copy per request)."""

    def __init__(self, app: Any, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            metrics = self.metrics
            metrics.latency.labels(path).observe(time.perf_counter() - started)
            metrics.requests.labels(path, str(status)).inc()
            if status >= 500:
                metrics.errors.labels("http_5xx").inc()
            if path == "/v1/decide" and status == 200:
                metrics.decisions.labels("made").inc()


def install(app: FastAPI, ov: Onevoice) -> None:
    metrics = ov.fleet.metrics
    if ov.settings.log_format == "json":
        configure_logging(ov.settings.log_level, "json")

    app.add_middleware(_Timed, metrics=metrics)

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
