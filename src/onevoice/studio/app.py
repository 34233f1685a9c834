"""The Studio as an ASGI app, mounted by the API at ``/studio`` (one process serves both).

Pages are server-rendered (Jinja2), with a little plain JavaScript where it helps (live
rule checks, previews, filters) and charts drawn by plotly.js, served from the installed
``plotly`` package — nothing from a CDN. Every page needs a login.
"""

from __future__ import annotations

import logging
import secrets
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onevoice.api.errors import status_of
from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import OnevoiceError, Unauthorized
from onevoice.studio import actions, admin, customers, insights, policy
from onevoice.studio.web import (
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    LoginRequired,
    check_csrf,
    form_text,
    login_url,
    render,
    safe_next,
    set_cookie,
    staff_of,
    templates,
)

log = logging.getLogger("onevoice.studio")
_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def studio_app(
    ov: Onevoice,
    *,
    journeys: insights.JourneySource | None = None,
    reports: insights.ReportSource | None = None,
) -> Starlette:
    """The Studio over a bootstrapped onevoice; ``journeys`` and ``reports`` feed the
    journey map and the dashboards once those services exist (see :mod:`.insights`)."""
    env = templates()

    def home(request: Request) -> Response:
        staff_of(ov, request)
        return RedirectResponse(f"{PREFIX}/customers", 303)

    def login_page(request: Request) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        target = safe_next(request.query_params.get("next"))
        page = render(env, request, "login.html", None, next=target, login_csrf=token)
        set_cookie(page, ov, request, LOGIN_CSRF_COOKIE, token, 3600)
        return page

    async def login(request: Request) -> Response:
        form = await request.form()
        target = safe_next(form.get("next"))
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or form_text(form, "csrf_token") != cookie:
            return _login_again(request, "Your login form expired; please try again.", target)
        try:
            who = await run_in_threadpool(
                ov.staff.login, form_text(form, "name"), form_text(form, "password")
            )
        except Unauthorized as error:
            return _login_again(request, error.message, target, status=401)
        response = RedirectResponse(target, 303)
        lifetime = int((who.session.expires_at - who.session.created_at).total_seconds())
        set_cookie(response, ov, request, SESSION_COOKIE, who.token, lifetime)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
        return response

    def _login_again(request: Request, message: str, target: str, status: int = 400) -> Response:
        token = secrets.token_urlsafe(24)
        page = render(
            env, request, "login.html", None, status, next=target, error=message, login_csrf=token
        )
        set_cookie(page, ov, request, LOGIN_CSRF_COOKIE, token, 3600)
        return page

    async def logout(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request)
        check_csrf(who, request, form)
        await run_in_threadpool(ov.staff.logout, who.token)
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        found = _static(name)
        if found is None:
            return Response("not found", 404, media_type="text/plain")
        body, kind = found
        return Response(body, media_type=kind, headers={"Cache-Control": "public, max-age=3600"})

    async def login_required(request: Request, _exc: Exception) -> Response:
        if request.url.path.startswith(f"{PREFIX}/api/"):
            return JSONResponse(_error("unauthorized", "log in to the Studio first", None), 401)
        return RedirectResponse(login_url(request), 303)

    async def onevoice_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OnevoiceError)
        status = status_of(exc)
        if request.url.path.startswith(f"{PREFIX}/api/"):
            return JSONResponse(_error(exc.code, exc.message, exc.field), status)
        who = ov.staff.session(request.cookies.get(SESSION_COOKIE))
        return render(env, request, "error.html", who, status, error=exc, code=status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith(f"{PREFIX}/api/"):
            return JSONResponse(_error("http_error", str(exc.detail), None), exc.status_code)
        who = ov.staff.session(request.cookies.get(SESSION_COOKIE))
        problem = OnevoiceError(f"{exc.detail}: {request.url.path}")
        return render(
            env, request, "error.html", who, exc.status_code, error=problem, code=exc.status_code
        )

    async def internal(request: Request, exc: Exception) -> Response:
        # isolation point: the traceback goes to the log, the user gets a page saying so
        log.exception("Studio page %s failed", request.url.path, exc_info=exc)
        return Response(
            "The Studio hit an internal error; it was logged.", 500, media_type="text/plain"
        )

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/{name}", static),
        *customers.routes(ov, env),
        *actions.routes(ov, env),
        *policy.routes(ov, env),
        *insights.routes(ov, env, journeys, reports),
        *admin.routes(ov, env),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(ServerTiming)],
        exception_handlers={
            LoginRequired: login_required,
            OnevoiceError: onevoice_error,
            HTTPException: http_error,
            Exception: internal,
        },
    )


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` to every Studio answer: the time spent on the
    server, visible in the browser's developer tools and read by ``onevoice bench studio``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={took:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)


@lru_cache(maxsize=16)
def _static(name: str) -> tuple[bytes, str] | None:
    """A file of ``studio/static``, or plotly.js from the installed plotly package."""
    if name == "plotly.min.js":
        found = resources.files("plotly").joinpath("package_data", "plotly.min.js")
        return found.read_bytes(), "text/javascript"
    if "/" in name or name.startswith("."):
        return None
    here = resources.files("onevoice.studio").joinpath("static", name)
    if not here.is_file():
        return None
    return here.read_bytes(), _TYPES.get(Path(name).suffix, "application/octet-stream")


def _error(code: str, message: str, field: str | None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}
