"""The SQL both backends share. Each backend supplies connections and its placeholder.

Queries are written once with ``?`` placeholders; the PostgreSQL backend rewrites them to
``%s``. Everything both engines support (``ON CONFLICT``, recursive CTEs, partial
indexes) is used as is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

import orjson

from onevoice.domain.events import Event, format_time, parse_time
from onevoice.domain.identifiers import Identifier
from onevoice.domain.identity import Merge, Node, PersonIdentity
from onevoice.domain.profiles import ProfileState
from onevoice.services.ports import (
    KeyRecord,
    MergeRecord,
    ProcessedBatch,
    StaleBatch,
    StoredProfile,
    UndoPlan,
)
from onevoice.store.sql_decisions import DecisionsSql
from onevoice.store.sql_intents import IntentsSql
from onevoice.store.sql_journeys import JourneysSql
from onevoice.store.sql_reports import ReportsSql
from onevoice.store.sql_respect import RespectSql
from onevoice.store.sql_studio import StudioSql
from onevoice.store.write_behind import DecisionWriter

_CHUNK = 500


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: Any, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: Any, params: Any) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int = ...) -> list[Any]: ...


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


_EMPTY_STATE = dumps(ProfileState().to_record())


def _serialised(states: dict[str, ProfileState]) -> dict[str, str]:
    return {pid: dumps(state.to_record()) for pid, state in states.items()}


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlStore(DecisionsSql, JourneysSql, IntentsSql, RespectSql, ReportsSql, StudioSql):
    """The shared implementation of the ``Store`` port."""

    backend = "sql"
    placeholder = "?"
    #: ``events.body`` read as UTF-8 bytes where that saves building a str
    _body_bytes = "CAST(body AS BLOB)"

    # -- what a backend provides -------------------------------------------------------
    def _write(self) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    def _write_derived(self) -> AbstractContextManager[Cursor]:
        """A write of state derived from the durable event log (a processing batch): the
        backend may commit it without waiting for the disk. A crash can lose such a
        commit, never half of one, and what it derived is derived again from the events;
        any later durable commit makes it durable too (both logs are written in order)."""
        return self._write()

    def _read(self) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def write_decisions_behind(self, window: float) -> None:
        """Log decisions from a background writer that commits within ``window`` seconds
        (:mod:`onevoice.store.write_behind`); a backend's ``close`` drains it first."""
        self._decisions_behind = DecisionWriter(self._insert_prepared, window)

    def decides_without_waiting(self) -> bool:
        """SQLite (reads from the page cache, no network) with the log written behind."""
        return self.backend == "sqlite" and self._decisions_behind is not None

    def _drain_decisions(self) -> None:
        behind, self._decisions_behind = self._decisions_behind, None
        if behind is not None:
            behind.close()

    def _q(self, sql: str) -> str:
        if self.placeholder == "?":
            return sql
        # psycopg reads every ``%`` of a query with parameters: a literal one must be doubled
        return sql.replace("%", "%%").replace("?", self.placeholder)

    def _marks(self, n: int) -> str:
        """``n`` markers for an ``IN (…)`` list, inside SQL that goes through :meth:`_q`."""
        return ",".join("?" * n)

    # -- events ------------------------------------------------------------------------
    def append_events(self, events: Sequence[Event]) -> int:
        return self.append_event_groups([events])[0]

    def append_event_groups(self, groups: Sequence[Sequence[Event]]) -> list[int]:
        """One multi-row INSERT per :data:`_ROWS_PER_INSERT` events: ``executemany``
        binds and steps a statement per row, and that cost about as much again as the rows
        themselves (measured on SQLite: 12 → 9 µs per new event, 6 → 2 per duplicate)."""
        # rows are built before the write lock is taken: formatting is the slow part
        rows = [[event_row(e) for e in events] for events in groups]
        counts = []
        with self._write() as cur:
            for group in rows:
                count = 0
                for start in range(0, len(group), _ROWS_PER_INSERT):
                    chunk = group[start : start + _ROWS_PER_INSERT]
                    cur.execute(_insert_events(self.placeholder, len(chunk)), _flat(chunk))
                    count += max(cur.rowcount, 0)
                counts.append(count)
        return counts

    def read_events(self, after_seq: int, limit: int) -> list[tuple[int, Event]]:
        # the body as UTF-8 bytes, which orjson reads as they are: no str built per event
        sql = self._q(
            f"SELECT seq, {self._body_bytes} FROM events "
            "WHERE profile_id IS NULL AND seq > ? ORDER BY seq LIMIT ?"
        )
        with self._read() as cur:
            cur.execute(sql, (after_seq, limit))
            return [(seq, Event.from_record(loads(body))) for seq, body in cur.fetchall()]

    def last_seq(self) -> int:
        with self._read() as cur:
            cur.execute("SELECT COALESCE(MAX(seq), 0) FROM events")
            return int(cur.fetchone()[0])

    def cursor(self, name: str) -> int:
        with self._read() as cur:
            cur.execute(self._q("SELECT seq FROM cursors WHERE name = ?"), (name,))
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def count_events(self) -> int:
        with self._read() as cur:
            cur.execute("SELECT COUNT(*) FROM events")
            return int(cur.fetchone()[0])

    def count_profiles(self) -> int:
        with self._read() as cur:
            cur.execute("SELECT COUNT(*) FROM profiles")
            return int(cur.fetchone()[0])

    # -- identity and profiles -----------------------------------------------------------
    def load_identity(self, keys: Collection[str]) -> tuple[list[Node], list[PersonIdentity]]:
        nodes: list[Node] = []
        with self._read() as cur:
            for chunk in _chunks(list(keys)):
                cur.execute(
                    self._q(
                        "SELECT key, type, profile_id, origin_profile_id, seen_with, shared "
                        f"FROM nodes WHERE key IN ({self._marks(len(chunk))})"
                    ),
                    chunk,
                )
                nodes.extend(
                    Node(k, t, p, o, set(loads(s)), bool(sh))
                    for k, t, p, o, s, sh in cur.fetchall()
                )
        people = self.load_people({n.profile_id for n in nodes})
        return nodes, people

    def load_people(self, profile_ids: Collection[str]) -> list[PersonIdentity]:
        with self._read() as cur:
            return self._people(cur, profile_ids)

    def _people(self, cur: Cursor, profile_ids: Collection[str]) -> list[PersonIdentity]:
        """People read through ``cur`` (a write reads its own transaction, not a second one)."""
        people: list[PersonIdentity] = []
        for chunk in _chunks(list(profile_ids)):
            cur.execute(
                self._q(
                    "SELECT profile_id, uniques, identifiers, blocked FROM profiles "
                    f"WHERE profile_id IN ({self._marks(len(chunk))})"
                ),
                chunk,
            )
            people.extend(
                PersonIdentity(p, loads(u), [Identifier(t, v) for t, v in loads(i)], set(loads(b)))
                for p, u, i, b in cur.fetchall()
            )
        return people

    def load_states(self, profile_ids: Collection[str]) -> dict[str, ProfileState]:
        states: dict[str, ProfileState] = {}
        with self._read() as cur:
            for chunk in _chunks(list(profile_ids)):
                cur.execute(
                    self._q(
                        "SELECT profile_id, state FROM profiles "
                        f"WHERE profile_id IN ({self._marks(len(chunk))})"
                    ),
                    chunk,
                )
                for pid, state in cur.fetchall():
                    states[pid] = ProfileState.from_record(loads(state))
        return states

    def commit_batch(self, batch: ProcessedBatch, cursor_name: str) -> None:
        at = format_time(batch.at) if batch.at else ""
        # serialised before taking the write turn: the API's appends wait for the writes
        # alone, not for JSON being built
        node_rows = [
            (
                n.key,
                n.type,
                n.profile_id,
                n.origin_profile_id,
                dumps(sorted(n.seen_with)),
                int(n.shared),
            )
            for n in batch.nodes
        ]
        states = _serialised(batch.states)
        with self._write_derived() as cur:
            if batch.assignments:
                # claim the events first: if another processor filed any of them meanwhile,
                # this whole batch was computed from stale state and is rolled back
                claimed = self._claim_events(cur, batch.assignments)
                if claimed != len(batch.assignments):
                    raise StaleBatch(
                        f"{len(batch.assignments) - claimed} events of this batch were "
                        "processed by someone else"
                    )
            if batch.merges:
                cur.executemany(
                    self._q(
                        "INSERT INTO merges (winner, loser, rule, message_id, via, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    [(m.winner, m.loser, m.rule, m.message_id, m.via, at) for m in batch.merges],
                )
                moves = [(m.winner, m.loser) for m in batch.merges]
                cur.executemany(
                    self._q("UPDATE nodes SET profile_id = ? WHERE profile_id = ?"), moves
                )
                cur.executemany(
                    self._q("UPDATE events SET profile_id = ? WHERE profile_id = ?"), moves
                )
                cur.executemany(
                    self._q("UPDATE consent_ledger SET profile_id = ? WHERE profile_id = ?"), moves
                )
                # the loser's own budget moves only where the winner has none for that cap
                cur.executemany(
                    self._q(
                        "UPDATE contact_budgets SET profile_id = ? WHERE profile_id = ? AND NOT "
                        "EXISTS (SELECT 1 FROM contact_budgets b WHERE b.profile_id = ? AND "
                        "b.channel = contact_budgets.channel AND b.period = contact_budgets.period)"
                    ),
                    [(w, lo, w) for w, lo in moves],
                )
                cur.executemany(
                    self._q("DELETE FROM contact_budgets WHERE profile_id = ?"),
                    [(lo,) for _w, lo in moves],
                )
                cur.executemany(
                    self._q("DELETE FROM profiles WHERE profile_id = ?"),
                    [(m.loser,) for m in batch.merges],
                )
            if batch.refusals:
                cur.executemany(
                    self._q(
                        "INSERT INTO refusals (profile_id, other_profile_id, reason, message_id, "
                        "via, at) VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    [
                        (r.profile_id, r.other_profile_id, r.reason, r.message_id, r.via, at)
                        for r in batch.refusals
                    ],
                )
            if batch.nodes:
                cur.executemany(
                    self._q(
                        "INSERT INTO nodes (key, type, profile_id, origin_profile_id, seen_with, "
                        "shared) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                        "profile_id = excluded.profile_id, seen_with = excluded.seen_with, "
                        "shared = excluded.shared"
                    ),
                    node_rows,
                )
            self._upsert_people(cur, batch.people, states, at)
            self._write_intents(cur, batch)
            if batch.consents:
                self._insert_consent(cur, batch.consents)
            cur.execute(
                self._q(
                    "INSERT INTO cursors (name, seq) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq"
                ),
                (cursor_name, batch.last_seq),
            )

    def _claim_events(self, cur: Cursor, assignments: Sequence[tuple[int, str]]) -> int:
        """File events under people, only those still unfiled; how many were.

        One ``UPDATE … FROM (VALUES …)`` per :data:`_ROWS_PER_INSERT` events, not one
        statement per event (each of which SQLite binds, steps and resets)."""
        claimed = 0
        for start in range(0, len(assignments), _ROWS_PER_INSERT):
            chunk = assignments[start : start + _ROWS_PER_INSERT]
            cur.execute(_claim(len(chunk)), _flat(chunk))
            claimed += max(cur.rowcount, 0)
        return claimed

    def _update_states(self, cur: Cursor, rows: Sequence[tuple[str, str, str]]) -> int:
        """(state, updated_at, profile_id) rows; how many profiles were there to update."""
        cur.executemany(
            self._q("UPDATE profiles SET state = ?, updated_at = ? WHERE profile_id = ?"), rows
        )
        return max(cur.rowcount, 0)

    def _upsert_people(
        self,
        cur: Cursor,
        people: Sequence[PersonIdentity],
        states: dict[str, str],
        at: str,
    ) -> None:
        """``states``: each person's serialised state (:func:`_serialised`)."""
        by_id = {p.profile_id: p for p in people}
        # most of a batch is known people with new events: only their state changes, so
        # they get an UPDATE of the state alone (no identity read and rewritten as is)
        only_state = [(state, at, pid) for pid, state in states.items() if pid not in by_id]
        if only_state and self._update_states(cur, only_state) != len(only_state):
            # gone meanwhile (erased): as before, the people still there are written whole,
            # and a person no longer there is not
            missing = [pid for _state, _at, pid in only_state]
            by_id.update((p.profile_id, p) for p in self._people(cur, missing))
        rows = []
        for pid, person in by_id.items():
            state = states.get(pid)
            rows.append(
                (
                    pid,
                    dumps(person.uniques),
                    dumps([[i.type, i.value] for i in person.identifiers]),
                    dumps(sorted(person.blocked)),
                    state if state is not None else _EMPTY_STATE,
                    at,
                    1 if state is not None else 0,
                )
            )
        if not rows:
            return
        cur.executemany(
            self._q(
                "INSERT INTO profiles (profile_id, uniques, identifiers, blocked, state, "
                "updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (profile_id) DO UPDATE SET "
                "uniques = excluded.uniques, identifiers = excluded.identifiers, "
                "blocked = excluded.blocked, updated_at = excluded.updated_at, "
                "state = CASE WHEN ? = 1 THEN excluded.state ELSE profiles.state END"
            ),
            rows,
        )

    def profile_id_for_key(self, key: str) -> str | None:
        with self._read() as cur:
            cur.execute(self._q("SELECT profile_id FROM nodes WHERE key = ?"), (key,))
            row = cur.fetchone()
            return str(row[0]) if row else None

    def current_profile_id(self, profile_id: str) -> str | None:
        with self._read() as cur:
            seen = profile_id
            for _ in range(1000):
                cur.execute(self._q("SELECT 1 FROM profiles WHERE profile_id = ?"), (seen,))
                if cur.fetchone():
                    return seen
                cur.execute(
                    self._q("SELECT winner FROM merges WHERE loser = ? AND undone_at IS NULL"),
                    (seen,),
                )
                row = cur.fetchone()
                if row is None:
                    return None
                seen = str(row[0])
        return None

    def get_profile(self, profile_id: str) -> StoredProfile | None:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT profile_id, identifiers, state, updated_at FROM profiles "
                    "WHERE profile_id = ?"
                ),
                (profile_id,),
            )
            return _stored_profile(cur.fetchone())

    def profile_for_key(self, key: str) -> StoredProfile | None:
        with self._read() as cur:  # one statement where id, then profile, took two
            cur.execute(
                self._q(
                    "SELECT p.profile_id, p.identifiers, p.state, p.updated_at FROM nodes n "
                    "JOIN profiles p ON p.profile_id = n.profile_id WHERE n.key = ?"
                ),
                (key,),
            )
            return _stored_profile(cur.fetchone())

    def timeline(
        self, profile_id: str, limit: int, before: tuple[str, int] | None
    ) -> list[tuple[int, dict[str, Any]]]:
        with self._read() as cur:
            if before is None:
                cur.execute(
                    self._q(
                        "SELECT seq, ts, body FROM events WHERE profile_id = ? "
                        "ORDER BY ts DESC, seq DESC LIMIT ?"
                    ),
                    (profile_id, limit),
                )
            else:
                ts, seq = before
                cur.execute(
                    self._q(
                        "SELECT seq, ts, body FROM events WHERE profile_id = ? "
                        "AND (ts < ? OR (ts = ? AND seq < ?)) ORDER BY ts DESC, seq DESC LIMIT ?"
                    ),
                    (profile_id, ts, ts, seq, limit),
                )
            return [(seq, loads(body)) for seq, _ts, body in cur.fetchall()]

    def events_of(self, profile_id: str) -> list[tuple[int, Event]]:
        with self._read() as cur:
            cur.execute(
                self._q("SELECT seq, body FROM events WHERE profile_id = ? ORDER BY seq"),
                (profile_id,),
            )
            return [(seq, Event.from_record(loads(body))) for seq, body in cur.fetchall()]

    def nodes_of(self, profile_id: str) -> list[Node]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT key, type, profile_id, origin_profile_id, seen_with, shared "
                    "FROM nodes WHERE profile_id = ?"
                ),
                (profile_id,),
            )
            return [
                Node(k, t, p, o, set(loads(s)), bool(sh)) for k, t, p, o, s, sh in cur.fetchall()
            ]

    # -- merges ------------------------------------------------------------------------
    def _merge_rows(self, where: str, params: Sequence[Any]) -> list[MergeRecord]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT merge_id, winner, loser, rule, message_id, via, at, undone_at "
                    f"FROM merges WHERE {where} ORDER BY merge_id"
                ),
                params,
            )
            return [
                MergeRecord(
                    int(mid),
                    Merge(w, lo, rule, msg, via),
                    parse_time(at, "at"),
                    parse_time(undone, "undone_at") if undone else None,
                )
                for mid, w, lo, rule, msg, via, at, undone in cur.fetchall()
            ]

    def merges_of(self, profile_id: str) -> list[MergeRecord]:
        tree = self.merge_tree(profile_id)
        members = sorted({profile_id, *tree})
        return self._merge_rows(
            f"winner IN ({self._marks(len(members))}) OR loser IN ({self._marks(len(members))})",
            [*members, *members],
        )

    def get_merge(self, merge_id: int) -> MergeRecord | None:
        rows = self._merge_rows("merge_id = ?", (merge_id,))
        return rows[0] if rows else None

    def merge_tree(self, profile_id: str) -> dict[str, str]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "WITH RECURSIVE tree(loser, winner) AS ("
                    " SELECT loser, winner FROM merges WHERE winner = ? AND undone_at IS NULL"
                    " UNION SELECT m.loser, m.winner FROM merges m JOIN tree t"
                    " ON m.winner = t.loser WHERE m.undone_at IS NULL)"
                    " SELECT loser, winner FROM tree"
                ),
                (profile_id,),
            )
            return {str(lo): str(w) for lo, w in cur.fetchall()}

    def apply_undo(self, plan: UndoPlan) -> None:
        at = format_time(plan.at)
        with self._write() as cur:
            cur.execute(
                self._q("UPDATE merges SET undone_at = ? WHERE merge_id = ? AND undone_at IS NULL"),
                (at, plan.merge_id),
            )
            cur.executemany(
                self._q("UPDATE nodes SET profile_id = ? WHERE key = ?"),
                [(pid, key) for key, pid in plan.node_moves],
            )
            cur.executemany(
                self._q("UPDATE events SET profile_id = ? WHERE seq = ?"),
                [(pid, seq) for seq, pid in plan.event_moves],
            )
            cur.executemany(  # consent given in a moved event moves with it
                self._q(
                    "UPDATE consent_ledger SET profile_id = ? WHERE message_id = "
                    "(SELECT message_id FROM events WHERE seq = ?)"
                ),
                [(pid, seq) for seq, pid in plan.event_moves],
            )
            self._upsert_people(cur, plan.people, _serialised(plan.states), at)

    # -- keys and settings ----------------------------------------------------------------
    def add_key(self, record: KeyRecord, key_hash: str) -> None:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO api_keys (key_id, key_hash, kind, name, created_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (record.key_id, key_hash, record.kind, record.name, format_time(record.created_at)),
            )

    def _key_rows(self, where: str, params: Sequence[Any]) -> list[KeyRecord]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT key_id, kind, name, created_at, revoked_at FROM api_keys "
                    f"WHERE {where} ORDER BY created_at"
                ),
                params,
            )
            return [
                KeyRecord(
                    kid,
                    kind,
                    name,
                    parse_time(created, "created_at"),
                    parse_time(revoked, "revoked_at") if revoked else None,
                )
                for kid, kind, name, created, revoked in cur.fetchall()
            ]

    def find_key(self, key_hash: str) -> KeyRecord | None:
        rows = self._key_rows("key_hash = ?", (key_hash,))
        return rows[0] if rows else None

    def list_keys(self) -> list[KeyRecord]:
        return self._key_rows("1 = 1", ())

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"
                ),
                (format_time(at), key_id),
            )
            return cur.rowcount > 0

    def meta(self, name: str, default: str) -> str:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
                ),
                (name, default),
            )
            cur.execute(self._q("SELECT value FROM meta WHERE name = ?"), (name,))
            return str(cur.fetchone()[0])


def event_row(e: Event) -> tuple[str, str, str, str, str, str]:
    """The events row of one event (its record formats each time once, not twice; it is
    serialised at once and dropped, so it may share the event's mappings)."""
    r = e.to_record(copy=False)
    return (e.message_id, e.type, e.channel, r["timestamp"], r["receivedAt"], dumps(r))


#: Events per INSERT statement: 6 parameters each stay under SQLite's historical limit
#: of 999 parameters per statement.
_ROWS_PER_INSERT = 100


@lru_cache(maxsize=2 * _ROWS_PER_INSERT)
def _claim(n: int) -> str:
    """``UPDATE … FROM`` filing ``n`` (seq, profile_id) pairs, each only if still unfiled
    (SQLite: the planner walks the pairs and finds each event by its rowid)."""
    return (
        "UPDATE events SET profile_id = v.column2 FROM (VALUES "
        + ", ".join(["(?, ?)"] * n)
        + ") AS v WHERE events.seq = v.column1 AND events.profile_id IS NULL"
    )


@lru_cache(maxsize=2 * _ROWS_PER_INSERT)
def _insert_events(placeholder: str, n: int) -> str:
    """``INSERT … VALUES`` for ``n`` events that skips message ids already stored."""
    row = "(" + ", ".join([placeholder] * 6) + ")"
    return (
        "INSERT INTO events (message_id, type, channel, ts, received_at, body) VALUES "
        + ", ".join([row] * n)
        + " ON CONFLICT (message_id) DO NOTHING"
    )


def _flat(rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    return [value for row in rows for value in row]


def _stored_profile(row: Sequence[Any] | None) -> StoredProfile | None:
    """A profile from its row (profile_id, identifiers, state, updated_at), or None."""
    if row is None:
        return None
    identifiers = tuple(Identifier(t, v) for t, v in loads(row[1]))
    updated = parse_time(row[3], "updated_at") if row[3] else datetime.min
    return StoredProfile(str(row[0]), identifiers, ProfileState.from_record(loads(row[2])), updated)
