"""``POST /v1/decide`` with a key the key cache does not know (new, or its entry lapsed):
where decides run on the event loop the fast path (``api/fast_decide.py``) looks the key up
there and answers; elsewhere it leaves the request to the route. Either way the answer is
the route's."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from fastapi import FastAPI

from onevoice.bootstrap import Onevoice
from tests.api.fast_apps import with_and_without_fast_paths


class Apps:
    """The app with its fast paths (``answered``: what the decide handler did) and without."""

    def __init__(self, ov: Onevoice) -> None:
        self.ov = ov
        self.fast, self.slow, self.answered = with_and_without_fast_paths(ov, "/v1/decide")

    def post(self, app: FastAPI, key: str) -> httpx.Response:
        body = orjson.dumps({"customer": "userId:u1", "channel": "web"})
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.post("/v1/decide", content=body, headers=headers)

        return asyncio.run(send())


@pytest.fixture
def apps(ov: Onevoice) -> Apps:
    return Apps(ov)


def test_a_new_key_is_looked_up_where_decides_run(apps: Apps) -> None:
    here = apps.ov.decisions.waits_only_for_cpu  # SQLite with the log written behind
    fresh = apps.ov.keys.create("server", "crm")[1]  # created, never checked: not cached
    answer = apps.post(apps.fast, fresh)
    assert answer.status_code == 200, answer.text
    assert apps.answered == [here]
    route = apps.post(apps.slow, apps.ov.keys.create("server", "crm")[1])
    assert answer.json().keys() == route.json().keys()


@pytest.mark.parametrize("kind", ["unknown", "write"])
def test_a_refused_key_gets_the_routes_answer(apps: Apps, kind: str) -> None:
    here = apps.ov.decisions.waits_only_for_cpu
    keys = [  # one for each app: neither is in the cache when it is sent
        f"ovs_nobody{n}" if kind == "unknown" else apps.ov.keys.create("write", "web")[1]
        for n in range(2)
    ]
    answer = apps.post(apps.fast, keys[0])
    route = apps.post(apps.slow, keys[1])
    assert answer.status_code == route.status_code == 401
    assert answer.json() == route.json()
    assert answer.headers["www-authenticate"] == route.headers["www-authenticate"]
    assert apps.answered == [here]


def test_a_failed_look_up_is_left_to_the_route(apps: Apps, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(token: str | None, need: str) -> None:
        raise RuntimeError("the database went away")

    fresh = apps.ov.keys.create("server", "crm")[1]
    monkeypatch.setattr(apps.ov.keys, "check", broken)
    answer = apps.post(apps.fast, fresh)
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal"
    assert apps.answered == [False]
