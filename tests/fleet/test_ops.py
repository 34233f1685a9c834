"""Operations endpoints on a live server: readiness names each server, metrics count."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from tests.conftest import LiveServer, _empty_postgres, free_port
from tests.fleet.conftest import OwnNats


def _live(settings: Settings) -> Iterator[LiveServer]:
    ov = bootstrap(settings)
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
    ov.close()


@pytest.fixture
def fleet_server(
    postgres_url: str, nats_url: str, redis_url: str, prefix: str
) -> Iterator[LiveServer]:
    _empty_postgres(postgres_url)
    yield from _live(
        Settings(
            database_url=postgres_url,
            secret_key="test-secret",
            stream_url=nats_url,
            stream_prefix=prefix,
            redis_url=redis_url,
            redis_prefix=prefix,
        )
    )


def test_ready_when_database_stream_and_redis_answer(fleet_server: LiveServer) -> None:
    reply = httpx.get(f"{fleet_server.url}/readyz")
    assert reply.status_code == 200
    assert reply.json() == {
        "status": "ready",
        "checks": {"database": True, "stream": True, "redis": True},
    }


def test_metrics_count_events_in_and_requests(fleet_server: LiveServer) -> None:
    event = {"userId": "u1", "event": "Viewed", "messageId": "m1"}
    reply = httpx.post(
        f"{fleet_server.url}/v1/track", json=event, auth=(fleet_server.write_key, "")
    )
    assert reply.status_code == 200, reply.text
    text = httpx.get(f"{fleet_server.url}/metrics").text
    assert 'onevoice_events_in_total{result="accepted"} 1.0' in text
    assert 'onevoice_http_requests_total{route="/v1/track",status="200"} 1.0' in text
    assert 'onevoice_http_request_seconds_bucket{le="0.5",route="/v1/track"} 1.0' in text


def test_not_ready_when_redis_does_not_answer(tmp_path: object, prefix: str) -> None:
    settings = Settings(
        database_url=str(tmp_path) + "/ov.db",
        secret_key="test-secret",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        redis_prefix=prefix,
    )
    for server in _live(settings):
        reply = httpx.get(f"{server.url}/readyz")
        assert reply.status_code == 503
        assert reply.json()["checks"] == {"database": True, "redis": False}
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_collect_answers_503_while_nats_is_down(
    postgres_url: str, own_nats: OwnNats, prefix: str
) -> None:
    _empty_postgres(postgres_url)
    settings = Settings(
        database_url=postgres_url,
        secret_key="test-secret",
        stream_url=own_nats.url,
        stream_prefix=prefix,
    )
    for server in _live(settings):
        own_nats.stop()
        reply = httpx.post(
            f"{server.url}/v1/track",
            json={"userId": "u1", "event": "Viewed", "messageId": "m1"},
            auth=(server.write_key, ""),
            timeout=30,
        )
        assert reply.status_code == 503  # not acknowledged, so not accepted: the client retries
        assert reply.json()["error"]["code"] == "unavailable"
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 503
