"""Staff who log in to the Studio: users with roles, passwords, sessions.

Roles are ranked: an ``agent`` reads customers and records their responses, a
``marketer`` may also edit actions and the contact policy, an ``admin`` may also manage
keys and users. Passwords are hashed with Argon2id (argon2-cffi); session tokens are
random and only their SHA-256 is stored, so a copy of the database opens no session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from onevoice.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from onevoice.services.clock import Clock
from onevoice.services.ports import StaffSession, StaffUser, Store

ROLES = ("agent", "marketer", "admin")
_RANK = {role: n for n, role in enumerate(ROLES)}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
#: wrong passwords for one name within LOCKOUT after which that name is refused for a while
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


def may(user: StaffUser, role: str) -> bool:
    """Whether ``user`` has ``role`` or a higher one.

    >>> from datetime import datetime, timezone
    >>> ann = StaffUser("u1", "ann", "marketer", datetime.now(timezone.utc), None)
    >>> may(ann, "agent"), may(ann, "admin")
    (True, False)
    """
    return _RANK.get(user.role, -1) >= _RANK[role]


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A live session: who, and the token that proves it (only in the cookie)."""

    user: StaffUser
    session: StaffSession
    token: str


class Staff:
    """Creates users, checks passwords, opens and closes sessions."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        session_lifetime: timedelta = timedelta(hours=12),
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lifetime = session_lifetime
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_hex(8))
        self._failures: dict[str, list[datetime]] = {}
        self._failures_lock = threading.Lock()

    # -- users ---------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str) -> StaffUser:
        if not _NAME.match(name or ""):
            raise InvalidInput(
                "a user name is 1-64 letters, digits, '_', '.', '@' or '-'", field="name"
            )
        _check_role(role)
        _check_password(password)
        if self._store.staff_by_name(name) is not None:
            raise Conflict(f"there is already a user {name!r}", field="name")
        user = StaffUser(f"usr_{secrets.token_hex(6)}", name, role, self._clock(), None)
        self._store.add_staff(user, self._hasher.hash(password))
        return user

    def list(self) -> list[StaffUser]:
        return self._store.list_staff()

    def get(self, user_id: str) -> StaffUser:
        user = self._store.get_staff(user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}", field="user_id")
        return user

    def change(
        self,
        user_id: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> StaffUser:
        """Change a user's role, enable or disable them, or set a new password.

        Disabling a user or changing their password ends their sessions.
        """
        user = self.get(user_id)
        new_role = user.role if role is None else _check_role(role)
        disabled_at = user.disabled_at
        if disabled is True and disabled_at is None:
            disabled_at = self._clock()
        elif disabled is False:
            disabled_at = None
        digest = None
        if password is not None:
            _check_password(password)
            digest = self._hasher.hash(password)
        self._store.update_staff(
            user_id, role=new_role, disabled_at=disabled_at, password_hash=digest
        )
        if disabled_at is not None or digest is not None:
            self._store.end_staff_sessions(user_id=user_id)
        return self.get(user_id)

    # -- sessions ------------------------------------------------------------------------
    def login(self, name: str, password: str) -> LoggedIn:
        """A new session for a right name and password; the same error for every wrong one.

        After :data:`MAX_FAILURES` wrong passwords for one name within :data:`LOCKOUT`,
        that name is refused until the window has passed (guessing gets slow).
        """
        now = self._clock()
        with self._failures_lock:
            recent = [t for t in self._failures.get(name, []) if now - t < LOCKOUT]
            self._failures[name] = recent
        if len(recent) >= MAX_FAILURES:
            wait = LOCKOUT - (now - recent[0])
            raise Unauthorized(
                f"too many failed logins for {name!r}; try again in "
                f"{max(1, round(wait.total_seconds() / 60))} minutes",
                field="name",
            )
        found = self._store.staff_by_name(name)
        digest = found[1] if found else self._dummy
        try:
            self._hasher.verify(digest, password)
            ok = found is not None and found[0].disabled_at is None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or found is None:
            with self._failures_lock:
                if len(self._failures) > 10_000:
                    self._failures.clear()
                self._failures.setdefault(name, []).append(now)
            raise Unauthorized("wrong user name or password", field="password")
        with self._failures_lock:
            self._failures.pop(name, None)
        user = found[0]
        token = secrets.token_urlsafe(32)
        session = StaffSession(user.user_id, secrets.token_urlsafe(32), now, now + self._lifetime)
        self._store.add_staff_session(session, _digest(token))
        return LoggedIn(user, session, token)

    def session(self, token: str | None) -> LoggedIn | None:
        """The live session of ``token``; ``None`` when unknown, expired or the user disabled."""
        if not token:
            return None
        session = self._store.staff_session(_digest(token))
        if session is None or session.expires_at <= self._clock():
            return None
        user = self._store.get_staff(session.user_id)
        if user is None or user.disabled_at is not None:
            return None
        return LoggedIn(user, session, token)

    def logout(self, token: str) -> None:
        self._store.end_staff_sessions(token_hash=_digest(token))


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    return role


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
