"""The Studio's journey and dashboard JSON over real HTTP: roles, real figures, clear 4xx."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.studio import studio_app
from onevoice.studio.charts import MAX_NODES, flow_figure, sankey_figure
from tests.api.test_studio_http import PASSWORD, log_in
from tests.conftest import LiveServer

OFFER: dict[str, Any] = {
    "id": "card-upgrade", "program": "cards", "purpose": "marketing", "value": 50,
    "cost": 0.1, "treatments": {"web": {"title": "Upgrade", "body": "More cashback"}},
}  # fmt: skip


@pytest.fixture
def served(database_url: str) -> Iterator[LiveServer]:
    """Thirty consenting customers decided for on the web, half held out as control; ten
    of the treated buy. Staff of each role."""
    settings = Settings(
        database_url=database_url, secret_key="test-secret", holdout_share=0.0,
        control_share=0.5, explore_share=0.0,
    )  # fmt: skip
    numbers = itertools.count()  # decision ids, and so the control's draws, fixed
    ov: Onevoice = bootstrap(settings, new_id=lambda: f"decision-{next(numbers):04d}")
    ov.actions.load({"actions": [OFFER]})
    people = [f"a{n}" for n in range(30)]
    consent = {"consent": {"marketing": {"*": True}}}
    ov.collector.collect(
        [{"type": "identify", "userId": u, "traits": consent} for u in people], source="test"
    )
    ov.collector.collect(
        [{"type": "page", "userId": u, "name": "Cards", "properties": {"path": "/cards"}}
         for u in people], source="test",
    )  # fmt: skip
    ov.processor.run_until_idle()
    decided = [ov.decisions.decide(f"userId:{u}", "web").decision for u in people]
    buyers = [u for u, d in zip(people, decided, strict=True) if d.action_ids][:10]
    assert len(buyers) == 10, "the fixed decision ids must leave at least ten treated"
    ov.collector.collect(
        [{"type": "track", "userId": u, "event": "Order Completed",
          "properties": {"revenue": 20}} for u in buyers], source="test",
    )  # fmt: skip
    ov.processor.run_until_idle()
    for name, role in (("agnes", "agent"), ("mark", "marketer"), ("ada", "admin")):
        ov.staff.add(name, role, PASSWORD)
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
    ov.close()


def test_the_journey_map_json_carries_the_real_steps(served: LiveServer) -> None:
    agent = log_in(served, "agnes")
    answer = agent.get("/api/journeys")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["customers"] == 30 and body["journeys"] >= 30
    labels = body["sankey"]["data"][0]["node"]["label"]
    assert "Cards (web)" in labels and "Order Completed (other)" in labels
    assert body["flow"]["data"][0]["text"] == labels  # the same steps, as a graph
    links = body["sankey"]["data"][0]["link"]["value"]
    assert len(body["flow"]["layout"]["annotations"]) >= len(links) >= 1
    assert [f["flag"] for f in body["friction"]["summary"]] == [
        "repeat_contact", "channel_hopping", "dead_end", "long_wait",
    ]  # fmt: skip
    assert body["paths"] and body["paths"][0]["journeys"] >= 1
    entry = agent.get("/api/journeys", params={"entry": "web:Cards", "granularity": "event"})
    assert entry.status_code == 200 and entry.json()["journeys"] >= 1
    nobody = agent.get("/api/journeys", params={"from": "2001-01-01", "to": "2001-01-31"})
    assert nobody.status_code == 200 and nobody.json()["journeys"] == 0


def test_designed_vs_real_counts_who_followed_the_design(served: LiveServer) -> None:
    agent = log_in(served, "agnes")
    steps = "web:Cards\nOrder Completed"
    answer = agent.get("/api/journeys/conformance", params={"steps": steps, "name": "buy"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["design"]["name"] == "buy" and len(body["design"]["steps"]) == 2
    assert (body["entered"], body["followed"], body["completed"]) == (30, 10, 10)  # the buyers
    assert body["leaves"] == [
        {"after_step": "web:Cards", "to_step": "(journey ended)", "journeys": 20}
    ]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/journeys", {"segment": "loyal"}, "segment"),
        ("/api/journeys", {"from": "last tuesday"}, "from"),
        ("/api/journeys", {"to": "2026-13-40"}, "to"),
        ("/api/journeys", {"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ("/api/journeys", {"granularity": "mood"}, "granularity"),
        ("/api/journeys/conformance", {"steps": "Only one"}, "steps"),
        ("/api/journeys/conformance", {"steps": "web:\nx"}, "steps[0]"),
        ("/api/dashboards", {"since": "soon"}, "since"),
        ("/api/dashboards", {"since": "2026-03-02", "until": "2026-03-01"}, "since"),
    ],
)
def test_bad_parameters_are_400s_naming_the_field(
    served: LiveServer, path: str, params: dict[str, str], field: str
) -> None:
    answer = log_in(served, "ada").get(path, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_dashboards_need_a_marketer_and_carry_intervals(served: LiveServer) -> None:
    with httpx.Client(base_url=f"{served.url}/studio") as anonymous:
        assert anonymous.get("/api/dashboards").status_code == 401
        assert anonymous.get("/api/journeys").status_code == 401
    agent = log_in(served, "agnes")
    refused = agent.get("/api/dashboards")
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "role"
    assert agent.get("/dashboards").status_code == 403
    assert "Dashboards" not in agent.get("/customers").text  # not offered in the menu
    answer = log_in(served, "mark").get("/api/dashboards")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    roi = body["roi"]["rows"]
    assert [r["key"] for r in roi] == ["cards"] and roi[0]["incremental_revenue"] > 0
    bars = body["roi"]["figure"]["data"][0]
    assert bars["x"] == ["cards"] and bars["y"] == [roi[0]["incremental_revenue"]]
    assert bars["error_y"]["array"][0] == pytest.approx(
        roi[0]["revenue_upper"] - roi[0]["incremental_revenue"]
    )
    lift = body["lift"]["figure"]["data"][0]
    assert lift["x"] == ["cards"] and lift["y"][0] > 0
    changes = {r["change"] for r in body["budget"]["rows"]}
    assert {-0.5, 0.1, 0.5} <= changes  # every step of the slider
    assert body["respect"]["rows"][0]["key"] == "card-upgrade"
    assert body["gap"]["weekly"] and "week" in body["gap"]["weekly"][0]


def test_an_unwired_studio_says_so_instead_of_drawing(served: LiveServer) -> None:
    app = Starlette(routes=[Mount("/studio", studio_app(served.ov))])

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/studio") as c:
            token = served.ov.staff.login("ada", PASSWORD).token
            c.cookies.set("ov_studio", token)
            return await c.get("/journeys"), await c.get("/api/dashboards")

    page, api = asyncio.run(ask())
    assert page.status_code == 200 and 'id="not-available"' in page.text
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"


def test_charts_keep_the_busiest_steps_and_drop_loops() -> None:
    nodes = [{"id": f"s{k}", "label": f"S{k}", "channel": "web", "count": 100 - k,
              "starts": 100 - k if k == 0 else 0} for k in range(40)]  # fmt: skip
    edges = [{"source": f"s{k}", "target": f"s{k + 1}", "count": 50 - k} for k in range(39)]
    edges.append({"source": "s1", "target": "s1", "count": 99})
    figure = sankey_figure({"nodes": nodes, "edges": edges})
    assert len(figure["data"][0]["node"]["label"]) == MAX_NODES
    links = figure["data"][0]["link"]
    assert all(s != t for s, t in zip(links["source"], links["target"], strict=True))
    cycle = [*edges, {"source": "s5", "target": "s0", "count": 1}]
    assert len(sankey_figure({"nodes": nodes, "edges": cycle})["data"][0]["link"]["value"]) == (
        len(links["value"])
    )  # the way back closes a cycle: not in the Sankey
    assert len(flow_figure({"nodes": nodes, "edges": cycle})["layout"]["annotations"]) == (
        len(links["value"]) + 1
    )  # but in the flow graph
    flow = flow_figure({"nodes": nodes, "edges": edges})
    xs = flow["data"][0]["x"]
    assert xs[:3] == [0, 1, 2]  # a chain: one column per step
