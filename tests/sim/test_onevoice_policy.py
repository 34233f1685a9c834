"""The onevoice policy plays the real decide and responses path in the simulated world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onevoice.expressions.cel import CelEngine
from onevoice.services.decision_log import logged_candidates
from onevoice.sim import World, simulate
from onevoice.sim import catalog as cat
from onevoice.sim.policies import Decisions, Moments, OnevoicePolicy, Responses
from onevoice.sim.policies.onevoice import _Contexts, harbour_bank_catalog
from onevoice.sim.population import make_population
from onevoice.sim.rows import make_rows
from onevoice.sim.segment import Identities
from onevoice.sim.view import CustomerView, Observer
from tests.sim.conftest import small

TINY = small(customers=400, days=14, seed=5)


class ConsentWatch:
    """Wraps a policy and records every send made without consent on its channel."""

    name = "onevoice"

    def __init__(self, inner: OnevoicePolicy) -> None:
        self.inner = inner
        self.sends = 0
        self.without_consent: list[tuple[int, int, int]] = []

    def begin(self, ids: Identities) -> None:
        self.inner.begin(ids)

    def observe(self, day: int, calls: list[dict[str, Any]]) -> None:
        self.inner.observe(day, calls)

    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        decisions = self.inner.decide(moments, view)
        send = np.flatnonzero((decisions.action >= 0) & ~moments.in_session)
        self.sends += send.size
        for n in send.tolist():
            customer, channel = int(moments.customer[n]), int(decisions.channel[n])
            if not view.contactable[customer, channel]:
                self.without_consent.append((moments.day, customer, channel))
        return decisions

    def learn(self, responses: Responses) -> None:
        self.inner.learn(responses)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, ConsentWatch]]:
    url = str(tmp_path_factory.mktemp("onevoice") / "sim.db")
    watch = ConsentWatch(OnevoicePolicy(database_url=url))
    world = simulate(TINY, watch)
    yield world, watch
    watch.inner.close()


def test_the_catalog_file_loads_as_an_action_per_simulated_offer() -> None:
    ids = [a["id"] for a in harbour_bank_catalog()["actions"]]
    assert sorted(ids) == sorted(a.name for a in cat.ACTIONS)


def test_it_plays_what_the_real_decide_returns_and_logs_every_decision(
    played: tuple[World, ConsentWatch],
) -> None:
    world, watch = played
    policy = watch.inner
    assert policy.decided > len(policy.chosen) > 0
    contacts = world.truth.contacts
    assert contacts["customer"].size > 0 and watch.sends > 0
    for decision_id, action_id in policy.chosen[:50]:
        record = policy.ov.store.get_decision(decision_id)
        assert record is not None
        assert action_id in {a for a, _purpose in record.chosen}
        assert 0 < record.body["propensity"] <= 1
        assert {c["action_id"] for c in logged_candidates(record.body)} >= {action_id}


def test_responses_reach_the_learner(played: tuple[World, ConsentWatch]) -> None:
    policy = played[1].inner
    assert policy.responded > 0
    learned = int(policy.ov.decisions.learner.version.rsplit("@", 1)[1])
    assert 0 < learned <= policy.responded
    outcomes = [policy.ov.store.outcomes_of(d, a) for d, a in policy.chosen]
    answered = [o for o in outcomes if o]
    assert answered and all("impression" in o for o in answered)
    assert any("accept" in o for o in answered)
    # an ignored offer is only an impression: the conversation window lapses, no dismiss
    assert any(o == ["impression"] for o in answered)
    assert not any("dismiss" in o for o in answered)


def test_it_never_sends_without_consent_on_the_channel(
    played: tuple[World, ConsentWatch],
) -> None:
    world, watch = played
    assert watch.without_consent == []
    contacts = world.truth.contacts
    sent = ~contacts["inbound"].astype(bool)
    customer, channel = contacts["customer"][sent], contacts["channel"][sent]
    assert world.people.consent[customer, channel].all()


def test_the_same_seed_gives_the_same_world(
    played: tuple[World, ConsentWatch], tmp_path: Path
) -> None:
    again = OnevoicePolicy(database_url=str(tmp_path / "again.db"))
    try:
        world = simulate(TINY, again)
    finally:
        again.close()
    first = played[0]
    assert len(world.rows) == len(first.rows)
    assert (world.rows.at == first.rows.at).all()
    assert (world.rows.content == first.rows.content).all()
    assert again.chosen == played[1].inner.chosen


def test_the_card_help_message_stops_once_the_problem_is_seen_solved() -> None:
    people = make_population(np.random.default_rng(0), 3)
    observer = Observer(people)
    problem = cat.topic_content(1 + cat.CARD_PROBLEM, cat.CH["app"])[0]
    customers = np.array([0, 1, 2])

    def see(day: int, who: list[int], content: int) -> None:
        at = np.full(len(who), day * 86_400_000, dtype=np.int64)
        observer.see(day, make_rows(np.array(who), at, cat.CH["app"], content), customers[:0])

    see(0, [0, 1, 2], problem)  # all three report a card problem
    see(1, [0, 1], cat.RESOLVED)  # two are solved the next day…
    see(2, [1], problem)  # …and one of them has a new problem since
    rule = CelEngine().compile(
        next(a for a in harbour_bank_catalog()["actions"] if a["id"] == "card_help")["eligibility"]
    )
    contexts = _Contexts(observer.view)
    solved = [contexts.of(n)["solved"]["card_problem"] for n in range(3)]
    assert solved == [True, False, False]
    # the same interest in the problem: only the solved customer is not offered help
    interested = [{**contexts.of(n), "interest": {"card_problem": 2.0}} for n in range(3)]
    assert [rule.evaluate({"context": c}).matched for c in interested] == [False, True, True]
