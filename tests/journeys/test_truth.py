"""On a world whose journeys are known, the store's events give back exactly those
journeys: their transitions and counts, their friction and their survey scores."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise

import polars as pl
import pytest

from onevoice.bootstrap import Onevoice
from onevoice.domain.journeys import DesignedJourney, nps
from onevoice.journeys.analytics import Filters, JourneyAnalytics
from onevoice.journeys.friction import FLAGS
from onevoice.journeys.sources import from_store
from onevoice.sim.journey_world import JourneyWorld, journey_world

LATER = Filters(end=datetime(2026, 6, 1, tzinfo=UTC))


@pytest.fixture
def world() -> JourneyWorld:
    return journey_world(240, seed=4)


@pytest.fixture
def reports(ov: Onevoice, world: JourneyWorld) -> JourneyAnalytics:
    result = ov.collector.collect(world.calls)
    assert result.accepted == len(world.calls) and not result.rejected
    ov.processor.run_until_idle()
    return JourneyAnalytics(lambda s, e: from_store(ov.store, s, e))


def test_the_map_recovers_every_true_transition_and_its_count(
    reports: JourneyAnalytics, world: JourneyWorld
) -> None:
    truth: Counter[tuple[str, str]] = Counter()
    for _user, steps, _flags in world.journeys:
        truth.update(pairwise(steps))
    found = reports.map(LATER)
    assert {(e["source"], e["target"]): e["count"] for e in found.edges.to_dicts()} == truth
    assert found.journeys == len(world.journeys)
    assert found.customers == len(world.scenario)
    step_counts = Counter(step for _u, steps, _f in world.journeys for step in steps)
    assert dict(zip(found.nodes["id"], found.nodes["count"], strict=True)) == step_counts


def test_the_most_common_paths_are_the_true_ones(
    reports: JourneyAnalytics, world: JourneyWorld
) -> None:
    truth = Counter(" → ".join(steps) for _u, steps, _f in world.journeys)
    found = reports.map(LATER, top=5)
    assert [(p["path"], p["journeys"]) for p in found.paths.to_dicts()] == [
        (path, n) for path, n in sorted(truth.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    ]


def test_friction_flags_fire_where_it_was_put_and_nowhere_else(
    reports: JourneyAnalytics, world: JourneyWorld
) -> None:
    report = reports.friction(LATER)
    steps = (
        reports.journeys(LATER)
        .group_by("journey")
        .agg(pl.col("step"))
        .collect()
        .join(report.journeys, on="journey")
    )
    found = Counter(
        (tuple(row["step"]), frozenset(f for f in FLAGS if row[f])) for row in steps.to_dicts()
    )
    truth = Counter((tuple(s), frozenset(flags)) for _u, s, flags in world.journeys)
    assert found == truth
    assert any(flags for _s, flags in truth)  # friction was planted


def test_survey_answers_give_the_true_nps_and_effort(
    reports: JourneyAnalytics, world: JourneyWorld
) -> None:
    signs = {s["sign"]: s for s in reports.gap(LATER)["signs"]}
    sign = signs["disconnected_conversations"]
    expected = nps([score for kind, score in world.surveys if kind == "nps"])
    assert expected is not None
    assert sign["value"] == pytest.approx(expected, abs=1e-4)
    effort = [score for kind, score in world.surveys if kind == "ces"]
    assert sign["detail"]["ces"] == pytest.approx(sum(effort) / len(effort), abs=0.01)


def test_conformance_counts_the_journeys_that_follow_the_design(
    reports: JourneyAnalytics, world: JourneyWorld
) -> None:
    design = DesignedJourney.parse(
        {"name": "fix by phone", "steps": ["app:Help", "Call Received", "Case Resolved"]}
    )
    found = reports.conformance(design, LATER)
    hoppers = world.scenario.count("hopper")
    # hoppers open the app's help, call, then walk into a branch and never get a fix
    assert (found.entered, found.followed, found.completed) == (hoppers, 0, 0)
    assert found.leaves.to_dicts() == [
        {
            "after_step": "Call Received",
            "to_step": "branch:Branch Visit (card problem)",
            "journeys": hoppers,
        }
    ]
