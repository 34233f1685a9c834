"""What arbitration works out once per catalog and channel never outlives the catalog: a
changed catalog is decided with its own actions, rules, values and treatments."""

from __future__ import annotations

from onevoice.domain import decide as arbitration
from onevoice.domain.actions import parse_action
from onevoice.domain.decide import decide
from onevoice.expressions.cel import CelEngine
from tests.unit.test_decide import (
    CATALOG,
    NO_CONTROLS,
    PROFILE,
    RATES,
    WEB,
    FixedLearner,
    _catalog,
    _offer,
    _request,
)


def test_a_replaced_action_is_decided_with_its_new_rule_value_and_treatments() -> None:
    learner = FixedLearner(RATES)
    before = decide(CATALOG, _request(), learner, settings=NO_CONTROLS)
    assert before.action_ids == ("mortgage",)
    # mortgage now needs two orders (this customer has one); savings is worth far more
    changed = CATALOG.with_action(
        parse_action(_offer("mortgage", 200, eligibility="profile.orders > 1")), CelEngine()
    ).with_action(parse_action(_offer("savings", 900)), CelEngine())
    after = decide(changed, _request(), learner, settings=NO_CONTROLS)
    assert after.action_ids == ("savings",)
    mortgage = next(c for c in after.candidates if c.action_id == "mortgage")
    assert mortgage.excluded_by == "eligibility"
    assert mortgage.reasons == ("does not match profile.orders > 1",)
    assert after.actions[0].reasons[0].startswith("expected value 89.9")
    assert "= 10.0% × value 900 × weight 1 − contact cost 0.05" in after.actions[0].reasons[0]
    # and the old catalog still decides as it did
    again = decide(CATALOG, _request(), learner, settings=NO_CONTROLS)
    assert again.action_ids == before.action_ids and again.candidates == before.candidates


def test_each_channel_has_its_own_exclusions_for_a_missing_treatment() -> None:
    learner = FixedLearner(RATES)
    on_web = decide(CATALOG, _request(), learner, settings=NO_CONTROLS)
    on_email = decide(CATALOG, _request(channel="email"), learner, settings=NO_CONTROLS)
    untreated = [(c.action_id, c.reasons) for c in on_web.candidates if c.excluded_by == "channel"]
    assert untreated == [("fraud-alert", ("no web treatment",))]
    assert [
        (c.action_id, c.reasons) for c in on_email.candidates if c.excluded_by == "channel"
    ] == [(a, ("no email treatment",)) for a in ("mortgage", "savings", "card", "fraud-alert")]


def test_the_kept_plans_are_bounded_and_never_served_for_another_catalog() -> None:
    learner = FixedLearner({f"offer-{n}": 0.1 for n in range(3 * arbitration._PLANS_KEPT)})
    for n in range(3 * arbitration._PLANS_KEPT):  # previews build a catalog per call
        catalog = _catalog(_offer(f"offer-{n}", 100 + n, treatments={"web": WEB}))
        decision = decide(catalog, _request(activation=PROFILE), learner, settings=NO_CONTROLS)
        assert decision.action_ids == (f"offer-{n}",)
        assert len(arbitration._PLANS) <= arbitration._PLANS_KEPT
