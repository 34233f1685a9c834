"""Studio staff: users, roles, passwords and sessions, on both storage backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from onevoice.domain.errors import Conflict, InvalidInput, Unauthorized
from onevoice.services.ports import Store
from onevoice.services.staff import Staff, may
from tests.conftest import FakeClock

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def staff(store: Store, clock: FakeClock) -> Staff:
    return Staff(store, clock, session_lifetime=timedelta(hours=1), hasher=FAST)


def test_a_user_logs_in_with_the_right_password_and_gets_a_session(staff: Staff) -> None:
    ann = staff.add("ann", "agent", "correct horse")
    logged = staff.login("ann", "correct horse")
    assert logged.user == ann
    found = staff.session(logged.token)
    assert found is not None and found.user.name == "ann"
    assert found.session.csrf_token == logged.session.csrf_token


def test_wrong_passwords_and_unknown_users_get_the_same_error(staff: Staff) -> None:
    staff.add("ann", "agent", "correct horse")
    for name, password in (("ann", "wrong horse"), ("bob", "correct horse")):
        with pytest.raises(Unauthorized) as raised:
            staff.login(name, password)
        assert raised.value.message == "wrong user name or password"


def test_only_a_hash_of_the_password_and_of_the_token_is_stored(staff: Staff, store: Store) -> None:
    staff.add("ann", "agent", "correct horse")
    found = store.staff_by_name("ann")
    assert found is not None and "correct horse" not in found[1]
    assert found[1].startswith("$argon2id$")
    logged = staff.login("ann", "correct horse")
    assert store.staff_session(logged.token) is None


def test_a_session_ends_when_it_expires_or_the_user_logs_out(
    staff: Staff, clock: FakeClock
) -> None:
    staff.add("ann", "agent", "correct horse")
    first = staff.login("ann", "correct horse")
    second = staff.login("ann", "correct horse")
    staff.logout(first.token)
    assert staff.session(first.token) is None
    assert staff.session(second.token) is not None
    clock.now += timedelta(hours=1, seconds=1)
    assert staff.session(second.token) is None


def test_disabling_a_user_ends_their_sessions_and_stops_logins(staff: Staff) -> None:
    ann = staff.add("ann", "marketer", "correct horse")
    logged = staff.login("ann", "correct horse")
    staff.change(ann.user_id, disabled=True)
    assert staff.session(logged.token) is None
    with pytest.raises(Unauthorized):
        staff.login("ann", "correct horse")
    staff.change(ann.user_id, disabled=False)
    assert staff.login("ann", "correct horse").user.role == "marketer"


def test_roles_are_ranked_agent_marketer_admin(staff: Staff) -> None:
    agent = staff.add("ann", "agent", "correct horse")
    admin = staff.add("root", "admin", "correct horse")
    assert may(agent, "agent") and not may(agent, "marketer")
    assert may(admin, "marketer") and may(admin, "admin")
    changed = staff.change(agent.user_id, role="marketer")
    assert may(changed, "marketer") and not may(changed, "admin")


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("", "agent", "correct horse", "name"),
        ("ann smith", "agent", "correct horse", "name"),
        ("ann", "boss", "correct horse", "role"),
        ("ann", "agent", "short", "password"),
    ],
)
def test_bad_users_are_refused_naming_the_field(
    staff: Staff, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        staff.add(name, role, password)
    assert raised.value.field == field


def test_a_name_is_taken_once(staff: Staff) -> None:
    staff.add("ann", "agent", "correct horse")
    with pytest.raises(Conflict):
        staff.add("ann", "admin", "another horse")


def test_repeated_wrong_passwords_lock_the_name_for_a_while(staff: Staff, clock: FakeClock) -> None:
    staff.add("ann", "agent", "correct horse")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            staff.login("ann", "wrong horse")
    with pytest.raises(Unauthorized) as raised:
        staff.login("ann", "correct horse")
    assert "too many failed logins" in raised.value.message
    staff.add("bob", "agent", "correct horse")
    assert staff.login("bob", "correct horse").user.name == "bob"  # other names unaffected
    clock.now += timedelta(minutes=15, seconds=1)
    assert staff.login("ann", "correct horse").user.name == "ann"
