"""Deciding and learning through the use cases, on both storage backends."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.domain.actions import Catalog, parse_catalog
from onevoice.domain.errors import InvalidInput, NotFound
from onevoice.domain.expressions import InvalidExpression
from onevoice.expressions.cel import CelEngine
from onevoice.services.decision_log import candidate_view, logged_candidates

NO_CONTROLS = {"holdout_share": 0.0, "control_share": 0.0, "explore_share": 0.0}


def catalog(**changes: Any) -> dict[str, Any]:
    offer: dict[str, Any] = {
        "id": "card-upgrade",
        "purpose": "marketing",
        "value": 50,
        "cost": 0.1,
        "treatments": {
            "web": {"title": "Upgrade your card", "body": "More cashback"},
            "email": {"subject": "Your upgrade", "body": "More cashback"},
            "call_centre": {"script": "Offer the card upgrade"},
        },
        "eligibility": "profile.orders > 0",
    }
    offer.update(changes)
    help_article = {
        "id": "setup-help",
        "purpose": "service",
        "value": 1,
        "treatments": {"web": {"title": "Need help?", "body": "Set up in 3 steps"}},
        "eligibility": "context.page == 'setup'",
    }
    return {"actions": [offer, help_article]}


def shopper(ov: Onevoice, user: str = "u1", orders: int = 1, **traits: Any) -> str:
    consent = {"marketing": {"*": True}}
    calls: list[dict[str, Any]] = [
        {"type": "identify", "userId": user, "traits": {"consent": consent, **traits}}
    ]
    calls += [
        {"type": "track", "userId": user, "event": "Order Completed", "properties": {"revenue": 40}}
        for _ in range(orders)
    ]
    result = ov.collector.collect(calls, source="test")
    assert not result.rejected
    return f"userId:{user}"


def with_settings(ov: Onevoice, **changes: Any) -> Onevoice:
    """A second onevoice on the same database with other settings (closed by the test)."""
    settings = Settings(database_url=ov.settings.database_url, secret_key="test-secret", **changes)
    return bootstrap(settings)


def test_a_loaded_catalog_is_stored_and_decided_with(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    assert [a["id"] for a in ov.actions.list()] == ["card-upgrade", "setup-help"]
    other = with_settings(ov, **NO_CONTROLS)
    try:
        decided = other.decisions.decide(shopper(other), "web")
        assert decided.decision.action_ids == ("card-upgrade",)
        assert decided.decision.actions[0].treatment.content["title"] == "Upgrade your card"
    finally:
        other.close()


def test_a_bad_catalog_names_the_field_and_stores_nothing(ov: Onevoice) -> None:
    with pytest.raises(InvalidInput) as error:
        ov.actions.load(catalog(value="a lot"))
    assert error.value.field == "actions[0].value"
    with pytest.raises(InvalidExpression) as bad_rule:
        ov.actions.load(catalog(eligibility="profile.orders >"))
    assert bad_rule.value.field == "actions[0].eligibility"
    assert bad_rule.value.line == 1 and bad_rule.value.column is not None
    assert ov.actions.list() == []


def test_put_replaces_one_action_and_validates_like_load(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    body = ov.actions.get("card-upgrade") | {"value": 80}
    assert ov.actions.put("card-upgrade", body)["value"] == 80
    assert ov.decisions.catalog["card-upgrade"].value == 80
    with pytest.raises(InvalidInput) as error:
        ov.actions.put("card-upgrade", body | {"treatments": {"web": {"title": "x"}}})
    assert error.value.field == "treatments.web.body"
    with pytest.raises(InvalidExpression) as bad_rule:
        ov.actions.put("card-upgrade", body | {"eligibility": "profile.orders >"})
    assert bad_rule.value.field == "eligibility"
    with pytest.raises(NotFound):
        ov.actions.get("nothing-here")


def test_no_action_wins_with_reasons_when_nothing_is_eligible(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    decided = ov.decisions.decide(shopper(ov, orders=0), "web")
    assert decided.decision.actions == ()
    assert "no eligible action on web" in decided.decision.reasons[0]


def test_every_decision_is_logged_with_candidates_propensity_and_model(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    decided = ov.decisions.decide(shopper(ov), "web", {"page": "setup"}, k=2)
    record = ov.store.get_decision(decided.decision.decision_id)
    assert record is not None
    logged = logged_candidates(record.body)
    assert {c["action_id"] for c in logged} == {"card-upgrade", "setup-help"}
    assert logged == [candidate_view(c) for c in decided.decision.candidates]
    assert 0 < record.body["propensity"] <= 1
    named = uuid.UUID(hex=decided.decision.decision_id)  # a random UUID, in hex
    assert (named.version, named.variant) == (4, uuid.RFC_4122)
    assert record.body["model_version"].startswith("bayes-logistic@")
    assert record.body["context"] == {"page": "setup"}


def test_excluded_candidates_are_logged_in_full_every_time_they_recur(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    customer = shopper(ov, orders=0)
    first, second = (ov.decisions.decide(customer, "call_centre") for _ in range(2))
    for decided in (first, second):
        record = ov.store.get_decision(decided.decision.decision_id)
        assert record is not None
        logged = sorted(logged_candidates(record.body), key=lambda c: str(c["action_id"]))
        assert logged == [
            {
                "action_id": "card-upgrade",
                "excluded_by": "eligibility",
                "reasons": ["does not match profile.orders > 0"],
            },
            {
                "action_id": "setup-help",
                "excluded_by": "channel",
                "reasons": ["no call_centre treatment"],
            },
        ]


def test_identical_exclusions_are_logged_once_with_the_actions_they_apply_to(
    ov: Onevoice,
) -> None:
    offers = [
        {**catalog()["actions"][0], "id": f"offer-{n}", "eligibility": rule}
        for n, rule in enumerate(["profile.orders > 5", "profile.orders > 0", "profile.orders > 5"])
    ]
    ov.actions.load({"actions": offers})
    one = with_settings(ov, **NO_CONTROLS)
    try:
        decided = one.decisions.decide(shopper(one, orders=1), "web")
        record = one.store.get_decision(decided.decision.decision_id)
    finally:
        one.close()
    assert record is not None
    assert record.body["excluded"] == [
        {
            "excluded_by": "eligibility",
            "reasons": ["does not match profile.orders > 5"],
            "action_ids": ["offer-0", "offer-2"],
        }
    ]
    assert record.body["scored"]["action_id"] == ["offer-1"]
    assert record.body["withheld"] == []
    logged = logged_candidates(record.body)
    assert logged == [candidate_view(c) for c in decided.decision.candidates]
    assert logged[-1]["reasons"] == list(decided.decision.actions[0].reasons[:1])


def test_a_withheld_action_is_logged_as_the_random_control(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    always = with_settings(ov, holdout_share=0.0, control_share=1.0, explore_share=0.0)
    try:
        decided = always.decisions.decide(shopper(always), "web")
        record = always.store.get_decision(decided.decision.decision_id)
    finally:
        always.close()
    assert decided.decision.actions == () and decided.decision.control
    assert record is not None and record.body["withheld"] == ["card-upgrade"]
    controlled = [c for c in logged_candidates(record.body) if c.get("control")]
    assert [c["action_id"] for c in controlled] == ["card-upgrade"]


def test_records_written_one_object_per_candidate_are_still_read() -> None:
    before = {
        "candidates": [
            {"action_id": "a", "excluded_by": "eligibility", "reasons": ["does not match x"]},
            {"action_id": "b", "purpose": "marketing", "reasons": ["expected value 1.00"],
             "probability": 0.1, "expected_value": 1.0, "score": 1.0,
             "chosen_probability": 1.0, "control": False},
        ]
    }  # fmt: skip
    assert logged_candidates(before) == before["candidates"]


def test_one_voice_repeats_the_open_conversation_on_another_channel(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    one = with_settings(ov, **NO_CONTROLS)
    try:
        customer = shopper(one)
        first = one.decisions.decide(customer, "web").decision
        again = one.decisions.decide(customer, "call_centre").decision
        assert again.action_ids == first.action_ids == ("card-upgrade",)
        assert again.honoured == first.decision_id
        assert again.actions[0].treatment.content == {"script": "Offer the card upgrade"}
        assert any("shown on web" in r for r in again.reasons)
        one.decisions.respond(first.decision_id, "card-upgrade", "dismiss")
        after = one.decisions.decide(customer, "web").decision
        assert after.actions == ()  # dismissed: a cooldown, and the conversation is closed
    finally:
        one.close()


def test_a_response_counts_once_and_teaches_the_learner(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    one = with_settings(ov, **NO_CONTROLS)
    try:
        decision = one.decisions.decide(shopper(one), "web").decision
        before = one.decisions.learner.predict_one("card-upgrade", {"channel=web": 1.0})
        first = one.decisions.respond(decision.decision_id, "card-upgrade", "convert", 40)
        second = one.decisions.respond(decision.decision_id, "card-upgrade", "convert", 40)
        assert (first.recorded, first.learned, first.reward) == (True, True, 1.0)
        assert (second.recorded, second.learned) == (False, False)
        assert one.decisions.learner.version.endswith("@1")
        after = one.decisions.learner.predict_one("card-upgrade", {"channel=web": 1.0})
        assert after > before
    finally:
        one.close()


def test_responses_are_checked(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    with pytest.raises(NotFound) as unknown:
        ov.decisions.respond("no-such-decision", "card-upgrade", "click")
    assert unknown.value.field == "decision_id"
    with pytest.raises(InvalidInput) as bad:
        ov.decisions.respond("no-such-decision", "card-upgrade", "loved it")
    assert bad.value.field == "outcome"


def test_the_learner_survives_a_restart(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    one = with_settings(ov, **NO_CONTROLS)
    try:
        decision = one.decisions.decide(shopper(one), "web").decision
        one.decisions.respond(decision.decision_id, "card-upgrade", "accept")
        state = one.decisions.learner.to_state()
    finally:
        one.close()
    again = with_settings(ov)
    try:
        assert again.decisions.learner.to_state() == state
        assert len(again.decisions.catalog) == 2
    finally:
        again.close()


def test_an_unsubscribe_teaches_the_opt_out_rate_of_the_action_on_that_channel(
    ov: Onevoice,
) -> None:
    ov.actions.load(catalog())
    # an e-mail on the real clock: without quiet hours, whatever the hour the test runs at
    one = with_settings(ov, **NO_CONTROLS, quiet_hours="00:00-00:00")
    try:
        optout = one.decisions.optout
        assert optout is not None
        email, web = {"channel=email": 1.0}, {"channel=web": 1.0}
        prior = optout.predict_one("card-upgrade", email)
        decision = one.decisions.decide(shopper(one), "email").decision
        assert decision.action_ids == ("card-upgrade",)
        assert decision.actions[0].reasons[0].endswith(f"opt-out risk {50 * prior:.2f}")
        one.decisions.respond(decision.decision_id, "card-upgrade", "impression")
        one.decisions.respond(decision.decision_id, "card-upgrade", "unsubscribe")
        learned = one.decisions.optout
        assert learned is not None
        assert learned.predict_one("card-upgrade", email) > prior
        assert learned.predict_one("card-upgrade", web) == prior  # another channel
        state = learned.to_state()
        assert one.decisions.retrain() == 1
        rebuilt = one.decisions.optout
        assert rebuilt is not None and rebuilt.to_state() == state  # replayed from the log
    finally:
        one.close()
    again = with_settings(ov)
    try:
        survived = again.decisions.optout
        assert survived is not None and survived.to_state() == state
    finally:
        again.close()


def test_the_holdout_gets_no_marketing_and_is_flagged(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    held = with_settings(ov, holdout_share=1.0, control_share=0.0)
    try:
        decision = held.decisions.decide(shopper(held), "web").decision
        assert decision.holdout and decision.actions == ()
        assert any("holdout" in r for r in decision.reasons)
    finally:
        held.close()


def test_an_unknown_customer_is_decided_for_with_an_empty_profile(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    one = with_settings(ov, **NO_CONTROLS)  # no random control: the answer is deterministic
    try:
        decided = one.decisions.decide("anonymousId:new-visitor", "web", {"page": "setup"})
        # service: no consent needed on a visit
        assert decided.decision.action_ids == ("setup-help",)
    finally:
        one.close()


def test_a_lapsed_impression_is_scored_no_response_once(ov: Onevoice, clock: Any) -> None:
    ov.actions.load(catalog())
    settings = Settings(
        database_url=ov.settings.database_url, secret_key="test-secret", **NO_CONTROLS
    )
    one = bootstrap(settings, clock=clock)
    try:
        decision = one.decisions.decide(shopper(one), "web").decision
        one.decisions.respond(decision.decision_id, "card-upgrade", "impression")
        clock.now += timedelta(hours=71)
        assert one.decisions.close_lapsed() == 0  # still inside its conversation window
        clock.now += timedelta(hours=2)
        assert one.decisions.close_lapsed() == 1
        assert one.decisions.close_lapsed() == 0  # a second sweep finds nothing
        assert one.store.outcomes_of(decision.decision_id, "card-upgrade") == [
            "impression",
            "no_response",
        ]
        assert one.decisions.learner.version.endswith("@1")
        seen = {"channel=web": 1.0}
        learner = one.decisions.learner
        assert learner.predict_one("card-upgrade", seen) < learner.predict_one("unshown", seen)
        late = one.decisions.respond(decision.decision_id, "card-upgrade", "accept")
        assert (late.recorded, late.learned) == (True, False)  # kept, not learned twice
    finally:
        one.close()


def test_numbers_in_the_context_are_features_the_learner_sees(ov: Onevoice) -> None:
    ov.actions.load(catalog())
    decided = ov.decisions.decide(
        shopper(ov), "web", {"interest": {"mortgage": 2.0}, "page": "setup", "vip": True}
    )
    record = ov.store.get_decision(decided.decision.decision_id)
    assert record is not None
    features = record.body["features"]
    assert features["context.interest.mortgage"] == pytest.approx(1.099)
    assert features["context.vip"] == 1.0
    assert "context.page" not in features  # text is not an amount


def test_rules_answer_alike_on_the_narrowed_profile_and_on_all_of_it(ov: Onevoice) -> None:
    """A decision builds and converts only what the catalog's rules read: each rule answers
    as it does when another rule makes the whole profile be built."""
    rules = [
        "profile.orders > 0",
        "has(profile.traits.plan) && profile.traits.plan == 'gold'",
        "has(profile.traits.email)",
        "has(profile.days_since_last_order) && profile.days_since_last_order < 1.0",
        "'web' in profile.channels || profile.known",
        "profile.traits.segment == 'vip'",
        "profile.lifecycle in ['customer', 'repeat'] && context.page == 'setup'",
        "'profile.orders' == context.page",
    ]

    def offers(texts: list[str]) -> Catalog:
        actions = [
            {
                "id": f"offer-{n}",
                "purpose": "service",
                "value": 1 + n,
                "treatments": {"web": {"title": f"Offer {n}", "body": "…"}},
                "eligibility": text,
            }
            for n, text in enumerate(texts)
        ]
        return parse_catalog({"actions": actions}, CelEngine())

    narrow, whole = offers(rules), offers([*rules, "size(profile) > 0"])
    assert narrow.reads is not None and "event_count" not in narrow.reads["profile"]  # type: ignore[operator]
    assert whole.reads is not None and whole.reads["profile"] is None
    customer = shopper(ov, plan="gold")

    def exclusions(catalog: Catalog) -> dict[str, tuple[str | None, tuple[str, ...]]]:
        decided = ov.decisions.decide(
            customer, "web", {"page": "setup"}, catalog=catalog, record=False
        )
        return {c.action_id: (c.excluded_by, c.reasons) for c in decided.decision.candidates}

    seen, expected = exclusions(narrow), exclusions(whole)
    assert seen == {name: expected[name] for name in seen}
    assert {name for name, (by, _) in seen.items() if by is None} == {
        "offer-0",
        "offer-1",
        "offer-3",
        "offer-4",
        "offer-6",
    }
    assert seen["offer-5"][0] == "eligibility_error"
