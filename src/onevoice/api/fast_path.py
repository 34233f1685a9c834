"""Busy ``POST`` calls answered straight by their use case, for the requests that need
nothing else.

FastAPI charges every request for route matching across every router, dependency solving
and model validation before the endpoint begins: ~0.3 ms of CPU, a third of a whole decide
on a small database and a tenth of ingesting a batch of a hundred events. This ASGI
middleware reads the body of a ``POST`` to a path it has a handler for and lets the handler
answer it when the request is plain (each handler says what that is; typically a key the
key cache already knows and a well-formed body). Anything else — a malformed body, an
unknown or uncached key, a body over the size limit — goes on, with its body, to the
FastAPI route, which answers it exactly as it always has. So a fast path can only answer
what the route would have answered, the same way; the route also keeps describing the call
in OpenAPI.

It sits inside the rate limits and the load shedding (both still apply) and outside the
framework's error handlers, so handlers map errors themselves, with the same shapes
(:func:`onevoice.api.errors.error_response`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from starlette.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: ``(scope, body, send)``: True when it answered, False to hand the request to the route.
Handler = Callable[[Scope, bytes, Send], Awaitable[bool]]


class _Route:
    """What the request-timing middleware reads off ``scope["route"]``: its path."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class FastPaths:
    """ASGI middleware; see the module docstring. ``handlers`` by exact path (POST only);
    ``limit``: the largest body read for them (a bigger one goes to the route unread)."""

    def __init__(self, app: ASGIApp, handlers: Mapping[str, Handler], limit: int) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.routes = {path: _Route(path) for path in handlers}
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.handlers.get(scope["path"])
        if handler is None:
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive, self.limit)
        if complete and await handler(scope, body, send):
            scope["route"] = self.routes[scope["path"]]
            return
        await self.app(scope, _replay(body, complete, receive), send)


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), as Starlette's ``headers.get``."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def send_response(send: Send, response: Response) -> None:
    """Send ``response`` as the route would have (status, headers and body)."""
    await send(
        {"type": "http.response.start", "status": response.status_code,
         "headers": response.raw_headers}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": response.body})


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, and whether it is all there (False: over ``limit``, the rest unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: let the route see it
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` for the route: what was read, as one message, then the rest as sent."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return again
