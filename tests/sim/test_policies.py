"""Every reference policy speaks the protocol and keeps to its own rules."""

from __future__ import annotations

import numpy as np
import pytest

from onevoice.sim import World, WorldConfig
from onevoice.sim import catalog as cat
from onevoice.sim.policies import (
    PENDING,
    POLICIES,
    Moments,
    OnevoicePolicy,
    Policy,
    PolicyUnavailable,
)
from onevoice.sim.policies.base import SEND_SLOT
from onevoice.sim.population import make_population
from onevoice.sim.view import Observer


def _moments(day: int, n: int) -> Moments:
    sessions = np.arange(0, n, 3)
    customer = np.concatenate([sessions, np.arange(n)]).astype(np.int64)
    channel = np.concatenate([np.full(sessions.size, cat.CH["web"]), np.full(n, SEND_SLOT)]).astype(
        np.int8
    )
    return Moments(day, customer, channel)


# onevoice runs the real decide path: tests/sim/test_onevoice_policy.py plays it in a world
@pytest.mark.parametrize("name", sorted(set(POLICIES) - {"onevoice"}))
def test_each_policy_answers_every_moment_on_an_allowed_channel(name: str) -> None:
    policy = POLICIES[name]()
    assert isinstance(policy, Policy)
    people = make_population(np.random.default_rng(0), 600)
    observer = Observer(people)
    observer.view.interest[:, 1:] = 5.0  # interested in everything
    for day in range(7):
        moments = _moments(day, people.size)
        decisions = policy.decide(moments, observer.view)
        assert decisions.action.shape == decisions.channel.shape == (moments.size,)
        acting = decisions.action >= 0
        assert (decisions.action < cat.N_ACTIONS).all()
        sends = acting & ~moments.in_session
        assert np.isin(decisions.channel[sends], cat.OUTBOUND).all()
        shown = acting & moments.in_session
        assert (decisions.channel[shown] == moments.channel[shown]).all()


def test_batch_and_blast_sends_one_offer_once_a_week(blasted: World) -> None:
    contacts = blasted.truth.contacts
    assert set(np.unique(contacts["action"])) == {cat.ACTION_INDEX["card_offer"]}
    assert set(np.unique(contacts["day"] % 7)) == {1}
    per_customer_week = np.bincount(contacts["customer"] * 10 + contacts["day"] // 7)
    assert per_customer_week.max() == 1


def test_static_rules_keep_their_cap(ruled: World) -> None:
    contacts = ruled.truth.contacts
    sends = ~contacts["inbound"].astype(bool)
    days = np.sort(contacts["day"][sends] + contacts["customer"][sends] * 1000)
    same_customer = np.diff(days // 1000) == 0
    assert (np.diff(days)[same_customer] >= 3).all()


def test_the_onevoice_policy_is_listed_and_none_is_pending() -> None:
    assert "onevoice" in POLICIES and PENDING == {}
    with pytest.raises(PolicyUnavailable, match="not started"):
        _ = OnevoicePolicy().ov


def test_a_world_must_be_of_a_sensible_size() -> None:
    with pytest.raises(ValueError, match="customers"):
        WorldConfig(customers=0)
