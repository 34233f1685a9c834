"""Eligibility rules in CEL: compiled once, errors with positions, run-time errors reported."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import onevoice.domain.expressions
import onevoice.expressions.cel
from onevoice.domain.expressions import ALWAYS, Evaluation, InvalidExpression
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
