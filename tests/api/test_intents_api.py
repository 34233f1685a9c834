"""Intents over HTTP: definitions in and out, and each profile's live intents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from onevoice.intent_cli import harbour_bank_intents
from tests.conftest import LiveServer


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_definitions_are_put_and_read_and_bad_ones_name_the_field(live: LiveServer) -> None:
    empty = httpx.get(f"{live.url}/v1/intents", headers=_auth(live.server_key))
    assert empty.status_code == 200 and empty.json()["version"] == 0
    refused = httpx.put(
        f"{live.url}/v1/intents", json=harbour_bank_intents(), headers=_auth(live.server_key)
    )
    assert refused.status_code == 401  # a server key may read, not replace
    put = httpx.put(
        f"{live.url}/v1/intents", json=harbour_bank_intents(), headers=_auth(live.admin_key)
    )
    assert put.status_code == 200, put.text
    assert put.json()["kind"] == "rules" and put.json()["version"] == 1
    bad = httpx.put(
        f"{live.url}/v1/intents",
        json={"intents": [{"name": "x", "half_life_hours": -1, "outcomes": [{"event": "A"}]}]},
        headers=_auth(live.admin_key),
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "intents[0].half_life_hours"


def test_a_profile_carries_its_intents_with_scores_and_reasons(live: LiveServer) -> None:
    live.ov.intents.load_definitions(harbour_bank_intents())
    now = datetime.now(UTC)
    calls: list[dict[str, Any]] = [
        {
            "type": "page",
            "userId": "u1",
            "name": name,
            "properties": {"path": path},
            "timestamp": (now - timedelta(minutes=10 - n)).isoformat(),
        }
        for n, (name, path) in enumerate(
            [("Card Not Working", "/help/card-not-working"), ("Contact Us", "/help/contact")]
        )
    ]
    calls.append(
        {
            "type": "track",
            "userId": "u1",
            "event": "Call Received",
            "properties": {"reason": "card problem"},
            "context": {"channel": "call_centre"},
        }
    )
    sent = httpx.post(f"{live.url}/v1/batch", json={"batch": calls}, auth=(live.write_key, ""))
    assert sent.status_code == 200, sent.text
    profile = httpx.get(f"{live.url}/v1/profiles/userId:u1", headers=_auth(live.server_key))
    assert profile.status_code == 200
    intents = profile.json()["intents"]
    assert [set(i) for i in intents] == [{"name", "score", "reasons"}] * 5
    top = intents[0]
    assert top["name"] == "card_problem" and top["score"] > 0.7
    assert "reason:card problem ×1.0 lately" in top["reasons"]
    assert [i["score"] for i in intents] == sorted((i["score"] for i in intents), reverse=True)
