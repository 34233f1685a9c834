"""Rate limits per credential, before anything else runs (parsing, validation, look-ups).

A token bucket per API key or customer token (:class:`~onevoice.services.ratelimit.
RateLimiter`), keyed by a hash of the credential the request carries, so unknown keys are
limited too (guessing costs time). A request without a credential is limited per client
address. Pure ASGI: no per-request task or body copy.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from typing import Any

from onevoice.api.errors import send_refusal
from onevoice.domain.errors import RateLimited
from onevoice.services.ratelimit import RateLimiter

_UNLIMITED = ("/healthz", "/docs", "/redoc", "/openapi.json")


def credential_of(headers: list[tuple[bytes, bytes]], client: Any) -> str:
    """What a request is limited by: its key or token (hashed), else its address."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _sep, rest = value.decode("latin-1").partition(" ")
            token = rest.strip()
            if scheme.lower() == "basic":
                with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                    token = base64.b64decode(token, validate=True).decode().partition(":")[0]
            return "k:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    host = client[0] if client else "unknown"
    return f"ip:{host}"


class RateLimits:
    """ASGI middleware: 429 with ``Retry-After`` once a credential's bucket is empty."""

    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.limiter.rate <= 0 or scope["path"] in _UNLIMITED:
            await self.app(scope, receive, send)
            return
        try:
            self.limiter.take(credential_of(scope["headers"], scope.get("client")))
        except RateLimited as error:
            retry = max(1, round(error.retry_after + 0.5))
            await send_refusal(send, 429, error.code, error.message, retry, error.field)
            return
        await self.app(scope, receive, send)
