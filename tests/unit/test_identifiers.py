"""Identifier parsing, normalisation and matching keys."""

from __future__ import annotations

import pytest

from onevoice.domain import identifiers as ids
from onevoice.domain.errors import InvalidIdentifier


def test_type_names_are_canonical_whatever_the_spelling() -> None:
    assert ids.parse("user_id:u1") == ids.Identifier("userId", "u1")
    assert ids.parse("AnonymousId:a1") == ids.Identifier("anonymousId", "a1")


def test_email_and_phone_are_normalised_before_matching() -> None:
    assert ids.make("email", "  Ann@EXAMPLE.com ").value == "ann@example.com"
    assert ids.make("phone", "0044 20 7946 0958").value == "+442079460958"


def test_a_reference_without_a_type_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier):
        ids.parse("u42")


def test_personal_identifiers_match_by_keyed_hash_others_by_value() -> None:
    email = ids.make("email", "ann@example.com")
    key = ids.match_key(email, b"secret")
    assert "ann@example.com" not in key
    assert key == ids.match_key(ids.make("email", "ANN@example.com"), b"secret")
    assert key != ids.match_key(email, b"another secret")
    assert ids.match_key(ids.make("userId", "u1"), b"secret") == "userId:u1"
