"""Small worlds shared by the simulator tests (built once per session: they are pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onevoice.sim import World, WorldConfig, simulate
from onevoice.sim.policies import BatchAndBlast, StaticRules

END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def small(customers: int = 1_500, days: int = 28, seed: int = 11) -> WorldConfig:
    return WorldConfig(customers=customers, days=days, seed=seed, end=END)


@pytest.fixture(scope="session")
def blasted() -> World:
    return simulate(small(), BatchAndBlast())


@pytest.fixture(scope="session")
def ruled() -> World:
    return simulate(small(), StaticRules())
