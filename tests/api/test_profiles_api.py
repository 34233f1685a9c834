"""Profiles by any identifier, timelines, merges and undo over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer


def collect(live: LiveServer, *calls: dict[str, Any]) -> None:
    response = httpx.post(
        f"{live.url}/v1/batch", json={"batch": list(calls)}, auth=(live.write_key, "")
    )
    assert response.status_code == 200, response.text
    assert not response.json()["rejected"]


def get(live: LiveServer, path: str, key: str | None = None) -> httpx.Response:
    return httpx.get(
        f"{live.url}{path}", headers={"Authorization": f"Bearer {key or live.server_key}"}
    )


def test_a_profile_is_found_by_any_of_its_identifiers(live: LiveServer) -> None:
    collect(
        live,
        {"type": "page", "anonymousId": "a1", "name": "Home"},
        {
            "type": "identify",
            "anonymousId": "a1",
            "userId": "u1",
            "traits": {"email": "Ann@Example.com", "phone": "+44 20 7946 0958", "name": "Ann"},
        },
    )
    ids = {
        r: get(live, f"/v1/profiles/{r}").json()["profile_id"]
        for r in ("anonymousId:a1", "userId:u1", "email:ANN@example.com", "phone:+442079460958")
    }
    assert len(set(ids.values())) == 1
    profile = get(live, "/v1/profiles/userId:u1").json()
    for field in (
        "profile_id",
        "identifiers",
        "traits",
        "channels",
        "first_seen",
        "last_seen",
        "lifetime_value",
        "lifecycle_stage",
    ):
        assert field in profile
    assert profile["traits"]["name"] == "Ann"
    assert profile["lifecycle_stage"] == "known"


def test_an_unknown_identifier_is_a_404_json_error(live: LiveServer) -> None:
    response = get(live, "/v1/profiles/userId:nobody")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    bad = get(live, "/v1/profiles/nocolon")
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "identifier"


def test_profiles_need_a_server_key(live: LiveServer) -> None:
    assert get(live, "/v1/profiles/userId:u1", key=live.write_key).status_code == 401
    assert httpx.get(f"{live.url}/v1/profiles/userId:u1").status_code == 401


def test_the_timeline_is_newest_first_and_pages_without_gaps(live: LiveServer) -> None:
    collect(
        live,
        *[
            {
                "type": "track",
                "userId": "t1",
                "event": f"Step {n}",
                "timestamp": f"2026-01-01T00:00:{n:02d}Z",
                "messageId": f"t-{n}",
            }
            for n in range(25)
        ],
    )
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?limit=10&cursor={cursor}" if cursor else "?limit=10"
        page = get(live, f"/v1/profiles/userId:t1/timeline{query}").json()
        seen.extend(e["event"] for e in page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Step {n}" for n in reversed(range(25))]


def test_a_merge_is_recorded_and_can_be_undone(live: LiveServer) -> None:
    collect(
        live,
        {"type": "page", "anonymousId": "laptop", "name": "Loans", "messageId": "x1"},
        {"type": "track", "userId": "bob", "event": "Logged In", "messageId": "x2"},
        {"type": "identify", "anonymousId": "laptop", "userId": "bob", "messageId": "x3"},
    )
    merged = get(live, "/v1/profiles/anonymousId:laptop").json()
    assert merged == get(live, "/v1/profiles/userId:bob").json()
    assert merged["event_count"] == 3
    [merge] = get(live, "/v1/profiles/userId:bob/merges").json()["merges"]
    assert (merge["rule"], merge["message_id"]) == ("same_event", "x3")

    undo = httpx.post(
        f"{live.url}/v1/merges/{merge['merge_id']}/undo",
        headers={"Authorization": f"Bearer {live.admin_key}"},
    )
    assert undo.status_code == 200, undo.text
    laptop = get(live, "/v1/profiles/anonymousId:laptop").json()
    bob = get(live, "/v1/profiles/userId:bob").json()
    assert laptop["profile_id"] != bob["profile_id"]
    assert laptop["event_count"] + bob["event_count"] == 3
    # the merged-away id still resolves, to the restored person
    old = get(live, f"/v1/profiles/profile:{merge['loser']}").json()
    assert old["profile_id"] == merge["loser"]
    # the same link is not made again automatically
    collect(live, {"type": "identify", "anonymousId": "laptop", "userId": "bob", "messageId": "x4"})
    assert get(live, "/v1/profiles/anonymousId:laptop").json()["profile_id"] != bob["profile_id"]
    again = httpx.post(
        f"{live.url}/v1/merges/{merge['merge_id']}/undo",
        headers={"Authorization": f"Bearer {live.admin_key}"},
    )
    assert again.status_code == 409


def test_a_merged_away_profile_id_still_resolves(live: LiveServer) -> None:
    collect(
        live,
        {"type": "page", "anonymousId": "old", "messageId": "y1"},
        {"type": "track", "userId": "carol", "event": "x", "messageId": "y2"},
    )
    first = get(live, "/v1/profiles/anonymousId:old").json()["profile_id"]
    second = get(live, "/v1/profiles/userId:carol").json()["profile_id"]
    collect(live, {"type": "alias", "previousId": "old", "userId": "carol", "messageId": "y3"})
    for pid in (first, second):
        assert get(live, f"/v1/profiles/profile:{pid}").json()["profile_id"] == min(first, second)


def test_the_api_is_described_by_openapi_at_docs(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/docs").status_code == 200
    spec = httpx.get(f"{live.url}/openapi.json").json()
    for path in (
        "/v1/track",
        "/v1/identify",
        "/v1/page",
        "/v1/screen",
        "/v1/group",
        "/v1/alias",
        "/v1/batch",
        "/v1/profiles/{reference}",
    ):
        assert path in spec["paths"]
