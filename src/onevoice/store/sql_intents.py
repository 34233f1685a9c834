"""The SQL of intent: per-person state and scores, and versioned definitions and models.

A mixin of :class:`onevoice.store.sql.SqlStore`. Intent rows are keyed by profile id:
written in the processing step's own transaction (so a replayed step never counts an
event twice), deleted with a merged-away person, and by :meth:`delete_intents` on erasure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from onevoice.domain.events import Event, format_time, parse_time
from onevoice.services.ports import IntentModelRecord, ProcessedBatch, StoredIntents
from onevoice.store.sql_part import SqlPart, dumps

if TYPE_CHECKING:
    from onevoice.store.sql import Cursor

_CHUNK = 500


class IntentsSql(SqlPart):
    """Intent's part of the ``Store`` port, in SQL both backends share."""

    # -- per person ------------------------------------------------------------------------
    def _write_intents(self, cur: Cursor, batch: ProcessedBatch) -> None:
        """Inside ``commit_batch``: drop merged-away people's rows, upsert the batch's."""
        if batch.merges:
            cur.executemany(
                self._q("DELETE FROM intent_states WHERE profile_id = ?"),
                [(m.loser,) for m in batch.merges],
            )
        if batch.intents:
            self._upsert_intents(cur, batch.intents)

    def put_intents(self, rows: dict[str, StoredIntents]) -> None:
        with self._write() as cur:
            self._upsert_intents(cur, rows)

    def _upsert_intents(self, cur: Cursor, rows: dict[str, StoredIntents]) -> None:
        cur.executemany(
            self._q(
                "INSERT INTO intent_states (profile_id, state, scores, scored_at, model_version) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile_id) DO UPDATE SET "
                "state = excluded.state, scores = excluded.scores, "
                "scored_at = excluded.scored_at, model_version = excluded.model_version"
            ),
            [
                (
                    pid,
                    dumps(i.state),
                    dumps([[n, s, list(r)] for n, s, r in i.scores]),
                    format_time(i.scored_at),
                    i.model_version,
                )
                for pid, i in rows.items()
            ],
        )

    def load_intents(self, profile_ids: Collection[str]) -> dict[str, StoredIntents]:
        found: dict[str, StoredIntents] = {}
        ids = list(profile_ids)
        with self._read() as cur:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                cur.execute(
                    self._q(
                        "SELECT profile_id, state, scores, scored_at, model_version "
                        f"FROM intent_states WHERE profile_id IN ({self._marks(len(chunk))})"
                    ),
                    chunk,
                )
                for pid, state, scores, scored_at, version in cur.fetchall():
                    found[pid] = StoredIntents(
                        orjson.loads(state),
                        tuple((n, float(s), tuple(r)) for n, s, r in orjson.loads(scores)),
                        parse_time(scored_at, "scored_at"),
                        int(version),
                    )
        return found

    def delete_intents(self, profile_ids: Collection[str]) -> int:
        deleted = 0
        ids = list(profile_ids)
        with self._write() as cur:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                cur.execute(
                    self._q(
                        f"DELETE FROM intent_states WHERE profile_id IN ({self._marks(len(chunk))})"
                    ),
                    chunk,
                )
                deleted += max(cur.rowcount, 0)
        return deleted

    # -- models ----------------------------------------------------------------------------
    def add_intent_model(
        self, kind: str, body: dict[str, Any], metrics: dict[str, Any], at: datetime
    ) -> int:
        with self._write() as cur:
            cur.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM intent_models")
            version = int(cur.fetchone()[0])
            cur.execute(
                self._q(
                    "INSERT INTO intent_models (version, kind, body, metrics, created_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (version, kind, dumps(body), dumps(metrics), format_time(at)),
            )
        return version

    def intent_model_version(self) -> int:
        with self._read() as cur:
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM intent_models")
            return int(cur.fetchone()[0])

    def load_intent_model(self, version: int | None = None) -> IntentModelRecord | None:
        with self._read() as cur:
            if version is None:
                cur.execute(
                    "SELECT version, kind, body, metrics, created_at FROM intent_models "
                    "ORDER BY version DESC LIMIT 1"
                )
            else:
                cur.execute(
                    self._q(
                        "SELECT version, kind, body, metrics, created_at FROM intent_models "
                        "WHERE version = ?"
                    ),
                    (version,),
                )
            row = cur.fetchone()
        if row is None:
            return None
        v, kind, body, metrics, created = row
        return IntentModelRecord(
            int(v), kind, orjson.loads(body), orjson.loads(metrics), parse_time(created, "at")
        )

    # -- history for training ------------------------------------------------------------------
    def processed_history(self, chunk: int = 20_000) -> Iterator[tuple[str, list[Event]]]:
        """Pages through processed events by (profile_id, seq); one person at a time."""
        after: tuple[str, int] = ("", 0)
        person: str | None = None
        events: list[Event] = []
        while True:
            with self._read() as cur:
                cur.execute(
                    self._q(
                        "SELECT profile_id, seq, body FROM events WHERE profile_id IS NOT NULL "
                        "AND (profile_id > ? OR (profile_id = ? AND seq > ?)) "
                        "ORDER BY profile_id, seq LIMIT ?"
                    ),
                    (after[0], after[0], after[1], chunk),
                )
                rows = cur.fetchall()
            for pid, seq, body in rows:
                if pid != person:
                    if person is not None:
                        yield person, sorted(events, key=lambda e: e.timestamp)
                    person, events = pid, []
                events.append(Event.from_record(orjson.loads(body)))
                after = (pid, int(seq))
            if len(rows) < chunk:
                break
        if person is not None:
            yield person, sorted(events, key=lambda e: e.timestamp)
