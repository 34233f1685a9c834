"""The SQL of the reports: the decision log and its responses over a period, and the
orders of the customers it was about (read by profile, on the events' profile index).

A mixin of :class:`onevoice.store.sql.SqlStore`, like :mod:`.sql_decisions`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from onevoice.domain.events import Event, format_time
from onevoice.services.ports import DecisionRecord
from onevoice.store.sql_decisions import _DECISION_COLUMNS, _decision

if TYPE_CHECKING:
    from onevoice.store.sql import Cursor

_CHUNK = 500


class ReportsSql:
    """The reports' part of the ``Store`` port."""

    def _read(self) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        raise NotImplementedError

    def decisions_between(self, since: datetime, until: datetime) -> list[DecisionRecord]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE at >= ? AND at < ? "
                    "ORDER BY at"
                ),
                (format_time(since), format_time(until)),
            )
            return [_decision(row) for row in cur.fetchall()]

    def responses_between(self, since: datetime, until: datetime) -> list[tuple[str, str, str]]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT decision_id, action_id, outcome FROM responses WHERE at >= ? AND at < ?"
                ),
                (format_time(since), format_time(until)),
            )
            return [(str(d), str(a), str(o)) for d, a, o in cur.fetchall()]

    def track_events_of(
        self, profile_ids: Collection[str], since: datetime, until: datetime
    ) -> list[tuple[str, Event]]:
        ids: Sequence[str] = sorted(profile_ids)
        found: list[tuple[str, Event]] = []
        with self._read() as cur:
            for begin in range(0, len(ids), _CHUNK):
                chunk = ids[begin : begin + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                cur.execute(
                    self._q(
                        f"SELECT profile_id, body FROM events WHERE profile_id IN ({marks}) "
                        "AND type = 'track' AND ts >= ? AND ts < ?"
                    ),
                    (*chunk, format_time(since), format_time(until)),
                )
                found.extend(
                    (str(p), Event.from_record(orjson.loads(body))) for p, body in cur.fetchall()
                )
        return found
