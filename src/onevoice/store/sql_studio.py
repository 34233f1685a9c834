"""The SQL of the Studio: staff users, their sessions, policy versions, report reads.

A mixin of :class:`onevoice.store.sql.SqlStore` (which supplies ``_write``, ``_read``
and ``_q``), like :mod:`onevoice.store.sql_decisions`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from onevoice.domain.actions import MARKETING
from onevoice.domain.events import format_time, parse_time
from onevoice.domain.policy import Contact
from onevoice.services.ports import DecisionRecord, PolicyVersion, StaffSession, StaffUser
from onevoice.store.sql_part import SqlPart

if TYPE_CHECKING:
    pass

_USER_COLUMNS = "user_id, name, role, created_at, disabled_at"
#: channels whose delivery events count as contacts (what the simulator and senders log)
_OUTBOUND = ("email", "sms", "push", "web", "app")


class StudioSql(SqlPart):
    """The Studio's part of the ``Store`` port, in SQL both backends share."""

    # -- staff ---------------------------------------------------------------------------
    def add_staff(self, user: StaffUser, password_hash: str) -> None:
        with self._write() as cur:
            cur.execute(
                self._q(
                    f"INSERT INTO staff_users ({_USER_COLUMNS}, password_hash) "
                    "VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (
                    user.user_id,
                    user.name,
                    user.role,
                    format_time(user.created_at),
                    _time(user.disabled_at),
                    password_hash,
                ),
            )

    def staff_by_name(self, name: str) -> tuple[StaffUser, str] | None:
        with self._read() as cur:
            cur.execute(
                self._q(f"SELECT {_USER_COLUMNS}, password_hash FROM staff_users WHERE name = ?"),
                (name,),
            )
            row = cur.fetchone()
        return None if row is None else (_user(row[:5]), str(row[5]))

    def get_staff(self, user_id: str) -> StaffUser | None:
        with self._read() as cur:
            cur.execute(
                self._q(f"SELECT {_USER_COLUMNS} FROM staff_users WHERE user_id = ?"), (user_id,)
            )
            row = cur.fetchone()
        return None if row is None else _user(row)

    def list_staff(self) -> list[StaffUser]:
        with self._read() as cur:
            cur.execute(f"SELECT {_USER_COLUMNS} FROM staff_users ORDER BY name")
            return [_user(row) for row in cur.fetchall()]

    def update_staff(
        self, user_id: str, *, role: str, disabled_at: datetime | None, password_hash: str | None
    ) -> bool:
        with self._write() as cur:
            if password_hash is None:
                cur.execute(
                    self._q("UPDATE staff_users SET role = ?, disabled_at = ? WHERE user_id = ?"),
                    (role, _time(disabled_at), user_id),
                )
            else:
                cur.execute(
                    self._q(
                        "UPDATE staff_users SET role = ?, disabled_at = ?, password_hash = ? "
                        "WHERE user_id = ?"
                    ),
                    (role, _time(disabled_at), password_hash, user_id),
                )
            return cur.rowcount > 0

    # -- sessions ------------------------------------------------------------------------
    def add_staff_session(self, session: StaffSession, token_hash: str) -> None:
        with self._write() as cur:
            cur.execute(
                self._q("DELETE FROM staff_sessions WHERE expires_at < ?"),
                (format_time(session.created_at),),
            )
            cur.execute(
                self._q(
                    "INSERT INTO staff_sessions (token_hash, user_id, csrf_token, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?)"
                ),
                (
                    token_hash,
                    session.user_id,
                    session.csrf_token,
                    format_time(session.created_at),
                    format_time(session.expires_at),
                ),
            )

    def staff_session(self, token_hash: str) -> StaffSession | None:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT user_id, csrf_token, created_at, expires_at FROM staff_sessions "
                    "WHERE token_hash = ?"
                ),
                (token_hash,),
            )
            row = cur.fetchone()
        if row is None:
            return None
        user_id, csrf, created, expires = row
        return StaffSession(
            user_id, csrf, parse_time(created, "created_at"), parse_time(expires, "expires_at")
        )

    def end_staff_sessions(
        self, *, token_hash: str | None = None, user_id: str | None = None
    ) -> None:
        with self._write() as cur:
            if token_hash is not None:
                cur.execute(
                    self._q("DELETE FROM staff_sessions WHERE token_hash = ?"), (token_hash,)
                )
            if user_id is not None:
                cur.execute(self._q("DELETE FROM staff_sessions WHERE user_id = ?"), (user_id,))

    # -- the contact policy as edited ------------------------------------------------------
    def add_policy_version(self, body: dict[str, Any], changed_by: str, at: datetime) -> int:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO policy_versions (body, changed_by, at) VALUES (?, ?, ?) "
                    "RETURNING version"
                ),
                (orjson.dumps(body).decode(), changed_by, format_time(at)),
            )
            return int(cur.fetchone()[0])

    def policy_versions(self, limit: int) -> list[PolicyVersion]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT version, body, changed_by, at FROM policy_versions "
                    "ORDER BY version DESC LIMIT ?"
                ),
                (limit,),
            )
            return [
                PolicyVersion(int(v), orjson.loads(b), str(by), parse_time(at, "at"))
                for v, b, by, at in cur.fetchall()
            ]

    # -- what the Studio's previews and effects read ---------------------------------------
    def last_decision(self, subject: str, channel: str, since: datetime) -> DecisionRecord | None:
        self._decisions_written(subjects=(subject,))
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT decision_id, subject, channel, at, chosen, conversation_id, body "
                    "FROM decisions WHERE subject = ? AND channel = ? AND at > ? "
                    "AND chosen <> '[]' ORDER BY at DESC LIMIT 1"
                ),
                (subject, channel, format_time(since)),
            )
            row = cur.fetchone()
        if row is None:
            return None
        decision_id, subject, channel, at, chosen, conversation_id, body = row
        return DecisionRecord(
            decision_id,
            subject,
            channel,
            _parse(at),
            tuple((str(a), str(p)) for a, p in orjson.loads(chosen)),
            conversation_id,
            orjson.loads(body),
        )

    def consent_traits(self, limit: int) -> list[object]:
        with self._read() as cur:
            cur.execute(
                self._q("SELECT state FROM profiles ORDER BY updated_at DESC LIMIT ?"), (limit,)
            )
            rows = cur.fetchall()
        found: list[object] = []
        for (state,) in rows:
            trait = orjson.loads(state).get("traits", {}).get("consent")
            found.append(trait[0] if isinstance(trait, list) and trait else None)
        return found

    def rule_errors(self, limit: int) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        self._decisions_written()
        with self._read() as cur:
            cur.execute(
                self._q("SELECT body FROM decisions WHERE body LIKE ? ORDER BY at DESC LIMIT ?"),
                ('%"errors":[{%', limit),
            )
            for (body,) in cur.fetchall():
                for error in orjson.loads(body).get("errors", []):
                    count, message = found.get(error["action_id"], (0, error["message"]))
                    found[error["action_id"]] = (count + 1, message)
        return found

    def recent_profile_ids(self, limit: int) -> list[str]:
        with self._read() as cur:
            cur.execute(
                self._q("SELECT profile_id FROM profiles ORDER BY updated_at DESC LIMIT ?"),
                (limit,),
            )
            return [str(pid) for (pid,) in cur.fetchall()]

    def contacts_between(
        self, since: datetime, until: datetime, delivery_events: Collection[str]
    ) -> list[tuple[str, Contact]]:
        start, end = format_time(since), format_time(until)
        found: list[tuple[str, Contact]] = []
        wanted = set(delivery_events)
        self._decisions_written()
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT subject, channel, at, chosen FROM decisions "
                    "WHERE at > ? AND at <= ? AND chosen <> '[]'"
                ),
                (start, end),
            )
            for subject, channel, at, chosen in cur.fetchall():
                moment = _parse(at)
                for action_id, purpose in orjson.loads(chosen):
                    found.append((subject, Contact(action_id, channel, purpose, moment)))
            if wanted:
                # a LIKE on the stored JSON finds the delivery events in the engine, on both
                # backends, without shipping every outbound event's body to Python
                names = sorted(wanted)
                marks = ",".join("?" * len(_OUTBOUND))
                likes = " OR ".join("body LIKE ? ESCAPE '!'" for _ in names)
                cur.execute(
                    self._q(
                        "SELECT profile_id, channel, ts FROM events WHERE type = 'track' "
                        f"AND channel IN ({marks}) AND ts > ? AND ts <= ? "
                        f"AND profile_id IS NOT NULL AND ({likes})"
                    ),
                    (*_OUTBOUND, start, end, *(_pattern(n) for n in names)),
                )
                for profile_id, channel, ts in cur.fetchall():
                    contact = Contact("delivered", channel, MARKETING, _parse(ts))
                    found.append((profile_id, contact))
        found.sort(key=lambda pair: pair[1].at)
        return found


def _pattern(event: str) -> str:
    """``Email Delivered`` → ``%"event":"Email Delivered"%`` (LIKE's wildcards escaped)."""
    quoted = orjson.dumps({"event": event}).decode()[1:-1]
    return "%" + quoted.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _parse(moment: str) -> datetime:
    """A stored time (fixed-width ISO 8601 UTC, as :func:`format_time` writes it)."""
    return datetime.fromisoformat(moment)


def _user(row: Sequence[Any]) -> StaffUser:
    user_id, name, role, created, disabled = row
    return StaffUser(
        str(user_id),
        str(name),
        str(role),
        parse_time(created, "created_at"),
        None if disabled is None else parse_time(disabled, "disabled_at"),
    )


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)
