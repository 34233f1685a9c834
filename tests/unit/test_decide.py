"""Arbitration and one voice: the best action or none, control groups, honest propensities."""

from __future__ import annotations

import doctest
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import onevoice.domain.conversation
import onevoice.domain.decide
from onevoice.domain.actions import Catalog, parse_catalog
from onevoice.domain.conversation import Conversation, one_voice
from onevoice.domain.decide import Arbitration, DecideRequest, decide, in_holdout
from onevoice.domain.learning.base import Features
from onevoice.domain.learning.beta import BetaBernoulli
from onevoice.domain.policy import Consent, Contact, ContactHistory
from onevoice.expressions.cel import CelEngine

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONSENT = Consent(granted=frozenset({("marketing", "*")}))
NO_CONTROLS = Arbitration(holdout_share=0.0, control_share=0.0)
WEB = {"title": "t", "body": "b"}


class FixedLearner:
    """Knows the true probabilities exactly: every draw is the mean."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = rates

    @property
    def version(self) -> str:
        return "fixed@0"

    def predict_one(self, action_id: str, x: Features) -> float:
        return self.rates.get(action_id, 0.0)

    def sample(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> list[list[float]]:
        return [[self.rates.get(a, 0.0) for a in action_ids] for _ in range(draws)]

    def learn_one(self, action_id: str, x: Features, reward: float) -> None:
        return None

    def to_state(self) -> dict[str, Any]:
        return {"kind": "fixed"}


def _catalog(*actions: dict[str, Any]) -> Catalog:
    return parse_catalog({"actions": list(actions)}, CelEngine())


def _offer(action_id: str, value: float = 100, **changes: Any) -> dict[str, Any]:
    return {
        "id": action_id,
        "purpose": "marketing",
        "value": value,
        "cost": 0.05,
        "treatments": {
            "web": WEB,
            "call_centre": {"script": f"Say {action_id}"},
            "sms": {"text": action_id},
        },
        **changes,
    }


CATALOG = _catalog(
    _offer("mortgage", 200, eligibility="profile.intents.mortgage > 0.5"),
    _offer("savings", 50),
    _offer("card", 80, eligibility="profile.orders > 0"),
    {"id": "fraud-alert", "purpose": "service", "value": 30, "treatments": {"sms": {"text": "!"}}},
)
PROFILE = {"profile": {"orders": 1, "intents": {"mortgage": 0.9}}}


def _request(**changes: Any) -> DecideRequest:
    fields: dict[str, Any] = {
        "decision_id": "d1",
        "customer_key": "user:1",
        "channel": "web",
        "now": NOW,
        "consent": CONSENT,
        "activation": PROFILE,
    }
    fields.update(changes)
    return DecideRequest(**fields)


RATES = {"mortgage": 0.05, "savings": 0.1, "card": 0.02, "fraud-alert": 0.5}


def test_the_action_with_the_highest_expected_value_wins() -> None:
    decision = decide(CATALOG, _request(), FixedLearner(RATES), settings=NO_CONTROLS)
    assert decision.action_ids == ("mortgage",)  # 0.05 × 200 beats 0.1 × 50 and 0.02 × 80
    chosen = decision.actions[0]
    assert chosen.treatment.content == WEB
    assert chosen.score == pytest.approx(0.05 * 200 - 0.05 - 0.05 * 0.5)
    assert chosen.reasons[0].startswith("expected value 9.93 = 5.0% × value 200")
    assert "matches profile.intents.mortgage > 0.5" in chosen.reasons
    assert decision.model_version == "fixed@0" and decision.propensity == 1.0


def test_top_k_returns_the_best_k_in_order() -> None:
    decision = decide(CATALOG, _request(k=2), FixedLearner(RATES), settings=NO_CONTROLS)
    assert decision.action_ids == ("mortgage", "savings")


def test_no_action_wins_when_nothing_is_worth_the_attention() -> None:
    rates = {"mortgage": 0.0001, "savings": 0.0001, "card": 0.0001}
    decision = decide(CATALOG, _request(), FixedLearner(rates), settings=NO_CONTROLS)
    assert decision.actions == ()
    assert decision.reasons[0].startswith("nothing is worth the customer's attention")
    assert {c.action_id for c in decision.candidates if c.score is not None} == {
        "mortgage",
        "savings",
        "card",
    }


def test_every_exclusion_is_kept_with_its_reason() -> None:
    history = ContactHistory(contacts=(Contact("x", "sms", "marketing", NOW - timedelta(hours=2)),))
    decision = decide(
        CATALOG,
        _request(channel="sms", history=history, inbound=False),
        FixedLearner(RATES),
        settings=NO_CONTROLS,
    )
    by_id = {c.action_id: c for c in decision.candidates}
    assert by_id["mortgage"].excluded_by == "frequency_cap"
    assert "sms cap reached" in by_id["mortgage"].reasons[0]
    assert decision.action_ids == ("fraud-alert",)  # service passes the marketing cap


def test_when_nothing_is_eligible_the_reasons_say_why() -> None:
    decision = decide(
        CATALOG, _request(consent=Consent()), FixedLearner(RATES), settings=NO_CONTROLS
    )
    assert decision.actions == ()
    assert decision.reasons[0] == "no eligible action on web: 3 by consent, 1 by channel"
    assert "no marketing consent for web" in decision.reasons


def test_a_failing_rule_is_reported_not_silently_ineligible() -> None:
    decision = decide(
        CATALOG, _request(activation={"profile": {}}), FixedLearner(RATES), settings=NO_CONTROLS
    )
    assert {e.action_id for e in decision.errors} == {"mortgage", "card"}
    assert decision.errors[0].message == "no such key: 'intents'"
    mortgage = next(c for c in decision.candidates if c.action_id == "mortgage")
    assert mortgage.excluded_by == "eligibility_error"
    assert decision.action_ids == ("savings",)


def test_fatigue_risk_lowers_the_score_as_contacts_pile_up() -> None:
    busy = ContactHistory(contacts=(Contact("x", "web", "service", NOW - timedelta(days=1)),) * 3)
    calm = decide(CATALOG, _request(), FixedLearner(RATES), settings=NO_CONTROLS)
    tired = decide(CATALOG, _request(history=busy), FixedLearner(RATES), settings=NO_CONTROLS)
    assert tired.actions[0].score < calm.actions[0].score


def test_an_action_that_loses_customers_on_a_channel_pays_for_them() -> None:
    optout = FixedLearner({"mortgage": 0.02, "savings": 0.0})  # the mortgage sms drives opt-outs
    priced = Arbitration(holdout_share=0.0, control_share=0.0, optout_cost=300.0)
    sms = _request(
        channel="sms", inbound=False, activation={"profile": {"orders": 0, "intents": {}}}
    )
    plain = decide(CATALOG, sms, FixedLearner(RATES), settings=NO_CONTROLS, optout=optout)
    assert plain.action_ids == ("fraud-alert",)  # optout_cost 0: the price is off
    rates = {**RATES, "fraud-alert": 0.0, "mortgage": 0.05}
    sms_mortgage = replace(sms, activation=PROFILE)
    cheap = decide(CATALOG, sms_mortgage, FixedLearner(rates), settings=NO_CONTROLS)
    dear = decide(CATALOG, sms_mortgage, FixedLearner(rates), settings=priced, optout=optout)
    assert cheap.action_ids[0] == "mortgage"  # 10 − costs beats savings' 5
    assert dear.action_ids[0] == "savings"  # 10 − 0.02 × 300 − costs ≈ 3.9 does not
    mortgage = next(c for c in dear.candidates if c.action_id == "mortgage")
    # fatigue risk 0.05 × the sms's 2 points
    assert mortgage.expected_value == pytest.approx(0.05 * 200 - 0.05 - 0.05 * 2 - 6.0)
    assert mortgage.reasons[0].endswith("− opt-out risk 6.00")


def test_an_offer_in_a_visit_carries_no_opt_out_risk() -> None:
    optout = FixedLearner({"mortgage": 0.5})
    priced = Arbitration(holdout_share=0.0, control_share=0.0, optout_cost=300.0)
    web = decide(CATALOG, _request(), FixedLearner(RATES), settings=priced, optout=optout)
    assert web.action_ids == ("mortgage",)
    assert "opt-out" not in web.actions[0].reasons[0]


def test_the_same_decision_id_gives_the_same_decision() -> None:
    learner = BetaBernoulli()
    first = decide(CATALOG, _request(decision_id="same"), learner)
    again = decide(CATALOG, _request(decision_id="same"), learner)
    assert first == again


# control groups


def test_the_holdout_is_stable_and_about_five_percent() -> None:
    keys = [f"user:{n}" for n in range(20_000)]
    members = [in_holdout(k, 0.05) for k in keys]
    assert members == [in_holdout(k, 0.05) for k in keys]
    assert 0.045 < sum(members) / len(keys) < 0.055


def test_the_holdout_gets_no_marketing_but_still_gets_service() -> None:
    member = next(f"user:{n}" for n in range(1000) if in_holdout(f"user:{n}", 0.05))
    decision = decide(
        CATALOG,
        _request(customer_key=member, channel="sms", inbound=True),
        FixedLearner(RATES),
        settings=Arbitration(control_share=0.0),
    )
    assert decision.holdout
    assert decision.action_ids == ("fraud-alert",)
    mortgage = next(c for c in decision.candidates if c.action_id == "mortgage")
    assert mortgage.excluded_by == "holdout"


def test_the_random_control_withholds_about_ten_percent_and_says_so() -> None:
    settings = Arbitration(holdout_share=0.0)
    decisions = [
        decide(CATALOG, _request(decision_id=f"d{n}"), FixedLearner(RATES), settings=settings)
        for n in range(2000)
    ]
    controls = [d for d in decisions if d.control]
    assert 0.08 < len(controls) / len(decisions) < 0.12
    assert all(d.actions == () for d in controls)
    assert controls[0].reasons[0].startswith("random control group for mortgage")
    assert controls[0].propensity == pytest.approx(0.1)
    shown = next(d for d in decisions if not d.control)
    assert shown.propensity == pytest.approx(0.9)


def test_the_propensity_matches_how_often_the_action_is_really_chosen() -> None:
    catalog = _catalog(_offer("a", 100), _offer("b", 100))
    learner = BetaBernoulli(prior_rate=0.1)
    for _ in range(20):
        learner.learn_one("a", {}, 1.0 if _ % 8 == 0 else 0.0)
        learner.learn_one("b", {}, 1.0 if _ % 6 == 0 else 0.0)
    settings = Arbitration(holdout_share=0.0, control_share=0.0, explore_share=0.5)
    decisions = [
        decide(catalog, _request(decision_id=f"p{n}", activation={}), learner, settings=settings)
        for n in range(1500)
    ]
    picked = Counter(d.action_ids[0] if d.actions else "none" for d in decisions)
    for action in ("a", "b"):
        share = picked[action] / len(decisions)
        logged = [d.propensity for d in decisions if d.action_ids == (action,)]
        assert sum(logged) / len(logged) == pytest.approx(share, abs=0.06)
    assert 0.35 < sum(d.explored for d in decisions) / len(decisions) < 0.65


def test_without_exploration_the_greedy_choice_is_certain() -> None:
    learner = BetaBernoulli(prior_rate=0.1)
    learner.learn_one("savings", {}, 1.0)
    settings = Arbitration(holdout_share=0.0, control_share=0.0, explore_share=0.0)
    decision = decide(CATALOG, _request(), learner, settings=settings)
    assert not decision.explored and decision.propensity == 1.0


# one voice


def _talk(**changes: Any) -> Conversation:
    fields: dict[str, Any] = {
        "decision_id": "d0",
        "action_id": "savings",
        "channel": "web",
        "opened_at": NOW - timedelta(hours=26),
        "responses": (
            ("impression", "web", NOW - timedelta(hours=26)),
            ("click", "web", NOW - timedelta(hours=25)),
        ),
    }
    fields.update(changes)
    return Conversation(**fields)


def test_the_call_centre_says_what_the_website_showed() -> None:
    decision = decide(
        CATALOG,
        _request(channel="call_centre"),
        FixedLearner(RATES),
        settings=NO_CONTROLS,
        conversation=_talk(),
    )
    assert decision.action_ids == ("savings",)  # not the higher-scoring mortgage
    assert decision.actions[0].treatment.content == {"script": "Say savings"}
    assert decision.reasons == ("shown on web yesterday, clicked",)
    assert decision.honoured == "d0"


def test_every_channel_gets_the_same_action_while_the_conversation_is_open() -> None:
    answers = {
        channel: decide(
            CATALOG,
            _request(channel=channel, inbound=True),
            FixedLearner(RATES),
            settings=NO_CONTROLS,
            conversation=_talk(),
        ).action_ids
        for channel in ("web", "call_centre", "sms")
    }
    assert set(answers.values()) == {("savings",)}


@pytest.mark.parametrize(
    ("talk", "intents", "reason"),
    [
        (
            _talk(opened_at=NOW - timedelta(hours=73)),
            frozenset(),
            "conversation window of 3 days is over",
        ),
        (
            _talk(responses=(("dismiss", "web", NOW - timedelta(hours=2)),)),
            frozenset(),
            "customer dismissed on web 2 hours ago",
        ),
        (_talk(), frozenset({"mortgage"}), "context changed: new strong intent mortgage"),
        (_talk(action_id="gone"), frozenset(), "gone is no longer live"),
    ],
)
def test_a_new_decision_is_made_when_the_conversation_is_over(
    talk: Conversation, intents: frozenset[str], reason: str
) -> None:
    verdict = one_voice(talk, "call_centre", NOW, CATALOG, strong_intents=intents)
    assert not verdict.honour and verdict.reason == reason


def test_a_channel_without_a_treatment_decides_afresh() -> None:
    verdict = one_voice(_talk(), "email", NOW, CATALOG)
    assert not verdict.honour and verdict.reason == "savings has no email treatment"


def test_the_conversation_follows_the_customer_to_another_channel_within_the_cooldown() -> None:
    catalog = _catalog(_offer("savings", 50, cooldown="1d"))
    banner = _talk(opened_at=NOW - timedelta(hours=2), responses=())
    history = ContactHistory(
        contacts=(Contact("savings", "web", "marketing", NOW - timedelta(hours=2)),)
    )
    call = decide(
        catalog,
        _request(channel="sms", history=history),
        FixedLearner(RATES),
        settings=NO_CONTROLS,
        conversation=banner,
    )
    assert call.action_ids == ("savings",) and call.honoured == "d0"
    web = decide(
        catalog,
        _request(channel="web", history=history),
        FixedLearner(RATES),
        settings=NO_CONTROLS,
        conversation=banner,
    )
    assert web.actions == () and web.reasons == (
        "conversation open with savings (shown on web 2 hours ago, no response yet), "
        "but savings shown 2 hours ago (cooldown 1 day)",
    )


def test_an_honoured_action_still_obeys_consent_on_the_new_channel() -> None:
    consent = Consent(granted=frozenset({("marketing", "web")}))
    decision = decide(
        CATALOG,
        _request(channel="sms", consent=consent),
        FixedLearner(RATES),
        settings=NO_CONTROLS,
        conversation=_talk(),
    )
    assert decision.actions == ()
    assert decision.reasons == (
        "conversation open with savings (shown on web yesterday, clicked), "
        "but no marketing consent for sms",
    )


@pytest.mark.parametrize("module", [onevoice.domain.decide, onevoice.domain.conversation])
def test_the_docstring_examples_run(module: Any) -> None:
    assert doctest.testmod(module).failed == 0
