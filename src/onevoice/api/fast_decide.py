"""``POST /v1/decide`` straight to the use case, for the requests that need nothing else.

The busiest call of a decisioning API paid ~0.3 ms of CPU per request to the framework
before a decide began — route matching across every router, dependency solving, model
validation — a third of a whole decide on a small database. This ASGI middleware answers a
decide itself when the request is plain: JSON whose ``customer`` and ``channel`` are
strings, ``context`` (if given) an object and ``k`` (if given) an integer, carrying a key
the key cache already knows. Everything else — a malformed body, an unknown or uncached
key, a body over the size limit — goes on, with its body, to the FastAPI route, which
answers it exactly as it always has. So the fast path can only answer what the route
would have answered, the same way; the route also keeps describing the call in OpenAPI.

It sits inside the rate limits and the load shedding (both still apply) and outside the
framework's error handlers, so it maps errors itself, with the same shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from onevoice.api.auth import token_of
from onevoice.api.errors import error_body, status_of
from onevoice.api.routes.decide import decided_json
from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import OnevoiceError, RateLimited, Unauthorized

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("onevoice.api")
PATH = "/v1/decide"


class _Route:
    """What the request-timing middleware reads off ``scope["route"]``."""

    path = PATH


class FastDecide:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, ov: Onevoice) -> None:
        self.app = app
        self.ov = ov
        self.limit = ov.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive, self.limit)
        request = _plain(body) if complete and _is_json(scope) else None
        if request is not None:
            try:
                known = self.ov.keys.check_cached(token_of(Request(scope)), "server")
            except OnevoiceError as error:  # no key, a malformed header, a refused key
                await _send_error(send, error)
                return
            if known is not None:
                scope["route"] = _Route
                await self._decide(request, send)
                return
        await self.app(scope, _replay(body, complete, receive), send)

    async def _decide(self, request: dict[str, Any], send: Send) -> None:
        decide = self.ov.decisions.decide
        args = (request["customer"], request["channel"], request.get("context", {}),
                request.get("k", 1))  # fmt: skip
        try:
            if self.ov.decisions.waits_only_for_cpu:  # as the route: on the loop
                decided = decide(*args)
            else:  # a worker thread, so that one decide's waits do not hold up the others
                decided = await run_in_threadpool(decide, *args)
        except OnevoiceError as error:
            await _send_error(send, error)
            return
        except Exception as error:  # the route's handler: logged, and JSON for the client
            _log.exception("decide failed")
            message = f"internal error ({type(error).__name__}); it was logged"
            await _send(send, 500, error_body("internal", message, None))
            return
        await _send(send, 200, decided_json(decided))


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value
    return False


def _plain(body: bytes) -> dict[str, Any] | None:
    """The request if it is plainly valid (what the route's model accepts unchanged)."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if (
        type(request) is dict
        and type(request.get("customer")) is str
        and type(request.get("channel")) is str
        and type(request.get("context", {})) is dict
        and type(request.get("k", 1)) is int
    ):
        return request
    return None


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


async def _send_error(send: Send, error: OnevoiceError) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if isinstance(error, Unauthorized):
        headers.append((b"www-authenticate", b"Basic, Bearer"))
    if isinstance(error, RateLimited):
        headers.append((b"retry-after", str(max(1, round(error.retry_after + 0.5))).encode()))
    body = error_body(error.code, error.message, error.field)
    await _send(send, status_of(error), body, headers)


async def _send(
    send: Send, status: int, content: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(content)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
