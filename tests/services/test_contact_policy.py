"""The contact policy as edited in the Studio: checked, saved, used by decide, replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import format_time


def test_the_policy_starts_from_the_settings(ov: Onevoice) -> None:
    current = ov.contact_policies.current()
    assert current["quiet_hours"] == "21:00-08:00"
    assert current["caps"]["email"] == {"day": 1, "week": 3, "month": 8}
    assert current["holdout_share"] == ov.settings.holdout_share


def test_a_saved_policy_is_used_by_decide_and_survives_a_restart(ov: Onevoice) -> None:
    version = ov.contact_policies.save(
        {"caps": {"email": {"week": 1}}, "fatigue_budget": 3, "holdout_share": 0.0},
        changed_by="ann",
    )
    assert ov.decisions.policy.caps == {"email": {"week": 1}}
    assert ov.decisions.policy.fatigue_budget == 3
    assert ov.decisions.arbitration.holdout_share == 0.0
    [saved] = ov.contact_policies.history()
    assert (saved.version, saved.changed_by) == (version, "ann")
    again = bootstrap(Settings(database_url=ov.settings.database_url, secret_key="test-secret"))
    try:
        assert again.decisions.policy.caps == {"email": {"week": 1}}
        assert again.decisions.arbitration.holdout_share == 0.0
    finally:
        again.close()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"caps": {"fax": {"day": 1}}}, "caps.fax"),
        ({"caps": {"email": {"hour": 1}}}, "caps.email.hour"),
        ({"caps": {"email": {"day": -1}}}, "caps.email.day"),
        ({"quiet_hours": "late"}, "quiet_hours"),
        ({"default_timezone": "Mars/Olympus"}, "default_timezone"),
        ({"holdout_share": 1.5}, "holdout_share"),
        ({"fatigue_budget": "lots"}, "fatigue_budget"),
        ({"bedtime": 1}, "bedtime"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(
    ov: Onevoice, raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        ov.contact_policies.save(raw, changed_by="ann")
    assert raised.value.field == field
    assert ov.contact_policies.history() == []


def delivered(ov: Onevoice, user: str, hours_ago: list[float]) -> None:
    """Emails another system sent (reported as Segment ``Email Delivered`` events)."""
    now = datetime.now(UTC)
    calls = [
        {
            "type": "track",
            "userId": user,
            "event": "Email Delivered",
            "context": {"channel": "email"},
            "timestamp": format_time(now - timedelta(hours=h)),
        }
        for h in hours_ago
    ]
    assert not ov.collector.collect(calls, source="sender").rejected


def test_the_effect_counts_what_a_tighter_cap_would_have_blocked(ov: Onevoice) -> None:
    delivered(ov, "u1", [70, 40, 10])
    delivered(ov, "u2", [20])
    delivered(ov, "u3", [24 * 9])  # before last week: fills windows, not counted
    ov.processor.run_until_idle()
    in_force = ov.contact_policies.effect()  # 3 emails a week allowed
    assert (in_force.contacts, in_force.customers, in_force.blocked_contacts) == (4, 2, 0)
    tight, _ = ov.contact_policies.check({"caps": {"email": {"week": 2}}})
    effect = ov.contact_policies.effect(tight)
    assert (effect.blocked_contacts, effect.blocked_customers) == (1, 1)
    assert effect.reasons == {"email cap per week": 1}
    assert ov.contact_policies.effect(tight, days=0.5).contacts == 1


def test_consent_reach_counts_granted_and_withdrawn_marketing_per_channel(ov: Onevoice) -> None:
    consents = {
        "u1": {"marketing": {"email": True, "sms": False}},
        "u2": {"marketing": {"*": True}},
        "u3": {},
    }
    calls = [
        {"type": "identify", "userId": u, "traits": {"consent": c}} for u, c in consents.items()
    ]
    assert not ov.collector.collect(calls, source="crm").rejected
    ov.processor.run_until_idle()
    customers, reach = ov.contact_policies.consent_reach()
    assert customers == 3
    assert reach["email"] == {"granted": 2, "withdrawn": 0}
    assert reach["sms"] == {"granted": 1, "withdrawn": 1}
    assert reach["push"] == {"granted": 1, "withdrawn": 0}
