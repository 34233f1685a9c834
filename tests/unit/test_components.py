"""Component experiments: small random arms that switch one part of arbitration off."""

from __future__ import annotations

from collections import Counter

import pytest

from onevoice.config import Settings
from onevoice.domain.decide import COMPONENTS, Arbitration, component_arm, decide
from onevoice.domain.errors import InvalidInput
from tests.unit.test_decide import CATALOG, RATES, FixedLearner, _request


def arm_settings(arm: str) -> Arbitration:
    """Every decision in ``arm``."""
    return Arbitration(holdout_share=0.0, control_share=0.0, component_share=1.0,
                       components=(arm,))  # fmt: skip


def test_each_arm_takes_its_share_of_decisions_by_a_hash_of_the_id() -> None:
    arms = Counter(component_arm(f"d{n}", 0.05, COMPONENTS) for n in range(20_000))
    assert arms[None] == pytest.approx(20_000 * 0.8, rel=0.03)
    for arm in COMPONENTS:
        assert arms[arm] == pytest.approx(20_000 * 0.05, rel=0.12)
    assert component_arm("d1", 0.05, COMPONENTS) == component_arm("d1", 0.05, COMPONENTS)
    assert component_arm("d1", 0.0, COMPONENTS) is None


def test_the_full_engine_is_untouched_when_the_share_is_zero() -> None:
    decision = decide(CATALOG, _request(), FixedLearner(RATES), settings=Arbitration(
        holdout_share=0.0, control_share=0.0))  # fmt: skip
    assert decision.component is None and decision.action_ids == ("mortgage",)


def test_the_random_action_arm_picks_any_eligible_action_even_a_losing_one() -> None:
    seen = Counter()
    for n in range(300):
        decision = decide(
            CATALOG, _request(decision_id=f"r{n}"), FixedLearner({"mortgage": 0.0001}),
            settings=arm_settings("random_action"),
        )  # fmt: skip
        assert decision.component == "random_action"
        assert decision.propensity == pytest.approx(1 / 3)
        seen.update(decision.action_ids)
        assert any("random eligible action" in r for r in decision.reasons)
    assert set(seen) == {"mortgage", "savings", "card"}  # every action loses money, yet shown


def test_the_propensity_only_arm_ranks_by_probability_alone() -> None:
    decision = decide(CATALOG, _request(), FixedLearner(RATES), settings=arm_settings(
        "propensity_only"))  # fmt: skip
    assert decision.action_ids == ("savings",)  # 10% beats mortgage's 5% × 200
    assert decision.component == "propensity_only"


def test_the_no_fatigue_arm_drops_the_fatigue_risk() -> None:
    full = decide(CATALOG, _request(), FixedLearner(RATES), settings=Arbitration(
        holdout_share=0.0, control_share=0.0))  # fmt: skip
    arm = decide(CATALOG, _request(), FixedLearner(RATES), settings=arm_settings("no_fatigue"))
    assert arm.actions[0].score == pytest.approx(full.actions[0].score + 0.05 * 0.5)


class RecordingLearner(FixedLearner):
    def __init__(self) -> None:
        super().__init__(RATES)
        self.features: list[dict[str, float]] = []

    def sample(self, action_ids, x, draws, seed):  # type: ignore[no-untyped-def]
        self.features.append(dict(x))
        return super().sample(action_ids, x, draws, seed)


def test_the_no_intent_arm_hides_intent_features_from_the_learner() -> None:
    features = {"channel=web": 1.0, "intent=mortgage": 0.9, "intent_score": 2.0}
    learner = RecordingLearner()
    decide(CATALOG, _request(features=features), learner, settings=arm_settings("no_intent"))
    assert learner.features == [{"channel=web": 1.0}]
    learner = RecordingLearner()
    decide(CATALOG, _request(features=features), learner, settings=Arbitration(holdout_share=0.0))
    assert learner.features == [features]


def test_the_holdout_gets_no_component_arm() -> None:
    settings = Arbitration(holdout_share=1.0, component_share=0.25)
    assert decide(CATALOG, _request(), FixedLearner(RATES), settings=settings).component is None


def test_settings_refuse_unknown_arms_and_shares_that_do_not_fit() -> None:
    assert Settings(component_share=0.02).arbitration().component_share == 0.02
    with pytest.raises(InvalidInput) as error:
        Settings(component_arms="random_action,guesswork").arbitration()
    assert error.value.field == "ONEVOICE_COMPONENT_ARMS"
    with pytest.raises(InvalidInput) as error:
        Settings(component_share=0.3).arbitration()
    assert error.value.field == "ONEVOICE_COMPONENT_SHARE"
