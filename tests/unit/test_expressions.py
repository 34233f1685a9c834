"""Eligibility rules in CEL: compiled once, errors with positions, run-time errors reported."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import onevoice.domain.expressions
import onevoice.expressions.cel
from onevoice.domain.actions import Catalog
from onevoice.domain.expressions import (
    ALWAYS,
    CompiledExpression,
    Evaluation,
    InvalidExpression,
    narrowed,
)
from onevoice.expressions.cel import CelEngine

ENGINE = CelEngine()
PROFILE = {
    "profile": {
        "orders": 2,
        "lifetime_value": 180.5,
        "traits": {"plan": "gold", "timezone": "Europe/London"},
        "channels": {"web": {"count": 3}},
        "intents": {"mortgage": 0.8},
    },
    "channel": "web",
    "context": {"page": "/mortgages"},
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("profile.orders > 1", True),
        ("profile.lifetime_value >= 200.0", False),
        ("profile.traits.plan == 'gold' && channel == 'web'", True),
        ("'web' in profile.channels", True),
        ("has(profile.traits.email)", False),
        ("profile.intents.mortgage > 0.5 || context.page.startsWith('/loans')", True),
    ],
)
def test_rules_match_the_profile_and_context(rule: str, expected: bool) -> None:
    assert ENGINE.compile(rule).evaluate(PROFILE) == Evaluation(expected)


def test_a_syntax_error_names_its_line_and_column() -> None:
    with pytest.raises(InvalidExpression) as caught:
        ENGINE.compile("profile.orders > 1 &&")
    assert (caught.value.line, caught.value.column) == (1, 22)
    assert "line 1, column 22" in caught.value.message


def test_a_syntax_error_on_a_later_line_names_that_line() -> None:
    with pytest.raises(InvalidExpression) as caught:
        ENGINE.compile("profile.orders > 1 &&\n  profile.plan ==== 'gold'")
    assert (caught.value.line, caught.value.column) == (2, 18)


@pytest.mark.parametrize("text", ["", "   ", "x" * 5000])
def test_empty_or_huge_rules_are_refused(text: str) -> None:
    with pytest.raises(InvalidExpression):
        ENGINE.compile(text)


def test_a_missing_key_is_an_error_result_not_a_silent_no() -> None:
    outcome = ENGINE.compile("profile.traits.segment == 'vip'").evaluate(PROFILE)
    assert outcome.failed and not outcome.matched
    assert outcome.describe() == "error: no such key: 'segment'"


def test_a_run_time_fault_is_reported_with_its_message() -> None:
    outcome = ENGINE.compile("profile.orders / 0 > 1").evaluate(PROFILE)
    assert outcome.error is not None and "division by zero" in outcome.error


def test_an_undefined_variable_is_reported() -> None:
    outcome = ENGINE.compile("customer.orders > 1").evaluate(PROFILE)
    assert outcome.error is not None and "customer" in outcome.error


def test_a_rule_that_does_not_give_a_boolean_is_an_error() -> None:
    outcome = ENGINE.compile("profile.orders + 1").evaluate(PROFILE)
    assert outcome.error == "the rule gave 3 (int), not true or false"


def test_rules_cannot_reach_python() -> None:
    outcome = ENGINE.compile("__import__('os').system('true') == 0").evaluate(PROFILE)
    assert outcome.failed


def test_no_rule_means_everyone() -> None:
    assert ALWAYS.evaluate({}).matched


@pytest.mark.parametrize("module", [onevoice.domain.expressions, onevoice.expressions.cel])
def test_the_docstring_examples_run(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


def test_a_new_activation_is_never_answered_from_the_last_one() -> None:
    rule = ENGINE.compile("profile.orders > 1")
    assert rule.evaluate({"profile": {"orders": 2}}).matched
    assert not rule.evaluate({"profile": {"orders": 0}}).matched
    assert ENGINE.compile("profile.orders == 0").evaluate({"profile": {"orders": 0}}).matched


#: An activation with more in it than any one rule reads (traits, unknowns left out).
ACTIVATION: dict[str, object] = {
    "profile": {
        "traits": {"plan": "gold", "timezone": "Europe/London", "consent": {"email": True}},
        "lifecycle": "repeat",
        "channels": ["app", "web"],
        "lifetime_value": 180.5,
        "orders": 2,
        "known": True,
        "days_since_last_seen": 3.5,
    },
    "context": {"page": "/mortgages", "inbound": True},
    "channel": "web",
    "intents": {"mortgage": 0.8, "savings": 0.1},
}


@pytest.mark.parametrize(
    ("rule", "reads"),
    [
        ("profile.orders > 1", {"profile": {"orders": None}}),
        (
            "has(profile.traits.plan) && profile.traits.plan == 'gold'",
            {"profile": {"traits": {"plan": None}}},
        ),
        ("profile . orders > 1 // profile.traits, said a comment", {"profile": {"orders": None}}),
        # a string literal naming a field reads nothing, however it is quoted or escaped
        ("'profile.secret' != profile.lifecycle", {"profile": {"lifecycle": None}}),
        (
            r"""'it\'s profile.x' + "profile.y\\" != r'profile.z\' + context.page""",
            {"context": {"page": None}},
        ),
        ("'''profile.a\nprofile.b''' != b'profile.c' && channel == 'web'", {"channel": None}),
        # any use but a plain selection reads the whole value
        ("profile['orders'] > 1", {"profile": None}),
        ("size(profile) > 3 && profile.orders > 1", {"profile": None}),
        ("'orders' in profile", {"profile": None}),
        ("profile == {} || profile.orders > 1", {"profile": None}),
        ("profile.traits.size() > 0", {"profile": {"traits": None}}),
        ("'plan' in profile.traits", {"profile": {"traits": None}}),
        (
            "profile.traits.plan == 'gold' && profile.traits['plan'] == 'gold'",
            {"profile": {"traits": None}},
        ),
        ("'web' in profile.channels", {"profile": {"channels": None}}),
        ("profile.channels.exists(c, c == 'web')", {"profile": {"channels": None}, "c": None}),
        # a macro's own name shadowing the variable: conservative, all of it
        ("[1].all(profile, profile > 0) && profile.orders > 1", {"profile": None}),
        (
            "intents.mortgage > .5 || intents.savings > 0.5",
            {"intents": {"mortgage": None, "savings": None}},
        ),
    ],
)
def test_a_rule_reads_what_it_selects_and_all_of_what_it_uses_otherwise(
    rule: str, reads: object
) -> None:
    assert ENGINE.compile(rule).reads == reads


@pytest.mark.parametrize(
    "rule",
    [
        "profile.orders > 1 && channel == 'web'",
        "has(profile.traits.plan) && profile.traits.plan == 'gold'",
        # absent from the profile, and so from what the rule is given: has() says no
        "has(profile.traits.email)",
        "has(profile.days_since_last_order)",
        "!has(profile.days_since_first_seen) && has(profile.days_since_last_seen)",
        "profile.traits.consent.email && 'web' in profile.channels",
        "profile.traits.segment == 'vip'",  # an error, the same one
        "profile.orders.count > 1",  # selecting a field of a number: the same error
        "size(profile.traits) == 3 && size(profile) == 7",
        "profile.lifecycle in ['customer', 'repeat'] && context.page == '/mortgages'",
        "intents.mortgage > 0.5 && !('other' in intents)",
        "customer.orders > 1",
        "'profile.orders' == context.page || profile.lifetime_value > 100.0",
    ],
)
def test_a_rule_answers_the_same_on_what_it_reads_as_on_everything(rule: str) -> None:
    compiled = ENGINE.compile(rule)
    everything = compiled.evaluate(ACTIVATION)
    assert compiled.evaluate(narrowed(ACTIVATION, compiled.reads)) == everything


def test_a_catalog_reads_what_any_of_its_rules_reads() -> None:
    rules: dict[str, CompiledExpression] = {
        "a": ENGINE.compile("profile.orders > 1"),
        "b": ENGINE.compile("has(profile.traits.plan) && context.page == '/'"),
        "c": ALWAYS,
    }
    catalog = Catalog({}, rules)
    assert catalog.reads == {
        "profile": {"orders": None, "traits": {"plan": None}},
        "context": {"page": None},
    }
    assert catalog.reads is catalog.reads  # worked out once
    wholly = Catalog({}, {**rules, "d": ENGINE.compile("size(profile.traits) > 0")})
    assert wholly.reads == {"profile": {"orders": None, "traits": None}, "context": {"page": None}}
    for rule in wholly.rules.values():
        narrow = narrowed(ACTIVATION, wholly.reads)
        assert rule.evaluate(narrow) == rule.evaluate(ACTIVATION)


def test_text_the_scan_cannot_follow_means_everything() -> None:
    assert ENGINE.compile(".profile.orders > 1").reads is None
    assert narrowed(ACTIVATION, None) is ACTIVATION
