"""The one map from errors to HTTP: every error is ``{"error": {code, message, field}}``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from onevoice.api.responses import Json
from onevoice.domain.errors import (
    Conflict,
    Forbidden,
    InvalidEvent,
    InvalidIdentifier,
    InvalidInput,
    NotFound,
    OnevoiceError,
    RateLimited,
    Unauthorized,
    Unavailable,
)

STATUS: dict[type[OnevoiceError], int] = {
    InvalidEvent: 400,
    InvalidIdentifier: 400,
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}


class ApiError(OnevoiceError):
    """An error only the HTTP edge knows (too large, not JSON), with its own status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.code = code


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


async def send_refusal(
    send: Any, status: int, code: str, message: str, retry_after: int, field: str | None = None
) -> None:
    """Answer at the ASGI level, before any route runs: a JSON error with ``Retry-After``
    (rate limits, shedding)."""
    body = orjson.dumps(error_body(code, message, field))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def status_of(error: OnevoiceError) -> int:
    if isinstance(error, ApiError):
        return error.status
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def error_response(exc: OnevoiceError) -> Json:
    """The answer to a domain error, for the handler below and for the fast paths."""
    headers = {"WWW-Authenticate": "Basic, Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, round(exc.retry_after + 0.5)))}
    return Json(error_body(exc.code, exc.message, exc.field), status_of(exc), headers=headers)


def internal_response(exc: Exception) -> Json:
    """The answer to an unexpected failure (logged by whoever caught it)."""
    return Json(
        error_body("internal", f"internal error ({type(exc).__name__}); it was logged", None),
        500,
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    async def onevoice_error(_request: Request, exc: Exception) -> Json:
        assert isinstance(exc, OnevoiceError)
        return error_response(exc)

    async def validation_error(request: Request, exc: Exception) -> Json:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        kind = request.headers.get("content-type", "")
        if request.method in ("POST", "PUT") and "json" not in kind:
            return Json(
                error_body(
                    "invalid_input",
                    f"send the body as JSON with Content-Type: application/json (got {kind!r})",
                    "content-type",
                ),
                415,
            )
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return Json(
            error_body("invalid_input", str(first.get("msg", "invalid request")), where or None),
            422,
        )

    async def http_error(_request: Request, exc: Exception) -> Json:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return Json(error_body(code, str(exc.detail), None), exc.status_code)

    async def internal_error(_request: Request, exc: Exception) -> Json:
        # isolation point: the server logs the traceback; the client gets JSON, not a page
        return internal_response(exc)

    app.add_exception_handler(OnevoiceError, onevoice_error)
    app.add_exception_handler(Exception, internal_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
