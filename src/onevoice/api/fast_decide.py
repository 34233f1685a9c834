"""``POST /v1/decide`` straight to the use case (a handler of :mod:`onevoice.api.fast_path`).

A decide is answered here when the request is plain: JSON whose ``customer`` and ``channel``
are strings, ``context`` (if given) an object and ``k`` (if given) an integer, carrying a
key the key cache knows. Everything else goes to the FastAPI route.

Where decides run on the event loop (``Decisions.waits_only_for_cpu``: SQLite's page
cache, the log written behind), a key the cache does not know — or no longer: entries live
two seconds — is looked up here too, on the loop, as the decide's own reads are. Handing
that request to the route instead cost it the framework and a trip to a worker thread and
back (~1 ms more alone; under load, behind the loop's decides, tens of milliseconds, and
every request arriving meanwhile missed the cache too): every two seconds, so at 50/s one
request in a hundred — the rank of the p99. Elsewhere (PostgreSQL, shared state) the
look-up stays off the loop, in the route's worker thread.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from onevoice.api.auth import token_of
from onevoice.api.errors import error_response, internal_response
from onevoice.api.fast_path import Handler, Scope, Send, header, send_response
from onevoice.api.responses import Json
from onevoice.api.routes.decide import decided_json
from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import OnevoiceError

_log = logging.getLogger("onevoice.api")
PATH = "/v1/decide"


def fast_decide(ov: Onevoice) -> Handler:
    """The handler answering plain decides."""

    async def answer(scope: Scope, body: bytes, send: Send) -> bool:
        kind = header(scope, b"content-type")
        request = _plain(body) if kind is not None and b"json" in kind else None
        if request is None:
            return False
        try:
            token = token_of(Request(scope))
            known = ov.keys.check_cached(token, "server")
            if known is None and ov.decisions.waits_only_for_cpu:
                known = ov.keys.check(token, "server")  # see the module docstring
        except OnevoiceError as error:  # no key, a malformed header, a refused key
            await send_response(send, error_response(error))
            return True
        except Exception:  # the look-up failed: the route answers it as it always has
            return False
        if known is None:
            return False
        await _decide(ov, request, send)
        return True

    return answer


async def _decide(ov: Onevoice, request: dict[str, Any], send: Send) -> None:
    decide = ov.decisions.decide
    args = (request["customer"], request["channel"], request.get("context", {}),
            request.get("k", 1))  # fmt: skip
    try:
        if ov.decisions.waits_only_for_cpu:  # as the route: on the loop
            decided = decide(*args)
        else:  # a worker thread, so that one decide's waits do not hold up the others
            decided = await run_in_threadpool(decide, *args)
    except OnevoiceError as error:
        await send_response(send, error_response(error))
        return
    except Exception as error:  # the route's handler: logged, and JSON for the client
        _log.exception("decide failed")
        await send_response(send, internal_response(error))
        return
    await send_response(send, Json(decided_json(decided)))


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
