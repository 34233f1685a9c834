"""The app with its fast paths and the app without them, to show that a fast path answers
exactly as the FastAPI route does (``api/fast_path.py``)."""

from __future__ import annotations

from fastapi import FastAPI

from onevoice.api.app import create_app
from onevoice.api.fast_path import FastPaths, Scope, Send
from onevoice.bootstrap import Onevoice


def with_and_without_fast_paths(ov: Onevoice, path: str) -> tuple[FastAPI, FastAPI, list[bool]]:
    """``(fast, slow, answered)``: ``fast`` has its fast paths, the handler of ``path``
    appending to ``answered`` whether it answered a request (else the route did); ``slow``
    has none, so the route answers everything."""
    answered: list[bool] = []
    fast = create_app(ov, run_processor=False)
    (paths,) = [m for m in fast.user_middleware if m.cls is FastPaths]
    handlers = paths.kwargs["handlers"]
    handler = handlers[path]

    async def recorded(scope: Scope, body: bytes, send: Send) -> bool:
        done: bool = await handler(scope, body, send)
        answered.append(done)
        return done

    paths.kwargs["handlers"] = handlers | {path: recorded}
    slow = create_app(ov, run_processor=False)
    slow.user_middleware = [m for m in slow.user_middleware if m.cls is not FastPaths]
    return fast, slow, answered
