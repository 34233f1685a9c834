"""The journey map and the dashboards draw from the real services, in a real browser.

The journey map is the simulated bank's (the package's ``world``); the dashboards need a
decision log with control groups, so they get a world of their own: consenting customers
decided for on the web, half held back as control, some of the treated buying.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.studio.charts import busiest
from tests.browser.conftest import PASSWORD, log_in, shot
from tests.conftest import LiveServer

OFFERS: dict[str, Any] = {
    "actions": [
        {"id": "card-upgrade", "program": "cards", "purpose": "marketing", "value": 50,
         "cost": 0.1, "treatments": {"web": {"title": "Upgrade", "body": "More cashback"}},
         "eligibility": "profile.traits.interest == 'cards'"},
        {"id": "isa-boost", "program": "savings", "purpose": "marketing", "value": 30,
         "cost": 0.2, "treatments": {"web": {"title": "Save more", "body": "A better rate"}},
         "eligibility": "profile.traits.interest == 'savings'"},
    ]
}  # fmt: skip


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("measured") / "onevoice.db"
    ov: Onevoice = bootstrap(
        Settings(
            database_url=str(path), secret_key="test-secret", holdout_share=0.0,
            control_share=0.5, explore_share=0.0, sqlite_synchronous="NORMAL",
        )
    )  # fmt: skip
    ov.actions.load(OFFERS)
    people = [f"m{n}" for n in range(80)]
    consent = {"consent": {"marketing": {"*": True}}}
    ov.collector.collect(
        [{"type": "identify", "userId": u,
          "traits": {**consent, "interest": ("cards", "savings")[n % 2]}}
         for n, u in enumerate(people)], source="test",
    )  # fmt: skip
    ov.processor.run_until_idle()
    decided = [ov.decisions.decide(f"userId:{u}", "web").decision for u in people]
    buyers = [u for u, d in zip(people, decided, strict=True) if d.action_ids][::2]
    ov.collector.collect(
        [{"type": "track", "userId": u, "event": "Order Completed",
          "properties": {"revenue": 40}} for u in buyers], source="test",
    )  # fmt: skip
    ov.processor.run_until_idle()
    ov.staff.add("mark", "marketer", PASSWORD)
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
    ov.close()


def test_the_journey_map_draws_as_a_sankey_and_a_flow_graph_with_friction(
    world: LiveServer, page_for: Any
) -> None:
    page = page_for()
    log_in(page, world, "agnes", "/studio/journeys")
    page.wait_for_selector("#journeys-app[data-ready=true]")
    found = page.request.get(f"{world.url}/studio/api/journeys").json()
    labels = found["sankey"]["data"][0]["node"]["label"]
    assert found["journeys"] > 100 and len(labels) == found["drawn_steps"] > 5
    page.wait_for_selector("#sankey .sankey-node")
    assert page.locator("#sankey .sankey-node").count() == len(labels)
    assert page.locator("#sankey .sankey-link").count() == len(
        found["sankey"]["data"][0]["link"]["value"]
    )
    drawn = page.locator("#sankey").inner_text()
    assert labels[0] in drawn and labels[-1] in drawn  # the busiest and the last step kept
    assert page.locator("#path-list li").count() == len(found["paths"]) > 0
    bars = page.locator("#friction-chart .bars .point")
    assert bars.count() == 4  # one bar per kind of friction
    assert "repeat contact" in page.locator("#friction-chart").inner_text()
    assert page.locator("#friction-where tbody tr").count() == len(found["friction"]["where"])
    shot(page, "journeys-map")

    page.get_by_role("tab", name="Flow graph").click()
    page.wait_for_selector("#flow .scatterlayer .point")
    assert page.locator("#flow").is_visible() and not page.locator("#sankey").is_visible()
    assert page.locator("#flow .scatterlayer .point").count() == len(labels)
    assert labels[0] in page.locator("#flow .textpoint").all_text_contents()
    assert page.locator("#flow .annotation-arrow-g").count() == len(
        found["flow"]["layout"]["annotations"]
    )
    shot(page, "journeys-flow")

    page.get_by_label("Designed steps, one per line").fill("Call Received\nCase Resolved")
    page.get_by_role("button", name="Compare").click()
    summary = page.locator("#conformance-summary")
    summary.wait_for()
    assert "journeys entered" in summary.inner_text()
    page.get_by_label("Designed steps, one per line").fill("Call Received")
    page.get_by_role("button", name="Compare").click()
    page.locator("#conformance-result [role=alert]").filter(has_text="at least two").wait_for()


def test_journey_filters_narrow_the_map_and_a_bad_one_is_explained(
    world: LiveServer, page_for: Any
) -> None:
    page = page_for()
    log_in(page, world, "agnes", "/studio/journeys")
    page.wait_for_selector("#journeys-app[data-ready=true]")
    everyone = page.locator("#map-summary").inner_text()
    page.get_by_label("Segment").fill("multi-channel")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**segment=multi-channel**")
    page.wait_for_selector("#journeys-app[data-ready=true]")
    narrowed = page.locator("#map-summary").inner_text()
    assert narrowed != everyone
    multi = page.request.get(f"{world.url}/studio/api/journeys?segment=multi-channel").json()
    assert narrowed.startswith(f"{multi['journeys']:,} journeys")
    page.get_by_label("Segment").fill("loyal")
    page.get_by_role("button", name="Show").click()
    alert = page.locator("#journey-status[role=alert]")
    alert.wait_for()
    assert "unknown segment 'loyal'" in alert.inner_text()


def test_the_roi_dashboard_draws_intervals_and_the_budget_slider_moves(
    measured: LiveServer, page_for: Any
) -> None:
    page = page_for()
    log_in(page, measured.url, "mark", "/studio/dashboards")
    page.wait_for_selector("#dashboards-app[data-ready=true]")
    found = page.request.get(f"{measured.url}/studio/api/dashboards").json()
    programs = [r["key"] for r in found["roi"]["rows"]]
    assert sorted(programs) == ["cards", "savings"]
    page.wait_for_selector("#roi-chart .bars .point")
    assert page.locator("#roi-chart .bars .point").count() == len(programs)
    assert page.locator("#roi-chart .errorbar").count() == len(programs)
    ticks = page.locator("#roi-chart .xtick").all_text_contents()
    assert sorted(ticks) == sorted(programs)
    values = found["roi"]["figure"]["data"][0]["text"]
    assert sorted(page.locator("#roi-chart .bartext").all_text_contents()) == sorted(values)
    assert page.locator("#roi-table tbody tr").count() == len(programs)
    assert page.locator("#lift-chart .bars .point").count() == len(programs)
    assert page.locator("#gap-chart .scatterlayer .trace").count() >= 1
    assert page.locator("#respect-table tbody tr").count() == len(found["respect"]["rows"])

    slider = page.get_by_label("Change in contacts")
    slider.fill("-30")
    assert page.locator("#budget-change").inner_text() == "-30%"
    rows = page.locator("#budget-table tbody tr")
    expected = [r for r in found["budget"]["rows"] if r["change"] == -0.3]
    assert rows.count() == max(len(expected), 1)
    if expected:
        assert expected[0]["program"] in rows.first.inner_text()
    shot(page, "dashboards")


def test_an_agent_is_not_shown_the_dashboards(measured: LiveServer, page_for: Any) -> None:
    measured.ov.staff.add("agatha", "agent", PASSWORD)
    page = page_for()
    log_in(page, measured.url, "agatha")
    assert page.get_by_role("link", name="Dashboards").count() == 0
    answer = page.goto(f"{measured.url}/studio/dashboards")
    assert answer is not None and answer.status == 403


def test_customer_360_shows_current_intents_with_their_reasons(
    world: LiveServer, page_for: Any
) -> None:
    ov = world.ov
    chosen = None
    for profile_id in ov.store.recent_profile_ids(500):
        intents = [i for i in ov.intents.view(profile_id) if i["score"] >= 0.05 and i["reasons"]]
        stored = ov.store.get_profile(profile_id)
        ids = [i for i in stored.identifiers if i.type == "userId"] if stored else []
        if intents and ids:
            chosen = (f"userId:{ids[0].value}", intents[0])
            break
    assert chosen is not None, "the simulated world has no customer with a current intent"
    reference, intent = chosen
    page = page_for()
    log_in(page, world, "agnes")
    page.goto(f"{world.url}/studio/customers?q={reference}")
    item = page.locator(f'#intents [data-intent="{intent["name"]}"]')
    item.wait_for()
    text = item.inner_text()
    assert intent["name"].replace("_", " ") in text
    assert intent["reasons"][0] in text
    assert f"{round(100 * intent['score'])}%" in text
    shot(page, "customer-360-intents")


def test_the_map_keeps_the_busiest_steps() -> None:
    nodes = [{"id": str(k), "count": k} for k in range(50)]
    edges = [{"source": str(k), "target": str(k - 1), "count": 1} for k in range(1, 50)]
    kept, _edges = busiest({"nodes": nodes, "edges": edges})
    assert [n["id"] for n in kept][:2] == ["49", "48"] and len(kept) == 24
