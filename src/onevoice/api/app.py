"""The HTTP API: ``create_app(onevoice)`` builds it; nothing is built at import time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi

from onevoice import __version__
from onevoice.api import errors
from onevoice.api.fast_decide import fast_decide
from onevoice.api.fast_path import FastPaths
from onevoice.api.limits import RateLimits
from onevoice.api.overload import LoopLag, ShedWhenBehind
from onevoice.api.responses import Json
from onevoice.api.routes import actions, admin, collect, decide, intents, me, ops, privacy, profiles
from onevoice.api.routes import journeys as journey_routes
from onevoice.api.routes import reports as report_routes
from onevoice.bootstrap import Onevoice
from onevoice.studio import store_journeys, studio_app

DESCRIPTION = """
onevoice listens to every interaction on every channel, joins them into one customer
and keeps one live profile.

* **Collect** — the Segment HTTP Tracking API (`/v1/track`, `identify`, `page`, `screen`,
  `group`, `alias`, `batch`); the write key is the HTTP Basic username.
* **Profiles** — `GET /v1/profiles/{type}:{value}` with `Authorization: Bearer <server key>`.
* **Decide** — `POST /v1/decide` and `POST /v1/responses` with a server key.
* **Actions** — the catalog, `GET/PUT /v1/actions/{id}` with an admin key.
* **Reports** — lift, ROI, budget, respect and components, `GET /v1/reports/{kind}` with a
  server key: JSON rows with estimate, lower and upper for charts.
* **Admin** — keys per source, with an admin key.
* **Privacy** — `DELETE /v1/profiles/{type}:{value}` erases a person (admin key) and returns
  the erasure report; `GET /v1/audit` (admin); `POST /v1/me/tokens` mints a customer token
  (server key) for `GET /v1/me`, `POST /v1/me/consent` and `POST /v1/me/budget`.

Every error is `{"error": {"code", "message", "field"}}`.
"""
#: How often lapsed conversations are scored ``no_response`` (see ``Decisions.close_lapsed``).
SWEEP_SECONDS = 60.0
_log = logging.getLogger("onevoice.api")


async def _sweep_lapsed(ov: Onevoice) -> None:
    """Score lapsed conversations now and then, off the event loop; a failure is logged."""
    while True:
        try:
            await run_in_threadpool(ov.decisions.close_lapsed)
        except Exception:
            _log.exception("scoring lapsed conversations failed; retrying later")
        await asyncio.sleep(SWEEP_SECONDS)


def create_app(ov: Onevoice, *, run_processor: bool = True) -> FastAPI:
    """The API over a bootstrapped onevoice; starts the background processor while up."""

    lag = LoopLag()
    # decides are shed only where they run on the event loop: there its lag is their queue
    shed = ov.settings.shed_lag_ms / 1000 if ov.decisions.waits_only_for_cpu else 0.0

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = None
        processing = run_processor and ov.fleet.publisher is None  # else workers process
        if processing:
            ov.background.start()
        if run_processor:  # every replica may sweep: closing a lapsed conversation is idempotent
            sweeper = asyncio.create_task(_sweep_lapsed(ov))
        ov.fleet.start()
        sampler = asyncio.create_task(lag.run()) if shed > 0 else None
        try:
            yield
        finally:
            if sampler is not None:
                sampler.cancel()
                with suppress(asyncio.CancelledError):
                    await sampler
            if sweeper is not None:
                sweeper.cancel()
                with suppress(asyncio.CancelledError):
                    await sweeper
            if processing:
                ov.background.stop()

    app = FastAPI(
        title="onevoice",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=Json,
    )
    errors.install(app)
    app.add_middleware(  # innermost: inside rate limits and shedding
        FastPaths,
        handlers={"/v1/decide": fast_decide(ov), "/v1/batch": collect.fast_batch(ov)},
        limit=ov.settings.max_body_bytes,
    )
    app.add_middleware(RateLimits, limiter=ov.limiter)
    app.add_middleware(ShedWhenBehind, lag=lag, limit=shed)
    app.include_router(collect.router(ov))
    app.include_router(profiles.router(ov))
    app.include_router(admin.router(ov))
    app.include_router(decide.router(ov))
    app.include_router(actions.router(ov))
    app.include_router(journey_routes.router(ov))
    app.include_router(intents.router(ov))
    app.include_router(privacy.router(ov))
    app.include_router(me.router(ov))
    app.include_router(report_routes.router(ov))
    ops.install(app, ov)
    app.mount("/studio", studio_app(ov, journeys=store_journeys(ov), reports=ov.reports))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "write key as the username, empty password",
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a server or admin key",
                },
                "customer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a customer token minted by POST /v1/me/tokens (for /v1/me)",
                },
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["operations"], summary="Liveness and the size of the backlog")
    def health() -> Json:
        return Json(
            {"status": "ok", "backend": ov.store.backend, "processor_errors": ov.background.errors}
        )

    return app
