"""The HTTP API: ``create_app(onevoice)`` builds it; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from onevoice import __version__
from onevoice.api import errors
from onevoice.api.responses import Json
from onevoice.api.routes import actions, admin, collect, decide, profiles
from onevoice.bootstrap import Onevoice
from onevoice.studio import studio_app

DESCRIPTION = """
onevoice listens to every interaction on every channel, joins them into one customer
and keeps one live profile.

* **Collect** — the Segment HTTP Tracking API (`/v1/track`, `identify`, `page`, `screen`,
  `group`, `alias`, `batch`); the write key is the HTTP Basic username.
* **Profiles** — `GET /v1/profiles/{type}:{value}` with `Authorization: Bearer <server key>`.
* **Decide** — `POST /v1/decide` and `POST /v1/responses` with a server key.
* **Actions** — the catalog, `GET/PUT /v1/actions/{id}` with an admin key.
* **Admin** — keys per source, with an admin key.

Every error is `{"error": {"code", "message", "field"}}`.
"""


def create_app(ov: Onevoice, *, run_processor: bool = True) -> FastAPI:
    """The API over a bootstrapped onevoice; starts the background processor while up."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_processor:
            ov.background.start()
        try:
            yield
        finally:
            if run_processor:
                ov.background.stop()

    app = FastAPI(
        title="onevoice",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=Json,
    )
    errors.install(app)
    app.include_router(collect.router(ov))
    app.include_router(profiles.router(ov))
    app.include_router(admin.router(ov))
    app.include_router(decide.router(ov))
    app.include_router(actions.router(ov))
    app.mount("/studio", studio_app(ov))

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
