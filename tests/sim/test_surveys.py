"""Survey answers in the simulated world follow the truth and reach the gap's NPS."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from onevoice.bootstrap import Onevoice
from onevoice.domain.journeys import nps
from onevoice.journeys.analytics import Filters, JourneyAnalytics
from onevoice.journeys.sources import from_store
from onevoice.sim import WorldConfig, simulate
from onevoice.sim import truth as t
from onevoice.sim.surveys import survey_calls

END = datetime(2026, 3, 1, tzinfo=UTC)


def test_unsolved_problems_score_lower_than_sales_and_solved_ones() -> None:
    world = simulate(WorldConfig(customers=3000, days=28, seed=8, end=END))
    calls = survey_calls(world, share=1.0)
    outcome = dict(
        zip(
            world.truth.episodes["episode"].tolist(),
            world.truth.episodes["outcome"].tolist(),
            strict=True,
        )
    )
    scores: dict[int, list[int]] = {}
    for call in calls:
        if call["event"] == "nps":
            episode = int(call["messageId"].split("-")[2])
            scores.setdefault(outcome[episode], []).append(call["properties"]["score"])
    assert np.mean(scores[t.UNRESOLVED]) < np.mean(scores[t.RESOLVED]) - 3
    assert np.mean(scores[t.UNRESOLVED]) < np.mean(scores[t.CONVERTED]) - 3


def test_survey_answers_are_collected_and_counted_in_the_gap(ov: Onevoice) -> None:
    world = simulate(WorldConfig(customers=400, days=14, seed=2, end=END))
    calls = survey_calls(world, share=0.5)
    result = ov.collector.collect(calls)
    assert result.accepted == len(calls) > 0 and not result.rejected
    ov.processor.run_until_idle()
    reports = JourneyAnalytics(lambda s, e: from_store(ov.store, s, e))
    sign = reports.gap(Filters(), by_week=False)["signs"][2]
    expected = nps([c["properties"]["score"] for c in calls if c["event"] == "nps"])
    assert sign["value"] == round(expected or 0.0, 4)
