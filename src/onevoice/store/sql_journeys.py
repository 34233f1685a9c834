"""The SQL journeys read: filed events, oldest first, streamed in chunks.

A mixin of :class:`onevoice.store.sql.SqlStore`. Only events already filed under a person
are journeys' material (the processor files them within moments of arrival).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from onevoice.domain.events import format_time
from onevoice.store.sql_part import SqlPart

if TYPE_CHECKING:
    pass


class JourneysSql(SqlPart):
    """The journeys' part of the ``Store`` port, in SQL both backends share."""

    def event_records(
        self, since: datetime | None, until: datetime | None, *, chunk: int = 20_000
    ) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        low = format_time(since) if since else ""
        high = format_time(until) if until else "9999"
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT profile_id, body FROM events WHERE profile_id IS NOT NULL "
                    "AND ts >= ? AND ts < ? ORDER BY seq"
                ),
                (low, high),
            )
            while True:
                rows = cur.fetchmany(chunk)
                if not rows:
                    return
                yield [(str(pid), orjson.loads(body)) for pid, body in rows]

    def shown_actions(
        self, since: datetime | None, until: datetime | None
    ) -> list[tuple[str, str, str, str]]:
        low = format_time(since) if since else ""
        high = format_time(until) if until else "9999"
        self._decisions_written()
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT conversation_id, subject, channel, chosen FROM decisions "
                    "WHERE conversation_id IS NOT NULL AND chosen <> '[]' AND at >= ? AND at < ?"
                ),
                (low, high),
            )
            return [
                (str(conversation), str(subject), str(channel), str(action_id))
                for conversation, subject, channel, chosen in cur.fetchall()
                for action_id, _purpose in orjson.loads(chosen)
            ]
