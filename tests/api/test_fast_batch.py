"""``POST /v1/batch`` answered by its fast path (``api/fast_path.py``) exactly as the
FastAPI route answers it: the same request, sent to the app and to the same app without
the fast paths, gets the same status, body and headers; and the fast path did answer it."""

from __future__ import annotations

import asyncio
import base64
import gzip
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from onevoice.api.errors import ApiError
from onevoice.api.routes.collect import _check_calls
from onevoice.bootstrap import Onevoice
from onevoice.config import Settings
from tests.api.fast_apps import with_and_without_fast_paths

#: a request body (JSON, or bytes as they are) for a tag: the apps store different events
Body = Callable[[str], Any]


class Client:
    """Requests straight to an ASGI app (no server, no lifespan)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def post(self, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        return asyncio.run(self._send("POST", path, content, headers))

    def get(self, path: str) -> httpx.Response:
        return asyncio.run(self._send("GET", path, b"", {}))

    async def _send(
        self, method: str, path: str, content: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path, content=content, headers=headers)


class Pair:
    """The app with its fast paths and without; ``answered``: what the batch handler did."""

    def __init__(self, ov: Onevoice) -> None:
        self.ov = ov
        self.write_key = ov.keys.create("write", "web")[1]
        self.server_key = ov.keys.create("server", "crm")[1]
        fast, slow, self.answered = with_and_without_fast_paths(ov, "/v1/batch")
        self.fast, self.slow = Client(fast), Client(slow)

    def auth(self, key: str | None = None) -> dict[str, str]:
        token = base64.b64encode(f"{key or self.write_key}:".encode()).decode()
        return {"authorization": f"Basic {token}", "content-type": "application/json"}

    def same(self, body: Body | bytes, headers: dict[str, str], *, fast: bool) -> Any:
        """Send to the route, then to the fast path (the apps share one key cache, which the
        route's request warms); the answer."""
        self.answered.clear()
        answers = []
        for client, tag in ((self.slow, "s"), (self.fast, "f")):
            content = body if isinstance(body, bytes) else body(tag)
            content = content if isinstance(content, bytes) else orjson.dumps(content)
            response = client.post("/v1/batch", content=content, headers=headers)
            answers.append(response)
        route, warm = answers
        assert (warm.status_code, warm.json()) == (route.status_code, route.json())
        for name in ("content-type", "content-length", "www-authenticate", "retry-after"):
            assert warm.headers.get(name) == route.headers.get(name), name
        assert self.answered == ([True] if fast else [False] * len(self.answered))
        return warm


@pytest.fixture
def pair(ov: Onevoice) -> Pair:
    return Pair(ov)


def calls(tag: str, n: int = 3) -> list[dict[str, Any]]:
    return [
        {"type": "track", "userId": f"{tag}-u{i}", "event": "Viewed", "messageId": f"{tag}-{i}"}
        for i in range(n)
    ]


def test_a_plain_batch(pair: Pair) -> None:
    def body(tag: str) -> dict[str, Any]:
        shared = {"context": {"channel": "app"}, "sentAt": "2026-01-01T00:00:00Z"}
        return {"batch": calls(tag, 5), **shared}

    answer = pair.same(body, pair.auth(), fast=True)
    assert answer.json() == {"success": True, "accepted": 5, "duplicates": 0, "rejected": []}
    assert pair.ov.store.count_events() == 10


def test_a_retried_batch_counts_its_duplicates(pair: Pair) -> None:
    body = orjson.dumps({"batch": calls("same")})
    pair.fast.post("/v1/batch", content=body, headers=pair.auth())
    answer = pair.same(body, pair.auth(), fast=True)
    assert answer.json()["duplicates"] == 3


def test_a_partly_bad_batch(pair: Pair) -> None:
    def body(tag: str) -> dict[str, Any]:
        good, *_ = calls(tag)
        bad = [
            {"type": "track", "event": "Viewed"},
            {"type": "track", "userId": "u", "event": "x", "context": {"channel": "fax"}},
            "not an object",
        ]
        return {"batch": [good, *bad]}

    answer = pair.same(body, pair.auth(), fast=True)
    assert [(r["index"], r["error"]["field"]) for r in answer.json()["rejected"]] == [
        (1, "userId"),
        (2, "context.channel"),
        (3, None),
    ]


def test_a_wholly_bad_batch(pair: Pair) -> None:
    answer = pair.same(
        lambda tag: {"batch": [{"type": "purchase", "userId": tag}]}, pair.auth(), fast=True
    )
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "batch[0].type"


@pytest.mark.parametrize("key", ["not-a-key", "server"])
def test_a_wrong_key(pair: Pair, key: str) -> None:
    headers = pair.auth(pair.server_key if key == "server" else key)
    answer = pair.same(lambda tag: {"batch": calls(tag)}, headers, fast=True)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Basic, Bearer"
    assert pair.ov.store.count_events() == 0


def test_malformed_credentials(pair: Pair) -> None:
    headers = {"authorization": "Basic !!!", "content-type": "application/json"}
    answer = pair.same(lambda tag: {"batch": calls(tag)}, headers, fast=True)
    assert answer.status_code == 401 and answer.json()["error"]["field"] == "authorization"


def test_no_key_or_a_key_in_the_body_is_the_routes(pair: Pair) -> None:
    json = {"content-type": "application/json"}
    missing = pair.same(lambda tag: {"batch": calls(tag)}, json, fast=False)
    assert missing.status_code == 401
    in_body = pair.same(
        lambda tag: {"batch": calls(tag), "writeKey": pair.write_key}, json, fast=False
    )
    assert in_body.status_code == 200


def test_an_oversized_event(pair: Pair) -> None:
    def body(tag: str) -> dict[str, Any]:
        big = {"type": "track", "userId": tag, "event": "x", "properties": {"b": "x" * 40_000}}
        return {"batch": [*calls(tag), big]}

    answer = pair.same(body, pair.auth(), fast=True)
    assert answer.status_code == 413 and answer.json()["error"]["field"] == "batch[3]"
    assert pair.ov.store.count_events() == 0


def test_an_oversized_body_is_the_routes(pair: Pair) -> None:
    def body(tag: str) -> dict[str, Any]:
        return {"batch": [{"type": "track", "userId": tag, "event": "x" * 600_000}]}

    answer = pair.same(body, pair.auth(), fast=False)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def test_too_many_traits(pair: Pair) -> None:
    limit = pair.ov.settings.max_traits

    def body(tag: str) -> dict[str, Any]:
        traits = {f"t{i}": i for i in range(limit)}
        many = {"type": "identify", "userId": tag, "traits": traits}
        return {"batch": [*calls(tag), many | {"context": {"traits": {"one": 1}}}]}

    answer = pair.same(body, pair.auth(), fast=True)
    assert answer.status_code == 413
    assert answer.json()["error"]["field"] == "batch[3].context.traits"


@pytest.mark.parametrize(
    "content", [b"{not json", b"", b'{"batch": {"type": "track"}}', b'{"batch": []}', b"[1]"]
)
def test_a_malformed_body(pair: Pair, content: bytes) -> None:
    answer = pair.same(content, pair.auth(), fast=True)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in ("invalid_json", "invalid_event")


def test_gzip(pair: Pair) -> None:
    headers = pair.auth() | {"content-encoding": "gzip"}
    answer = pair.same(
        lambda tag: gzip.compress(orjson.dumps({"batch": calls(tag)})), headers, fast=True
    )
    assert answer.status_code == 200 and answer.json()["accepted"] == 3
    broken = pair.same(b"not gzip at all", headers, fast=True)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_body"


def test_the_route_stays_in_openapi(pair: Pair) -> None:
    schema = pair.fast.get("/openapi.json").json()
    assert "post" in schema["paths"]["/v1/batch"]


def test_an_unexpected_failure(pair: Pair) -> None:
    pair.same(lambda tag: {"batch": calls(tag)}, pair.auth(), fast=True)  # the key is cached
    pair.ov.store.close()  # the database goes away under the running app
    answer = pair.same(lambda tag: {"batch": calls(tag)}, pair.auth(), fast=True)
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal"


def _checked_one_by_one(calls: list[Any], settings: Settings, single: str | None) -> None:
    """The checks as they were: each call serialised on its own, then its traits."""
    for n, call in enumerate(calls):
        if len(orjson.dumps(call)) > settings.max_event_bytes:
            where = "event" if single else f"batch[{n}]"
            message = f"{where} is larger than {settings.max_event_bytes} bytes"
            raise ApiError(413, "too_large", message, where)
        if not isinstance(call, dict):
            continue
        count = 0
        for name, holder in (("traits", call), ("context.traits", call.get("context"))):
            traits = holder.get("traits") if isinstance(holder, dict) else None
            if isinstance(traits, dict):
                count += len(traits)
                if count > settings.max_traits:
                    message = f"an event may carry at most {settings.max_traits} traits"
                    raise ApiError(
                        413, "too_large", message, ("" if single else f"batch[{n}].") + name
                    )


def _outcome(check: Callable[[], None]) -> tuple[str, str | None] | None:
    try:
        check()
    except ApiError as error:
        return error.message, error.field
    except TypeError as error:  # nested deeper than orjson writes: a 500, both ways
        return type(error).__name__, None
    return None


_int = st.integers(-(2**63), 2**63 - 1)
_traits = st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 9), max_size=4)
_call = st.one_of(
    st.fixed_dictionaries(
        {"userId": st.text(max_size=60)},
        optional={
            "traits": st.one_of(_traits, _int),
            "context": st.one_of(
                st.fixed_dictionaries({}, optional={"traits": _traits}), st.text()
            ),
            "numbers": st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=6),
        },
    ),
    _int,
    st.just(orjson.loads(b"[" * 300 + b"]" * 300)),  # deeper than orjson writes
)


@given(calls=st.lists(_call, min_size=1, max_size=40), single=st.booleans())
@hyp_settings(max_examples=400, deadline=None)
def test_the_size_and_traits_checks_answer_as_one_by_one(calls: list[Any], single: bool) -> None:
    """Serialising calls in runs finds the same first too-large call (or none) as
    serialising each; the traits check names the same call and field."""
    settings = Settings(max_event_bytes=120, max_traits=5)
    single_type = "track" if single else None
    expected = _outcome(lambda: _checked_one_by_one(calls, settings, single_type))
    assert _outcome(lambda: _check_calls(calls, settings, single_type)) == expected
