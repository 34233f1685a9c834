"""Reports read the real decision log, responses and orders, on both storage backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.decision_log import CONTROL, HOLDOUT, TREATED
from tests.conftest import FakeClock

OFFER: dict[str, Any] = {
    "id": "card-upgrade",
    "program": "cards",
    "purpose": "marketing",
    "value": 50,
    "cost": {"default": 0.1, "web": 0.02},
    "treatments": {"web": {"title": "Upgrade your card", "body": "More cashback"}},
}


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Onevoice, FakeClock]]:
    clock = FakeClock()
    settings = Settings(
        database_url=database_url, secret_key="test-secret", holdout_share=0.0,
        control_share=0.5, explore_share=0.0, attribution_days=7,
    )  # fmt: skip
    ov = bootstrap(settings, clock=clock)
    ov.actions.load({"actions": [OFFER]})
    yield ov, clock
    ov.close()


def _collect(ov: Onevoice, calls: list[dict[str, Any]]) -> None:
    assert not ov.collector.collect(calls, source="test").rejected
    ov.processor.run_until_idle()


def test_reports_join_decisions_to_the_orders_and_responses_that_followed(
    world: tuple[Onevoice, FakeClock],
) -> None:
    ov, clock = world
    start = clock.now
    people = [f"u{n}" for n in range(40)]
    _collect(ov, [{"type": "identify", "userId": u, "traits": {"consent": {"marketing": {
        "*": True}}}} for u in people])  # fmt: skip
    clock.now += timedelta(hours=1)
    decided = {u: ov.decisions.decide(f"userId:{u}", "web").decision for u in people}
    shown = [u for u, d in decided.items() if d.action_ids]
    held = [u for u, d in decided.items() if d.control]
    assert shown and held and len(shown) + len(held) == len(people)
    # two days later, every shown customer and one withheld customer buy; one shown
    # customer unsubscribes; one buys only after the attribution window
    clock.now += timedelta(days=2)
    buyers = [*shown[:-1], held[0]]
    _collect(ov, [{"type": "track", "userId": u, "event": "Order Completed",
                   "properties": {"revenue": 30}} for u in buyers])  # fmt: skip
    ov.decisions.respond(decided[shown[0]].decision_id, "card-upgrade", "unsubscribe")
    clock.now += timedelta(days=8)
    _collect(ov, [{"type": "track", "userId": shown[-1], "event": "Order Completed",
                   "properties": {"revenue": 99}}])  # fmt: skip

    log = ov.reports.log(start, clock.now)
    assert len(log) == len(people)
    assert int((log.group == TREATED).sum()) == len(shown)
    assert int((log.group == CONTROL).sum()) == len(held)
    assert float(log.converted.sum()) == len(buyers)
    assert float(log.revenue.sum()) == pytest.approx(30 * len(buyers))
    assert float(log.cost.sum()) == pytest.approx(0.02 * len(shown))
    assert float(log.later_orders.sum()) == len(buyers) + 1  # to the end of the period
    assert float(log.later_revenue.sum()) == pytest.approx(30 * len(buyers) + 99)
    assert log.programs == ("cards",) and log.segments == ("known",)

    (conversion, revenue) = ov.reports.lift(start, clock.now, by="program")
    assert conversion.key == "cards" and conversion.outcome == "conversion"
    assert conversion.treated_mean == pytest.approx((len(shown) - 1) / len(shown))
    assert conversion.control_mean == pytest.approx(1 / len(held))
    assert revenue.estimate == pytest.approx(30 * conversion.estimate)
    (roi,) = ov.reports.roi(start, clock.now)
    assert roi.contacts == len(shown) and roi.rank == 1
    assert roi.incremental_revenue == pytest.approx(revenue.estimate * len(shown))
    (respect,) = ov.reports.respect(start, clock.now)
    assert respect.unsubscribes == 1 and respect.messages == 0  # web banners are not messages


def test_a_period_that_ends_before_it_starts_is_refused(world: tuple[Onevoice, FakeClock]) -> None:
    ov, clock = world
    with pytest.raises(InvalidInput) as error:
        ov.reports.lift(clock.now, clock.now - timedelta(days=1))
    assert error.value.field == "since"
    assert ov.reports.lift() == []  # nothing decided yet: no rows, no error


def test_the_log_knows_the_holdout_and_the_component_arms(database_url: str) -> None:
    clock = FakeClock()
    start = clock.now
    settings = Settings(database_url=database_url, secret_key="test-secret", holdout_share=0.5,
                        control_share=0.0, component_share=0.1)  # fmt: skip
    ov = bootstrap(settings, clock=clock)
    try:
        ov.actions.load({"actions": [OFFER]})
        people = [f"h{n}" for n in range(60)]
        _collect(ov, [{"type": "identify", "userId": u, "traits": {"consent": {"marketing": {
            "*": True}}}} for u in people])  # fmt: skip
        clock.now += timedelta(hours=1)
        decided = []
        for u in people:  # a second apart: the log comes in time order
            clock.now += timedelta(seconds=1)
            decided.append(ov.decisions.decide(f"userId:{u}", "web").decision)
        log = ov.reports.log(start, clock.now + timedelta(seconds=1))
    finally:
        ov.close()
    held = [d.holdout for d in decided]
    assert [bool(g == HOLDOUT) for g in log.group] == held and 0 < sum(held) < len(held)
    arms = [d.component for d in decided]
    assert set(log.components) == {a for a in arms if a}
    logged = [log.components[c - 1] if c else None for c in log.component]
    assert logged == arms
