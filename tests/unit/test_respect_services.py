"""Customer tokens, rate limits, the own-budget cap and exact unlearning, without I/O."""

from __future__ import annotations

import doctest
from dataclasses import replace
from datetime import timedelta

import pytest

import onevoice.services.ratelimit
from onevoice.domain.errors import InvalidInput, RateLimited, Unauthorized
from onevoice.domain.learning.beta import BetaBernoulli
from onevoice.domain.policy import DEFAULT_POLICY, Contact, ContactHistory, check_caps
from onevoice.services.me import MeTokens
from onevoice.services.ratelimit import RateLimiter
from tests.conftest import FakeClock


def test_the_examples_run() -> None:
    assert doctest.testmod(onevoice.services.ratelimit).failed == 0


def test_a_customer_token_names_its_customer_until_it_expires(clock: FakeClock) -> None:
    tokens = MeTokens(b"secret", clock, ttl=timedelta(minutes=15))
    token, expires = tokens.mint("email:Ann@Example.com")
    assert tokens.check(token) == "email:ann@example.com"
    assert expires == clock.now + timedelta(minutes=15)
    clock.now += timedelta(minutes=15, seconds=1)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.check(token)


def test_a_token_signed_with_another_secret_is_refused(clock: FakeClock) -> None:
    token, _ = MeTokens(b"other", clock, ttl=timedelta(minutes=5)).mint("userId:u1")
    with pytest.raises(Unauthorized, match="not valid"):
        MeTokens(b"secret", clock, ttl=timedelta(minutes=5)).check(token)


def test_a_token_lives_at_most_a_day(clock: FakeClock) -> None:
    with pytest.raises(InvalidInput):
        MeTokens(b"s", clock, ttl=timedelta(minutes=5)).mint("userId:u1", timedelta(days=2))


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10.0, burst=5, now=lambda: now[0])
    for _ in range(5):
        limiter.take("k")
    with pytest.raises(RateLimited):
        limiter.take("k")
    limiter.take("other key")  # buckets are per key
    now[0] += 0.1
    limiter.take("k")


def test_the_customers_own_budget_caps_before_the_brands_caps(clock: FakeClock) -> None:
    history = ContactHistory(contacts=(Contact("a", "web", "marketing", clock.now),))
    assert check_caps("marketing", "web", history, clock.now, DEFAULT_POLICY).allowed
    own = replace(DEFAULT_POLICY, own_caps={"*": {"week": 1}})
    verdict = check_caps("marketing", "web", history, clock.now, own)
    assert (verdict.allowed, verdict.rule) == (False, "own_budget")
    assert check_caps("service", "web", history, clock.now, own).allowed


def test_unlearning_takes_back_exactly_what_was_learned() -> None:
    learner = BetaBernoulli(prior_rate=0.1, prior_strength=10, segment_by=("channel=web",))
    x = {"channel=web": 1.0}
    learner.learn_one("a", x, 1.0)
    before = learner.to_state()
    learner.learn_one("a", x, 0.5)
    assert learner.unlearn_one("a", x, 0.5)
    assert learner.to_state() == before
    assert not learner.unlearn_one("never-learned", x, 1.0)
