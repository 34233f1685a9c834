"""GET /v1/reports/*: JSON rows with estimate, lower and upper, for the Studio to chart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from tests.conftest import LiveServer

OFFER: dict[str, Any] = {
    "id": "card-upgrade", "program": "cards", "purpose": "marketing", "value": 50,
    "cost": 0.1, "treatments": {"web": {"title": "Upgrade", "body": "More cashback"}},
}  # fmt: skip


@pytest.fixture
def served(database_url: str) -> Iterator[LiveServer]:
    settings = Settings(
        database_url=database_url, secret_key="test-secret", holdout_share=0.0,
        control_share=0.5, explore_share=0.0,
    )  # fmt: skip
    ov: Onevoice = bootstrap(settings)
    ov.actions.load({"actions": [OFFER]})
    people = [f"a{n}" for n in range(30)]
    consent = {"consent": {"marketing": {"*": True}}}
    ov.collector.collect(
        [{"type": "identify", "userId": u, "traits": consent} for u in people], source="test"
    )
    ov.processor.run_until_idle()
    decided = [ov.decisions.decide(f"userId:{u}", "web").decision for u in people]
    buyers = [u for u, d in zip(people, decided, strict=True) if d.action_ids][:10]
    ov.collector.collect(
        [{"type": "track", "userId": u, "event": "Order Completed",
          "properties": {"revenue": 20}} for u in buyers], source="test",
    )  # fmt: skip
    ov.processor.run_until_idle()
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
    ov.close()


def get(server: LiveServer, path: str, key: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or server.server_key}"}
    return httpx.get(f"{server.url}{path}", headers=headers, params=params, timeout=30)


def test_every_report_answers_rows_with_intervals(served: LiveServer) -> None:
    lift = get(served, "/v1/reports/lift", by="program")
    assert lift.status_code == 200, lift.text
    body = lift.json()
    assert body["report"] == "lift" and body["by"] == "program" and body["against"] == "control"
    row = next(r for r in body["rows"] if r["outcome"] == "conversion")
    assert row["key"] == "cards" and row["estimate"] > 0
    assert {"estimate", "lower", "upper", "p_value", "verdict", "treated_n"} <= set(row)
    roi = get(served, "/v1/reports/roi").json()
    assert roi["rows"][0]["key"] == "cards" and roi["rows"][0]["rank"] == 1
    budget = get(served, "/v1/reports/budget", change="-0.1,0.1").json()
    assert budget["changes"] == [-0.1, 0.1] and "curves" in budget
    assert [r["change"] for r in budget["rows"]] == [-0.1, 0.1]
    assert budget["rows"][0]["note"].startswith("not enough data yet")  # one day of history
    respect = get(served, "/v1/reports/respect", by="channel").json()
    assert respect["rows"][0]["key"] == "web" and respect["rows"][0]["messages"] == 0
    assert get(served, "/v1/reports/components").json()["rows"] == []  # no arms configured


def test_bad_parameters_are_json_errors_naming_the_field(served: LiveServer) -> None:
    for path, params, field in (
        ("/v1/reports/lift", {"since": "last tuesday"}, "since"),
        ("/v1/reports/lift", {"by": "action", "against": "holdout"}, "by"),
        ("/v1/reports/lift", {"against": "nobody"}, "against"),
        ("/v1/reports/budget", {"change": "ten percent"}, "change"),
        ("/v1/reports/roi", {"since": "2026-03-02", "until": "2026-03-01"}, "since"),
    ):
        answer = get(served, path, **params)
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["error"]["field"] == field


def test_reports_need_a_server_key(served: LiveServer) -> None:
    assert get(served, "/v1/reports/lift", key=served.write_key).status_code == 401


def test_decide_says_which_component_arm_decided(served: LiveServer) -> None:
    answer = httpx.post(
        f"{served.url}/v1/decide",
        headers={"Authorization": f"Bearer {served.server_key}"},
        json={"customer": "userId:a1", "channel": "web"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["component"] is None  # arms are off
