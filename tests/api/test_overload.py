"""Shedding decides when the server falls behind (``ONEVOICE_SHED_LAG_MS``): a burst larger
than the server can answer in time gets some fast 503s with ``Retry-After`` instead of a
queue every caller waits in, and the server answers normally once it has caught up."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onevoice.api.overload import LoopLag
from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from tests.conftest import LiveServer

CATALOG = {
    "actions": [
        {
            "id": "help",
            "purpose": "service",
            "value": 10,
            "treatments": {"web": {"title": "Need a hand?", "body": "…"}},
        }
    ]
}


@pytest.fixture
def ov(tmp_path: Path) -> Iterator[Onevoice]:
    """SQLite, the log written behind (decides run on the event loop), shedding at 5 ms."""
    built = bootstrap(
        Settings(database_url=str(tmp_path / "ov.db"), secret_key="test-secret", shed_lag_ms=5)
    )
    built.actions.load(CATALOG)
    yield built
    built.close()


def test_the_lag_shows_how_late_the_loop_runs() -> None:
    async def scenario() -> tuple[float, float, float]:
        lag = LoopLag(interval=0.002)
        sampler = asyncio.create_task(lag.run())
        await asyncio.sleep(0.02)
        calm = lag.lag
        time.sleep(0.08)  # the loop is stuck: no callback runs meanwhile
        stuck = lag.lag  # seen at once, before the sampler has had its turn
        await asyncio.sleep(0.03)
        after = lag.lag
        sampler.cancel()
        return calm, stuck, after

    calm, stuck, after = asyncio.run(scenario())
    assert calm < 0.05
    assert stuck >= 0.07
    assert after < 0.05


def test_a_burst_beyond_the_lag_limit_gets_quick_503s_and_the_rest_answers(
    live: LiveServer,
) -> None:
    headers = {"authorization": f"Bearer {live.server_key}"}

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=30) as client:
            asks = [
                client.post(
                    "/v1/decide",
                    json={"customer": f"userId:u{n}", "channel": "web"},
                    headers=headers,
                )
                for n in range(300)
            ]
            return list(await asyncio.gather(*asks))

    answers = asyncio.run(burst())
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0 and statuses[503] > 0, statuses
    shed = next(r for r in answers if r.status_code == 503)
    assert shed.headers["retry-after"] == "1"
    assert shed.json()["error"]["code"] == "overloaded"
    time.sleep(0.2)  # caught up: decides are answered again
    again = httpx.post(
        f"{live.url}/v1/decide",
        json={"customer": "userId:later", "channel": "web"},
        headers=headers,
    )
    assert again.status_code == 200, again.text
