"""Journeys over HTTP: the map, friction, gap, value and conformance, and their errors."""

from __future__ import annotations

from typing import Any

import httpx

from onevoice.sim.journey_world import journey_world
from tests.conftest import LiveServer

LATER = "2026-06-01T00:00:00Z"


def _load(live: LiveServer) -> Any:
    world = journey_world(60, seed=9)
    response = httpx.post(
        f"{live.url}/v1/batch", json={"batch": world.calls}, auth=(live.write_key, "")
    )
    assert response.status_code == 200 and not response.json()["rejected"], response.text
    return world


def _get(live: LiveServer, path: str, key: str | None = None, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{live.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {key or live.server_key}"},
        timeout=60,
    )


def test_the_map_has_nodes_edges_and_paths(live: LiveServer) -> None:
    world = _load(live)
    body = _get(live, "/v1/journeys/map", to=LATER).json()
    assert body["journeys"] == len(world.journeys)
    assert set(body["nodes"][0]) >= {"id", "label", "channel", "count"}
    assert set(body["edges"][0]) == {"source", "target", "count", "share", "median_seconds"}
    assert body["paths"] and body["paths"][0]["journeys"] >= body["paths"][-1]["journeys"]
    shares: dict[str, float] = {}
    for edge in body["edges"]:
        shares[edge["source"]] = shares.get(edge["source"], 0.0) + edge["share"]
    assert all(abs(total - 1.0) < 1e-3 for total in shares.values())


def test_the_map_narrows_to_an_entry_step_and_a_segment(live: LiveServer) -> None:
    world = _load(live)
    body = _get(live, "/v1/journeys/map", entry="web:Mortgages").json()
    assert body["journeys"] == world.scenario.count("mortgage")
    assert {p["path"].split(" → ")[0] for p in body["paths"]} == {"web:Mortgages"}
    single = _get(live, "/v1/journeys/map", segment="single-channel").json()
    assert {n["channel"] for n in single["nodes"]} <= {"app", "call_centre"}


def test_friction_gap_and_value_answer(live: LiveServer) -> None:
    _load(live)
    friction = _get(live, "/v1/journeys/friction", to=LATER).json()
    assert {row["flag"] for row in friction["summary"]} == {
        "repeat_contact",
        "channel_hopping",
        "dead_end",
        "long_wait",
    }
    gap = _get(live, "/v1/journeys/gap").json()
    assert [s["sign"] for s in gap["signs"]] == [
        "inconsistent_responses",
        "channel_specific_handling",
        "disconnected_conversations",
        "mistimed_messages",
        "database_erosion",
    ]
    assert gap["weekly"]
    value = _get(live, "/v1/journeys/value").json()
    assert {g["group"] for g in value["groups"]} >= {"single-channel", "multi-channel"}


def test_conformance_takes_a_designed_journey(live: LiveServer) -> None:
    world = _load(live)
    response = httpx.post(
        f"{live.url}/v1/journeys/conformance",
        params={"to": LATER},
        json={"name": "self serve", "steps": ["app:Card Settings", "Freeze Card", "Case Resolved"]},
        headers={"Authorization": f"Bearer {live.server_key}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["entered"] == body["followed"] == world.scenario.count("self_serve")
    bad = httpx.post(
        f"{live.url}/v1/journeys/conformance",
        json={"name": "x", "steps": ["only one"]},
        headers={"Authorization": f"Bearer {live.server_key}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "steps"


def test_bad_parameters_and_keys_are_json_errors(live: LiveServer) -> None:
    bad_segment = _get(live, "/v1/journeys/map", segment="vip")
    assert bad_segment.status_code == 400
    assert bad_segment.json()["error"]["field"] == "segment"
    bad_time = _get(live, "/v1/journeys/gap", **{"from": "yesterday"})
    assert bad_time.status_code == 400 and bad_time.json()["error"]["field"] == "from"
    assert _get(live, "/v1/journeys/map", key=live.write_key).status_code == 401
