"""The reports' intervals cover the simulator's true incremental effect (a quick version of
``onevoice bench coverage``: ten seeded worlds instead of two hundred)."""

from __future__ import annotations

import pytest
from bench.coverage import costs_from_catalog, trial


@pytest.mark.slow
def test_lift_and_roi_intervals_cover_the_true_effect_in_most_seeded_worlds() -> None:
    costs = costs_from_catalog()
    trials = [trial(seed, 1_000, 21, costs) for seed in range(10)]
    assert all(t.holdout_unchanged for t in trials)  # the holdout really is untouched
    for key in ("conversion", "revenue", "net", "roi"):
        # with a true coverage of 95%, 7 or fewer of 10 happens about once in 400 runs
        assert sum(t.covered[key] for t in trials) >= 8, key
    assert sum(t.truth["revenue"] > 0 for t in trials) >= 8  # there is an effect to find
