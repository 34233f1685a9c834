"""Reading keys off requests: Segment's Basic auth (write key as username) or Bearer."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from onevoice.domain.errors import Unauthorized
from onevoice.services.keys import Keys


def token_of(request: Request, body_write_key: object = None) -> str | None:
    """The key a request carries: Basic username, Bearer token, or ``writeKey`` in the body."""
    header = request.headers.get("authorization", "")
    scheme, _sep, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(
                "the Basic credentials are not base64", field="authorization"
            ) from None
        return decoded.partition(":")[0] or None
    if scheme == "bearer" and value:
        return value.strip()
    if header:
        raise Unauthorized("use Basic (write key as username) or Bearer", field="authorization")
    if isinstance(body_write_key, str) and body_write_key:
        return body_write_key
    return None


def requires(keys: Keys, need: str, *, header_only: bool = False) -> Any:
    """A router dependency that checks the key before the body is read or validated, so a
    caller without the right key learns nothing, not even what the body should be.

    ``header_only``: check only when an Authorization header is sent (collect also takes
    Segment's ``writeKey`` in the body; the endpoint checks that one itself).

    Async, so a key checked in the last seconds costs no trip to a worker thread and back
    (a sync dependency takes one per request); a key to look up is read in a thread.
    """

    async def check(request: Request) -> None:
        if header_only and not request.headers.get("authorization"):
            return
        token = token_of(request)
        if keys.check_cached(token, need) is None:
            await run_in_threadpool(keys.check, token, need)

    return Depends(check)
