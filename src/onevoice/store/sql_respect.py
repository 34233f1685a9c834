"""The SQL of respect: the consent ledger, own budgets, tombstones, the audit log, erasure.

A mixin of :class:`onevoice.store.sql.SqlStore` (connections, ``?`` rewrite). Every table
that holds rows tied to one person is listed once, in :data:`PERSON_TABLES`: erasure
deletes from each of them, so a new table of per-person data is erasable by adding one line
there. Table and column names in SQL come only from that constant, never from input.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from onevoice.domain.consent import ConsentChange
from onevoice.domain.events import format_time, parse_time
from onevoice.services.ports import AuditEntry, Budget, DecisionRecord, ResponseRecord
from onevoice.store.sql_part import SqlPart

if TYPE_CHECKING:
    from onevoice.store.sql import Cursor

#: (table, column naming the person): every store table with per-person rows. The column
#: holds a profile id (or, for decisions and responses, the decision's subject: a profile
#: id, or ``ref:<hash>`` of the identifier asked about before the person was known).
#: Children before parents; a table listed twice is searched by both columns.
PERSON_TABLES: tuple[tuple[str, str], ...] = (
    ("responses", "subject"),
    ("decisions", "subject"),
    ("consent_ledger", "profile_id"),
    ("intent_states", "profile_id"),
    ("contact_budgets", "profile_id"),
    ("refusals", "profile_id"),
    ("refusals", "other_profile_id"),
    ("merges", "winner"),
    ("merges", "loser"),
    ("events", "profile_id"),
    ("nodes", "profile_id"),
    ("profiles", "profile_id"),
)
_CHUNK = 500


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


class RespectSql(SqlPart):
    """Respect's part of the ``Store`` port, in SQL both backends share."""

    # -- the consent ledger ------------------------------------------------------------------
    def _insert_consent(self, cur: Cursor, rows: Sequence[tuple[str, ConsentChange]]) -> None:
        cur.executemany(
            self._q(
                "INSERT INTO consent_ledger (profile_id, purpose, channel, granted, source, "
                "legal_basis, at, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING"
            ),
            [
                (
                    pid,
                    c.purpose,
                    c.channel,
                    int(c.granted),
                    c.source,
                    c.legal_basis,
                    format_time(c.at),
                    c.message_id,
                )
                for pid, c in rows
            ],
        )

    def add_consent(self, profile_id: str, changes: Sequence[ConsentChange]) -> None:
        with self._write() as cur:
            self._insert_consent(cur, [(profile_id, c) for c in changes])

    def consent_of(self, profile_id: str) -> list[ConsentChange]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT purpose, channel, granted, source, legal_basis, at, message_id "
                    "FROM consent_ledger WHERE profile_id = ? ORDER BY at, entry_id"
                ),
                (profile_id,),
            )
            return [
                ConsentChange(p, c, bool(g), s, b, parse_time(at, "at"), m)
                for p, c, g, s, b, at, m in cur.fetchall()
            ]

    # -- own budgets -------------------------------------------------------------------------
    def set_budget(self, profile_id: str, budget: Budget) -> None:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO contact_budgets (profile_id, channel, period, max_contacts, at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile_id, channel, period) DO UPDATE "
                    "SET max_contacts = excluded.max_contacts, at = excluded.at"
                ),
                (
                    profile_id,
                    budget.channel,
                    budget.period,
                    budget.max_contacts,
                    format_time(budget.at),
                ),
            )

    def budgets_of(self, profile_id: str) -> list[Budget]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT channel, period, max_contacts, at FROM contact_budgets "
                    "WHERE profile_id = ? ORDER BY channel, period"
                ),
                (profile_id,),
            )
            return [Budget(c, p, int(m), parse_time(at, "at")) for c, p, m, at in cur.fetchall()]

    # -- tombstones --------------------------------------------------------------------------
    def tombstoned(self, keys: Collection[str]) -> set[str]:
        found: set[str] = set()
        with self._read() as cur:
            for chunk in _chunks(sorted(keys)):
                cur.execute(
                    self._q(f"SELECT key FROM tombstones WHERE key IN ({self._marks(len(chunk))})"),
                    chunk,
                )
                found.update(str(k) for (k,) in cur.fetchall())
        return found

    def has_tombstones(self) -> bool:
        with self._read() as cur:
            cur.execute("SELECT 1 FROM tombstones LIMIT 1")
            return cur.fetchone() is not None

    def lift_tombstones(self, keys: Collection[str]) -> int:
        lifted = 0
        with self._write() as cur:
            for chunk in _chunks(sorted(keys)):
                cur.execute(
                    self._q(f"DELETE FROM tombstones WHERE key IN ({self._marks(len(chunk))})"),
                    chunk,
                )
                lifted += max(cur.rowcount, 0)
        return lifted

    # -- the audit log -----------------------------------------------------------------------
    def add_audit(self, entry: AuditEntry) -> None:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO audit_log (at, actor, action, target, detail) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (
                    format_time(entry.at),
                    entry.actor,
                    entry.action,
                    entry.target,
                    orjson.dumps(entry.detail).decode(),
                ),
            )

    def audit_log(self, limit: int, before: int | None) -> list[AuditEntry]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT audit_id, at, actor, action, target, detail FROM audit_log "
                    "WHERE audit_id < ? ORDER BY audit_id DESC LIMIT ?"
                ),
                (before if before is not None else 2**62, limit),
            )
            return [
                AuditEntry(parse_time(at, "at"), actor, action, target, orjson.loads(d), int(aid))
                for aid, at, actor, action, target, d in cur.fetchall()
            ]

    # -- what a person sees of the decision log ------------------------------------------------
    def decisions_of(self, subjects: Collection[str], limit: int) -> list[DecisionRecord]:
        from onevoice.store.sql_decisions import _DECISION_COLUMNS, _decision

        wanted = sorted(subjects)[:_CHUNK]
        if not wanted:
            return []
        self._decisions_written(subjects=wanted)
        with self._read() as cur:
            cur.execute(
                self._q(
                    f"SELECT {_DECISION_COLUMNS} FROM decisions "
                    f"WHERE subject IN ({self._marks(len(wanted))}) ORDER BY at DESC LIMIT ?"
                ),
                [*wanted, limit],
            )
            return [_decision(row) for row in cur.fetchall()]

    def responses_of(self, subjects: Collection[str]) -> list[ResponseRecord]:
        wanted = sorted(subjects)[:_CHUNK]
        if not wanted:
            return []
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT decision_id, action_id, outcome, subject, channel, conversation_id, "
                    f"value, at FROM responses WHERE subject IN ({self._marks(len(wanted))}) "
                    "ORDER BY at"
                ),
                wanted,
            )
            return [
                ResponseRecord(d, a, o, s, c, conv, v, parse_time(at, "at"))
                for d, a, o, s, c, conv, v, at in cur.fetchall()
            ]

    def response_log(self) -> list[tuple[str, str, str, datetime]]:
        with self._read() as cur:
            cur.execute(
                "SELECT decision_id, action_id, outcome, at FROM responses "
                "ORDER BY at, decision_id, action_id"
            )
            return [(d, a, o, parse_time(at, "at")) for d, a, o, at in cur.fetchall()]

    def features_of(self, decision_ids: Collection[str]) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = {}
        self._decisions_written(ids=decision_ids)
        with self._read() as cur:
            for chunk in _chunks(sorted(decision_ids)):
                cur.execute(
                    self._q(
                        "SELECT decision_id, body FROM decisions "
                        f"WHERE decision_id IN ({self._marks(len(chunk))})"
                    ),
                    chunk,
                )
                for decision_id, body in cur.fetchall():
                    found[decision_id] = orjson.loads(body).get("features", {})
        return found

    # -- key rotation ------------------------------------------------------------------------
    def identifiers_page(self, after: str, limit: int) -> list[tuple[str, list[tuple[str, str]]]]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT profile_id, identifiers FROM profiles WHERE profile_id > ? "
                    "ORDER BY profile_id LIMIT ?"
                ),
                (after, limit),
            )
            return [(p, [(t, v) for t, v in orjson.loads(i)]) for p, i in cur.fetchall()]

    def rekey(
        self, moves: Sequence[tuple[str, str]], meta: Sequence[tuple[str, str]], uniques: bool
    ) -> int:
        moved = 0
        with self._write() as cur:
            for old, new in moves:
                cur.execute(self._q("UPDATE nodes SET key = ? WHERE key = ?"), (new, old))
                moved += max(cur.rowcount, 0)
                if uniques:  # personal types configured as unique: their keys sit in uniques
                    cur.execute(
                        self._q(
                            "UPDATE profiles SET uniques = REPLACE(uniques, ?, ?) "
                            "WHERE uniques LIKE ?"
                        ),
                        (old, new, f"%{old}%"),
                    )
            cur.executemany(
                self._q(
                    "INSERT INTO meta (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                ),
                list(meta),
            )
        return moved

    # -- erasure -----------------------------------------------------------------------------
    def erase(
        self, ids: Collection[str], tombstones: Collection[str], at: datetime
    ) -> dict[str, int]:
        removed: dict[str, int] = {}
        wanted = sorted(ids)
        self._decisions_written(subjects=wanted)  # no queued row comes back after the delete
        with self._write() as cur:
            for table, column in PERSON_TABLES:
                for chunk in _chunks(wanted):
                    cur.execute(
                        self._q(
                            f"DELETE FROM {table} WHERE {column} IN ({self._marks(len(chunk))})"
                        ),
                        chunk,
                    )
                    removed[table] = removed.get(table, 0) + max(cur.rowcount, 0)
            cur.executemany(
                self._q("INSERT INTO tombstones (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING"),
                [(key, format_time(at)) for key in sorted(tombstones)],
            )
        return removed

    def scrub(self, thorough: bool = True) -> list[str]:
        return []


def person_tables() -> list[str]:
    """The tables erasure touches, each once, in order."""
    seen: dict[str, Any] = {}
    for table, _column in PERSON_TABLES:
        seen.setdefault(table, None)
    return list(seen)
