"""The customer's own view over HTTP: a token the brand mints, what /v1/me shows, and
consent and budget changes that the very next decision honours."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from tests.conftest import LiveServer

CATALOG: dict[str, Any] = {
    "actions": [
        {
            "id": "savings-offer",
            "purpose": "marketing",
            "value": 20,
            "treatments": {"web": {"title": "Save more", "body": "A better rate"}},
        }
    ]
}
WINDOW_HOURS = 0.0001  # a conversation closes after 0.36 s: each decision stands alone


@pytest.fixture
def ov(database_url: str) -> Iterator[Onevoice]:
    built = bootstrap(
        Settings(
            database_url=database_url,
            secret_key="test-secret",
            holdout_share=0.0,
            control_share=0.0,
            explore_share=0.0,
            quiet_hours="00:00-00:00",
            conversation_window_hours=WINDOW_HOURS,
        )
    )
    built.actions.load(CATALOG)
    yield built
    built.close()


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _identify(live: LiveServer, body: dict[str, Any]) -> None:
    sent = httpx.post(f"{live.url}/v1/identify", json=body, headers=_as(live.write_key))
    assert sent.is_success, sent.text


def _track(live: LiveServer, body: dict[str, Any]) -> None:
    sent = httpx.post(f"{live.url}/v1/track", json=body, headers=_as(live.write_key))
    assert sent.is_success, sent.text


def _decide(live: LiveServer, user: str) -> dict[str, Any]:
    time.sleep(WINDOW_HOURS * 3600 * 1.5)
    answer = httpx.post(
        f"{live.url}/v1/decide",
        json={"customer": f"userId:{user}", "channel": "web"},
        headers=_as(live.server_key),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _shown(decided: dict[str, Any]) -> list[str]:
    return [a["action_id"] for a in decided["actions"]]


def _token(live: LiveServer, customer: str, **extra: Any) -> str:
    minted = httpx.post(
        f"{live.url}/v1/me/tokens",
        json={"customer": customer, **extra},
        headers=_as(live.server_key),
    )
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


def test_consent_changes_are_kept_and_the_next_decision_honours_the_latest(
    live: LiveServer,
) -> None:
    _identify(
        live, {"userId": "c1", "traits": {"name": "Cleo", "consent": {"marketing": {"web": True}}}}
    )
    assert _shown(_decide(live, "c1")) == ["savings-offer"]
    token = _token(live, "userId:c1")
    withdrawn = httpx.post(
        f"{live.url}/v1/me/consent",
        json={"purpose": "marketing", "channel": "web", "granted": False},
        headers=_as(token),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    refused = _decide(live, "c1")
    assert _shown(refused) == []
    assert "marketing consent withdrawn for web" in str(refused)
    _track(
        live,
        {
            "userId": "c1",
            "event": "Consent Updated",
            "properties": {"purpose": "marketing", "channel": "web", "granted": True},
        },
    )
    assert _shown(_decide(live, "c1")) == ["savings-offer"]
    export = httpx.get(f"{live.url}/v1/me", params={"format": "json"}, headers=_as(token)).json()
    history = export["consent"]["history"]
    assert [(c["granted"], c["source"].split(":")[0]) for c in history] == [
        (True, "identify"),
        (False, "me"),
        (True, "track"),
    ]
    assert all(c["legal_basis"] == "consent" and c["at"] for c in history)
    assert export["consent"]["current"] == [history[-1]]
    assert len(export["decisions"]) == 3
    assert export["decisions"][1]["reasons"] or export["decisions"][1]["not_shown"]
    assert {e["type"] for e in export["events"]} == {"identify", "track"}


def test_the_customers_own_budget_is_a_hard_cap(live: LiveServer) -> None:
    _identify(live, {"userId": "b1", "traits": {"consent": {"marketing": {"*": True}}}})
    token = _token(live, "userId:b1")
    set_budget = httpx.post(
        f"{live.url}/v1/me/budget",
        json={"max_messages": 1, "period": "week"},
        headers=_as(token),
    )
    assert set_budget.status_code == 200, set_budget.text
    assert _shown(_decide(live, "b1")) == ["savings-offer"]
    second = _decide(live, "b1")
    assert _shown(second) == []
    assert "the customer's own budget: at most 1 marketing message a week" in str(second)
    bad = httpx.post(
        f"{live.url}/v1/me/budget", json={"max_messages": 1, "period": "year"}, headers=_as(token)
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "period"


def test_the_readable_page_escapes_what_customers_sent(live: LiveServer) -> None:
    _identify(live, {"userId": "h1", "traits": {"name": "<script>alert(1)</script>"}})
    page = httpx.get(f"{live.url}/v1/me", headers=_as(_token(live, "userId:h1")))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert "What we know about you" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_only_a_valid_customer_token_opens_me(live: LiveServer) -> None:
    _identify(live, {"userId": "t1"})
    token = _token(live, "userId:t1", ttl_seconds=3)  # long enough for a loaded machine
    assert httpx.get(f"{live.url}/v1/me", headers=_as(token)).status_code == 200
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, live.server_key, live.admin_key, "nonsense"):
        answer = httpx.get(f"{live.url}/v1/me", headers=_as(bad))
        assert answer.status_code == 401, bad
        assert answer.json()["error"]["field"] == "authorization"
    # a customer token is no API key
    assert httpx.get(f"{live.url}/v1/profiles/userId:t1", headers=_as(token)).status_code == 401
    time.sleep(3.1)
    expired = httpx.get(f"{live.url}/v1/me", headers=_as(token))
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
