"""The SQL of the reports: the few fields of each decision over a period (extracted by the
database's own JSON functions, never by parsing whole bodies in Python), its responses,
and the orders of the customers it was about (read by profile, on the events' index).

A mixin of :class:`onevoice.store.sql.SqlStore`, like :mod:`.sql_decisions`; the JSON
functions differ between SQLite and PostgreSQL, the rest is shared.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from onevoice.domain.events import format_time
from onevoice.services.ports import DecisionFact
from onevoice.store.sql_part import SqlPart

if TYPE_CHECKING:
    pass

_CHUNK = 500
# holdout, component and features as one small JSON array (one parse of the body); the
# withheld action (`withheld`, or in records written before it among the `candidates`) is
# looked up only in the few decisions a random control withheld something
_FACTS = {
    "sqlite": (
        "SELECT decision_id, subject, channel, at, chosen, "
        "json_extract(body, '$.holdout', '$.component', '$.features'), "
        "CASE WHEN instr(body, '\"control\":true') > 0 THEN COALESCE("
        "json_extract(body, '$.withheld[0]'), "
        "(SELECT json_extract(c.value, '$.action_id') FROM json_each(body, '$.candidates') c "
        " WHERE json_extract(c.value, '$.control') = 1 LIMIT 1)) END "
        "FROM decisions WHERE at >= ? AND at < ? ORDER BY at, decision_id"
    ),
    "postgres": (
        "SELECT decision_id, subject, channel, at, chosen, "
        "jsonb_build_array(b->'holdout', b->'component', b->'features')::text, "
        "CASE WHEN position('\"control\":true' in body) > 0 THEN COALESCE("
        "b->'withheld'->>0, "
        "(SELECT c->>'action_id' FROM jsonb_array_elements(b->'candidates') c "
        " WHERE (c->>'control')::boolean LIMIT 1)) END "
        "FROM (SELECT decision_id, subject, channel, at, chosen, body, body::jsonb AS b "
        "      FROM decisions WHERE at >= ? AND at < ?) d ORDER BY at, decision_id"
    ),
}
_PROPERTIES = {
    "sqlite": "json_extract(body, '$.properties')",
    "postgres": "body::jsonb->'properties'",
}


def _time(text: str) -> datetime:
    """A stored time (fixed-width ISO 8601 UTC, written by the store itself)."""
    return datetime.fromisoformat(text)


def _fact(
    decision_id: str, subject: str, channel: str, at: str, chosen: str, packed: str,
    withheld: str | None,
) -> DecisionFact:  # fmt: skip
    holdout, component, features = orjson.loads(packed)
    lifecycle = next(
        (k.partition("=")[2] for k in (features or {}) if k.startswith("lifecycle=")), None
    )
    return DecisionFact(
        str(decision_id),
        str(subject),
        str(channel),
        _time(at),
        tuple((str(a), str(p)) for a, p in orjson.loads(chosen)),
        bool(holdout),
        withheld,
        component if isinstance(component, str) else None,
        lifecycle,
    )


class ReportsSql(SqlPart):
    """The reports' part of the ``Store`` port."""

    def decision_facts_between(self, since: datetime, until: datetime) -> list[DecisionFact]:
        self._decisions_written()
        with self._read() as cur:
            cur.execute(self._q(_FACTS[self._dialect()]), (format_time(since), format_time(until)))
            rows = cur.fetchall()
        return [_fact(*row) for row in rows]

    def responses_between(self, since: datetime, until: datetime) -> list[tuple[str, str, str]]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT decision_id, action_id, outcome FROM responses WHERE at >= ? AND at < ?"
                ),
                (format_time(since), format_time(until)),
            )
            return [(str(d), str(a), str(o)) for d, a, o in cur.fetchall()]

    def orders_of(
        self, profile_ids: Collection[str], names: Collection[str], since: datetime,
        until: datetime,
    ) -> list[tuple[str, datetime, dict[str, Any]]]:  # fmt: skip
        ids: Sequence[str] = sorted(profile_ids)
        wanted = sorted(names)
        if not ids or not wanted:
            return []
        properties = _PROPERTIES[self._dialect()]
        event = "json_extract(body, '$.event')" if self._dialect() == "sqlite" else (
            "body::jsonb->>'event'")  # fmt: skip
        found: list[tuple[str, datetime, dict[str, Any]]] = []
        with self._read() as cur:
            for begin in range(0, len(ids), _CHUNK):
                chunk = ids[begin : begin + _CHUNK]
                cur.execute(
                    self._q(
                        f"SELECT profile_id, ts, {properties} FROM events "
                        f"WHERE profile_id IN ({self._marks(len(chunk))}) AND type = 'track' "
                        f"AND ts >= ? AND ts < ? AND {event} IN ({self._marks(len(wanted))})"
                    ),
                    (*chunk, format_time(since), format_time(until), *wanted),
                )
                for profile_id, ts, props in cur.fetchall():
                    if isinstance(props, str):
                        props = orjson.loads(props)
                    found.append((str(profile_id), _time(ts), props or {}))
        return found

    def _dialect(self) -> str:
        return "postgres" if self.backend == "postgres" else "sqlite"
