"""A world is a pure function of its config, seed and policy."""

from __future__ import annotations

import numpy as np

from onevoice.sim import World, simulate
from onevoice.sim.policies import BatchAndBlast
from onevoice.sim.segment import calls
from tests.sim.conftest import small


def _same(a: World, b: World) -> bool:
    rows = all(np.array_equal(getattr(a.rows, f), getattr(b.rows, f)) for f in a.rows.__slots__)
    truth = all(
        np.array_equal(a.truth.contacts[k], b.truth.contacts[k]) for k in a.truth.contacts
    ) and all(np.array_equal(a.truth.episodes[k], b.truth.episodes[k]) for k in a.truth.episodes)
    return rows and truth


def test_the_same_seed_gives_the_same_world_and_message_ids(blasted: World) -> None:
    again = simulate(small(), BatchAndBlast())
    assert _same(blasted, again)
    first = next(calls(blasted, chunk=500))
    assert first == next(calls(again, chunk=500))


def test_another_seed_gives_another_world(blasted: World) -> None:
    other = simulate(small(seed=12), BatchAndBlast())
    assert not _same(blasted, other)
    assert (
        next(calls(other, chunk=1))[0]["messageId"] != next(calls(blasted, chunk=1))[0]["messageId"]
    )


def test_message_ids_are_unique_within_a_world(blasted: World) -> None:
    ids = [call["messageId"] for chunk in calls(blasted) for call in chunk]
    assert len(ids) == len(set(ids)) == len(blasted.rows)


def test_the_world_ends_at_its_end_and_not_after(blasted: World) -> None:
    end_ms = int(blasted.end.timestamp() * 1000)
    start_ms = int(blasted.start.timestamp() * 1000)
    assert blasted.rows.at.max() < end_ms
    assert blasted.rows.at.min() >= start_ms - 2_000  # identify just before the first event
    assert np.all(np.diff(blasted.rows.at) >= 0)
