"""Rate limits per credential (``ONEVOICE_RATE_LIMIT_PER_SECOND``, ``…_BURST``): past its
burst a key gets 429 ``rate_limited`` with ``Retry-After`` before anything else runs, and
another key is not held back by it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from tests.conftest import LiveServer


@pytest.fixture
def ov(tmp_path: Path) -> Iterator[Onevoice]:
    built = bootstrap(
        Settings(
            database_url=str(tmp_path / "ov.db"),
            secret_key="test-secret",
            rate_limit_per_second=0.5,
            rate_limit_burst=3,
        )
    )
    yield built
    built.close()


def test_a_key_past_its_burst_gets_429_with_retry_after(live: LiveServer) -> None:
    def ask(key: str) -> httpx.Response:
        return httpx.post(
            f"{live.url}/v1/decide",
            json={"customer": "userId:u1", "channel": "web"},
            headers={"authorization": f"Bearer {key}"},
        )

    statuses = [ask(live.server_key).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = ask(live.server_key)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("rate_limited", "authorization")
    other = live.ov.keys.create("server", "another desk")[1]
    assert ask(other).status_code == 200
