"""The action catalog: parsed from plain dicts, every mistake named by its field."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import onevoice.domain.actions
from onevoice.domain.actions import parse_action, parse_catalog, parse_duration
from onevoice.domain.errors import InvalidInput
from onevoice.domain.expressions import InvalidExpression
from onevoice.expressions.cel import CelEngine

ENGINE = CelEngine()


def _action(**changes: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "id": "mortgage-review",
        "name": "Mortgage review",
        "purpose": "marketing",
        "value": 120,
        "cost": {"default": 0.01, "call_centre": 2.5},
        "weight": 1.5,
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2026-07-01T00:00:00Z",
        "cooldown": "7d",
        "max_per_customer": 3,
        "eligibility": "profile.orders > 0",
        "treatments": {
            "email": {"subject": "Your mortgage", "body": "Shall we review it?"},
            "call_centre": {"script": "Offer a mortgage review."},
            "web": {"title": "Review your mortgage", "body": "Ten minutes.", "cta": "Book"},
            "sms": {"text": "Review your mortgage: reply YES"},
        },
    }
    action.update(changes)
    return {k: v for k, v in action.items() if v is not None}


def _catalog(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"actions": list(actions)}


def test_a_full_action_is_parsed_into_its_parts() -> None:
    catalog = parse_catalog(_catalog(_action()), ENGINE)
    action = catalog["mortgage-review"]
    assert action.channels == ("email", "call_centre", "web", "sms")
    assert action.treatments["email"].content["subject"] == "Your mortgage"
    assert (action.cost("call_centre"), action.cost("web")) == (2.5, 0.01)
    assert action.cooldown == timedelta(days=7)
    assert action.valid_until == datetime(2026, 7, 1, tzinfo=UTC)
    assert catalog.rule("mortgage-review").source == "profile.orders > 0"


def test_an_action_survives_a_round_trip_through_its_dict() -> None:
    action = parse_action(_action())
    assert parse_action(action.to_dict()) == action


def test_the_validity_window_is_start_inclusive_and_end_exclusive() -> None:
    action = parse_action(_action())
    assert not action.live_at(datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    assert action.live_at(datetime(2026, 1, 1, tzinfo=UTC))
    assert not action.live_at(datetime(2026, 7, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "has space"}, "actions[1].id"),
        ({"purpose": "sales"}, "actions[1].purpose"),
        ({"value": "lots"}, "actions[1].value"),
        ({"value": -1}, "actions[1].value"),
        ({"weight": True}, "actions[1].weight"),
        ({"cost": {"fax": 1}}, "actions[1].cost.fax"),
        ({"cooldown": "a week"}, "actions[1].cooldown"),
        ({"max_per_customer": 0}, "actions[1].max_per_customer"),
        ({"valid_until": "2025-01-01T00:00:00Z"}, "actions[1].valid_until"),
        ({"valid_from": "soon"}, "actions[1].valid_from"),
        ({"paused": "no"}, "actions[1].paused"),
        ({"treatmnts": {}}, "actions[1].treatmnts"),
        ({"treatments": {}}, "actions[1].treatments"),
        ({"treatments": {"fax": {"text": "hi"}}}, "actions[1].treatments.fax"),
        ({"treatments": {"email": {"body": "no subject"}}}, "actions[1].treatments.email.subject"),
        (
            {"treatments": {"email": {"subject": "", "body": "x"}}},
            "actions[1].treatments.email.subject",
        ),
        (
            {"treatments": {"web": {"title": "t", "body": "b", "colour": "red"}}},
            "actions[1].treatments.web.colour",
        ),
        ({"treatments": {"sms": "text"}}, "actions[1].treatments.sms"),
        ({"eligibility": 3}, "actions[1].eligibility"),
    ],
)
def test_bad_catalog_input_names_the_field(changes: dict[str, Any], field: str) -> None:
    raw = _catalog(_action(id="ok"), _action(**changes))
    with pytest.raises(InvalidInput) as caught:
        parse_catalog(raw, ENGINE)
    assert caught.value.field == field


def test_an_invalid_rule_is_refused_on_save_with_its_position() -> None:
    raw = _catalog(_action(eligibility="profile.orders >"))
    with pytest.raises(InvalidExpression) as caught:
        parse_catalog(raw, ENGINE)
    assert caught.value.field == "actions[0].eligibility"
    assert (caught.value.line, caught.value.column) == (1, 17)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_catalog(_catalog(_action(), _action()), ENGINE)
    assert caught.value.field == "actions[1].id"


def test_a_catalog_must_be_a_list_of_actions() -> None:
    for raw in ({"actions": {"a": 1}}, "actions", {"actions": [], "extra": 1}):
        with pytest.raises(InvalidInput):
            parse_catalog(raw, ENGINE)


def test_a_bare_list_is_a_catalog_too() -> None:
    assert len(parse_catalog([_action()], ENGINE)) == 1


def test_an_action_without_a_rule_is_open_to_everyone() -> None:
    catalog = parse_catalog(_catalog(_action(eligibility=None)), ENGINE)
    assert catalog.rule("mortgage-review").evaluate({}).matched


def test_an_action_can_be_replaced_in_a_catalog() -> None:
    catalog = parse_catalog(_catalog(_action()), ENGINE)
    paused = parse_action(_action(paused=True, eligibility="true"))
    updated = catalog.with_action(paused, ENGINE)
    assert updated["mortgage-review"].paused and not catalog["mortgage-review"].paused
    assert updated.rule("mortgage-review").source == "true"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("7d", 604800), ("2w", 1209600)],
)
def test_durations_read_as_seconds_or_with_a_unit(text: object, seconds: int) -> None:
    assert parse_duration(text, "cooldown") == timedelta(seconds=seconds)


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(onevoice.domain.actions).failed == 0


def test_an_action_names_its_program_and_keeps_it_through_a_round_trip() -> None:
    catalog = parse_catalog(_catalog(_action(program="mortgages")), ENGINE)
    action = catalog["mortgage-review"]
    assert action.program == "mortgages"
    assert parse_catalog(_catalog(action.to_dict()), ENGINE)["mortgage-review"].program == (
        "mortgages"
    )
    assert parse_catalog(_catalog(_action()), ENGINE)["mortgage-review"].program == ""
    for bad in ("two words", 7):
        with pytest.raises(InvalidInput) as caught:
            parse_catalog(_catalog(_action(program=bad)), ENGINE)
        assert caught.value.field == "actions[0].program"


def test_every_harbour_bank_action_belongs_to_a_program() -> None:
    from onevoice.sim.policies.onevoice import harbour_bank_catalog

    catalog = parse_catalog(harbour_bank_catalog(), ENGINE)
    assert all(action.program for action in catalog)
    assert {a.program for a in catalog} >= {"mortgages", "cards", "savings", "retention"}
