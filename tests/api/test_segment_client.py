"""A real Segment client library, pointed at onevoice, works unchanged."""

from __future__ import annotations

import httpx
from segment.analytics.client import Client

from tests.conftest import LiveServer


def test_every_segment_call_type_from_the_official_python_library_lands(live: LiveServer) -> None:
    errors: list[object] = []
    client = Client(
        write_key=live.write_key,
        host=live.url,
        max_retries=2,
        on_error=lambda error, _batch: errors.append(error),
    )
    client.page(anonymous_id="anon-1", name="Mortgages", properties={"url": "https://x/m"})
    client.screen(anonymous_id="anon-1", name="Rates", context={"device": {"type": "ios"}})
    client.identify(user_id="u-1", anonymous_id="anon-1", traits={"email": "Ann@Example.com"})
    client.track(
        user_id="u-1",
        event="Order Completed",
        properties={"revenue": 12.5},
        context={"channel": "call_centre"},
    )
    client.group(user_id="u-1", group_id="acme", traits={"name": "ACME"})
    client.alias(previous_id="anon-2", user_id="u-1")
    client.shutdown()  # flushes the queue through the library's own batching thread
    assert errors == []

    headers = {"Authorization": f"Bearer {live.server_key}"}
    profile = httpx.get(f"{live.url}/v1/profiles/email:ann@example.com", headers=headers).json()
    assert profile["event_count"] == 6
    assert set(profile["channels"]) == {"web", "app", "call_centre", "other"}
    assert {"type": "userId", "value": "u-1"} in profile["identifiers"]
    assert {"type": "anonymousId", "value": "anon-2"} in profile["identifiers"]
    assert profile["lifetime_value"] == 12.5
    assert profile["lifecycle_stage"] == "customer"
    timeline = httpx.get(f"{live.url}/v1/profiles/userId:u-1/timeline", headers=headers).json()
    assert [e["type"] for e in timeline["events"]] == [
        "alias",
        "group",
        "track",
        "identify",
        "screen",
        "page",
    ]
