"""Collect: idempotency, partial batches and every documented error."""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from tests.conftest import LiveServer


def post(
    live: LiveServer, path: str, body: Any, *, key: str | None = None, **kwargs: Any
) -> httpx.Response:
    return httpx.post(f"{live.url}{path}", json=body, auth=(key or live.write_key, ""), **kwargs)


def events_of(live: LiveServer, reference: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{live.url}/v1/profiles/{reference}/timeline?limit=1000",
        headers={"Authorization": f"Bearer {live.server_key}"},
    )
    if response.status_code == 404:
        return []
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_a_retried_message_id_is_accepted_and_counted_once(live: LiveServer) -> None:
    call = {"userId": "u1", "event": "Clicked", "messageId": "retry-1"}
    first = post(live, "/v1/track", call)
    again = post(live, "/v1/track", call)
    assert first.json() | again.json() == again.json()  # both succeed
    assert (first.json()["accepted"], again.json()["duplicates"]) == (1, 1)
    assert len(events_of(live, "userId:u1")) == 1


def test_concurrent_retries_of_the_same_batch_store_each_event_once(live: LiveServer) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u2", "event": "Viewed", "messageId": f"c-{n}"}
            for n in range(50)
        ]
    }
    threads = [threading.Thread(target=post, args=(live, "/v1/batch", batch)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(events_of(live, "userId:u2")) == 50


def test_a_batch_stores_the_good_events_and_reports_each_bad_one(live: LiveServer) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u3", "event": "Viewed"},
            {"type": "track", "event": "Viewed"},
            {"type": "track", "userId": "u3", "event": "Clicked", "context": {"channel": "fax"}},
            {"type": "page", "userId": "u3"},
        ]
    }
    response = post(live, "/v1/batch", batch)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["success"]) == (2, False)
    assert [(r["index"], r["error"]["field"]) for r in body["rejected"]] == [
        (1, "userId"),
        (2, "context.channel"),
    ]
    assert len(events_of(live, "userId:u3")) == 2


def test_a_batch_with_only_bad_events_is_a_400_naming_the_first(live: LiveServer) -> None:
    response = post(live, "/v1/batch", {"batch": [{"type": "nope", "userId": "u"}]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "batch[0].type"


def test_malformed_json_is_a_400_json_error(live: LiveServer) -> None:
    response = httpx.post(f"{live.url}/v1/track", content=b"{not json", auth=(live.write_key, ""))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_an_oversized_body_is_a_413(live: LiveServer) -> None:
    huge = {"userId": "u", "event": "x", "properties": {"blob": "x" * 600_000}}
    response = post(live, "/v1/track", huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_an_oversized_event_in_a_batch_is_a_413_naming_it(live: LiveServer) -> None:
    big = {"type": "track", "userId": "u", "event": "x", "properties": {"blob": "x" * 40_000}}
    response = post(
        live, "/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "x"}, big]}
    )
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "batch[1]"


def test_unknown_types_future_timestamps_and_missing_identities_name_the_field(
    live: LiveServer,
) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    cases = [
        ("/v1/batch", {"batch": [{"type": "purchase", "userId": "u"}]}, "batch[0].type"),
        ("/v1/track", {"userId": "u", "event": "x", "timestamp": later}, "timestamp"),
        ("/v1/track", {"event": "x"}, "userId"),
        ("/v1/identify", {"userId": "u", "traits": {"email": "nope"}}, "traits.email"),
        ("/v1/track", {"userId": "u", "event": "x", "type": "page"}, "type"),
    ]
    for path, body, field in cases:
        response = post(live, path, body)
        assert response.status_code == 400, (path, body)
        assert response.json()["error"]["field"] == field


def test_a_wrong_key_gets_401_and_stores_nothing(live: LiveServer) -> None:
    response = post(live, "/v1/track", {"userId": "u9", "event": "x"}, key="not-a-key")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    nothing = httpx.post(f"{live.url}/v1/track", json={"userId": "u9", "event": "x"})
    assert nothing.status_code == 401
    assert live.ov.store.count_events() == 0


def test_a_server_key_cannot_write_events(live: LiveServer) -> None:
    response = post(live, "/v1/track", {"userId": "u9", "event": "x"}, key=live.server_key)
    assert response.status_code == 401
    assert "write key" in response.json()["error"]["message"]


def test_a_revoked_write_key_stops_working_at_once(live: LiveServer) -> None:
    admin = {"Authorization": f"Bearer {live.admin_key}"}
    created = httpx.post(
        f"{live.url}/v1/admin/keys", json={"kind": "write", "name": "app"}, headers=admin
    ).json()
    assert post(live, "/v1/track", {"userId": "u", "event": "x"}, key=created["key"]).is_success
    revoked = httpx.delete(f"{live.url}/v1/admin/keys/{created['key_id']}", headers=admin)
    assert revoked.status_code == 200
    response = post(live, "/v1/track", {"userId": "u", "event": "y"}, key=created["key"])
    assert response.status_code == 401


def test_the_write_key_may_come_in_the_body_as_segment_allows(live: LiveServer) -> None:
    response = httpx.post(
        f"{live.url}/v1/track", json={"userId": "u", "event": "x", "writeKey": live.write_key}
    )
    assert response.status_code == 200


def test_a_gzipped_batch_is_accepted(live: LiveServer) -> None:
    body = gzip.compress(orjson.dumps({"batch": [{"type": "track", "userId": "gz", "event": "x"}]}))
    response = httpx.post(
        f"{live.url}/v1/batch",
        content=body,
        auth=(live.write_key, ""),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert len(events_of(live, "userId:gz")) == 1


def test_a_json_endpoint_called_without_a_json_content_type_says_so(live: LiveServer) -> None:
    response = httpx.post(
        f"{live.url}/v1/admin/keys",
        content=b'{"kind": "write", "name": "x"}',
        headers={
            "Authorization": f"Bearer {live.admin_key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415
    assert response.json()["error"]["field"] == "content-type"


def test_an_unexpected_failure_is_still_a_json_error(live: LiveServer) -> None:
    live.ov.store.close()  # the database goes away under the running server
    response = post(live, "/v1/track", {"userId": "u", "event": "x"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
