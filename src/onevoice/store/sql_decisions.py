"""The SQL of deciding: the action catalog, the decision log, responses, learner state.

A mixin of :class:`onevoice.store.sql.SqlStore`, which supplies connections and the
placeholder rewrite (``_write``, ``_read``, ``_q``). A decision that showed actions is a
contact of the customer; responses are kept once per (decision, action, outcome).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from onevoice.domain.events import format_time, parse_time
from onevoice.domain.policy import Contact, Response
from onevoice.services.ports import ContactLog, DecisionRecord, ResponseRecord
from onevoice.store.log_process import insert_rows
from onevoice.store.sql_part import PreparedDecision, SqlPart, dumps

if TYPE_CHECKING:
    pass

#: Impressions older than this are never scored as lapsed (the sweep reads recent ones).
LAPSE_HORIZON = timedelta(days=31)
_DECISION_COLUMNS = "decision_id, subject, channel, at, chosen, conversation_id, body"


class DecisionsSql(SqlPart):
    """Deciding's part of the ``Store`` port, in SQL both backends share."""

    # -- the catalog ---------------------------------------------------------------------
    def put_actions(self, actions: Sequence[tuple[str, dict[str, Any]]], at: datetime) -> None:
        with self._write() as cur:
            cur.executemany(
                self._q(
                    "INSERT INTO actions (action_id, body, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (action_id) DO UPDATE SET body = excluded.body, "
                    "updated_at = excluded.updated_at"
                ),
                [(action_id, dumps(body), format_time(at)) for action_id, body in actions],
            )

    def list_actions(self) -> list[dict[str, Any]]:
        with self._read() as cur:
            cur.execute("SELECT body FROM actions ORDER BY action_id")
            return [orjson.loads(body) for (body,) in cur.fetchall()]

    # -- the decision log ------------------------------------------------------------------
    def add_decision(self, record: DecisionRecord) -> None:
        self.add_decision_groups([[record]])

    def add_decision_groups(self, groups: Sequence[Sequence[DecisionRecord]]) -> list[int]:
        """Log the decisions of ``groups``: committed before this returns, or queued for the
        background writer when the log is written behind (:mod:`.write_behind`). Either
        way the rows are serialised here, in the deciding thread (see ``DecisionWriter``)."""
        records = [r for group in groups for r in group]
        utf8 = self._body_as_utf8()
        rows = [_decision_row(r, utf8) for r in records]
        behind = self._decisions_behind
        if behind is not None:
            pairs = zip(records, rows, strict=True)
            behind.put([PreparedDecision(r.decision_id, r.subject, row) for r, row in pairs])
        else:
            self._insert_decision_rows(rows)
        return [len(group) for group in groups]

    def _insert_prepared(self, prepared: Sequence[PreparedDecision]) -> None:
        """The background writer's commit of queued rows."""
        self._insert_decision_rows([p.row for p in prepared])

    def _insert_decision_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._write_deferred() as cur:
            insert_rows(cur.execute, rows, self._q(INSERT_DECISIONS), self._decision_values())

    def _insert_decision_rows_again(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows that may be in the log already (a writer that went may have committed
        them): those are skipped, never stored twice."""
        with self._write_deferred() as cur:
            insert = self._q(INSERT_DECISIONS)
            insert_rows(cur.execute, rows, insert, self._decision_values(), ALREADY_LOGGED)

    def _decision_values(self) -> str:
        """One row's placeholders in :data:`INSERT_DECISIONS`."""
        return self._q(_VALUES_UTF8_BODY if self._body_as_utf8() else _VALUES_TEXT_BODY)

    def _body_as_utf8(self) -> bool:
        """Whether a decision's body goes to the database as orjson's UTF-8 bytes, cast to
        TEXT in the INSERT (SQLite: the same text, stored as TEXT, without decoding ~30 KB
        into a str that the driver then encodes back to UTF-8 — a third of the log
        writer's CPU). PostgreSQL's driver is given the str."""
        return self.backend == "sqlite"

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        self._decisions_written(ids=(decision_id,))
        with self._read() as cur:
            cur.execute(
                self._q(f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE decision_id = ?"),
                (decision_id,),
            )
            row = cur.fetchone()
        return None if row is None else _decision(row)

    def add_response(self, record: ResponseRecord) -> bool:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO responses (decision_id, action_id, outcome, subject, channel, "
                    "conversation_id, value, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (decision_id, action_id, outcome) DO NOTHING"
                ),
                (
                    record.decision_id,
                    record.action_id,
                    record.outcome,
                    record.subject,
                    record.channel,
                    record.conversation_id,
                    record.value,
                    format_time(record.at),
                ),
            )
            return cur.rowcount > 0

    def outcomes_of(self, decision_id: str, action_id: str) -> list[str]:
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT outcome FROM responses WHERE decision_id = ? AND action_id = ? "
                    "ORDER BY at"
                ),
                (decision_id, action_id),
            )
            return [str(outcome) for (outcome,) in cur.fetchall()]

    def contact_log(
        self, subject: str, since: datetime, conversation_since: datetime
    ) -> ContactLog:
        self._decisions_written(subjects=(subject,))
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT decision_id, channel, at, chosen, conversation_id FROM decisions "
                    "WHERE subject = ? AND at > ? AND chosen <> '[]'"
                ),
                (subject, format_time(since)),
            )
            shown = [
                _Shown(decision_id, channel, at, chosen, conversation, parse_time(at, "at"))
                for decision_id, channel, at, chosen, conversation in cur.fetchall()
            ]
            contacts = tuple(
                Contact(action_id, s.channel, purpose, s.moment)
                for s in shown
                for action_id, purpose in orjson.loads(s.chosen)
            )
            cur.execute(
                self._q(
                    "SELECT action_id, channel, outcome, at FROM responses "
                    "WHERE subject = ? AND at > ?"
                ),
                (subject, format_time(since)),
            )
            responses = tuple(
                Response(action_id, channel, outcome, parse_time(at, "at"))
                for action_id, channel, outcome, at in cur.fetchall()
            )
            if conversation_since >= since:
                # a decision opens a conversation only when it shows something: the latest
                # one in the window is among the contacts just read
                opened = [
                    s
                    for s in shown
                    if s.conversation_id == s.decision_id and s.moment > conversation_since
                ]
                latest = max(opened, key=lambda s: s.moment, default=None)
                conversation = None if latest is None else _opened(latest, subject)
            else:
                cur.execute(  # not its body: 30 KB of JSON that one voice does not read
                    self._q(
                        "SELECT decision_id, subject, channel, at, chosen, conversation_id, '{}' "
                        "FROM decisions WHERE subject = ? AND at > ? "
                        "AND conversation_id = decision_id ORDER BY at DESC LIMIT 1"
                    ),
                    (subject, format_time(conversation_since)),
                )
                row = cur.fetchone()
                conversation = None if row is None else _decision(row)
            said: tuple[tuple[str, str, datetime], ...] = ()
            if conversation is not None:
                cur.execute(
                    self._q(
                        "SELECT outcome, channel, at FROM responses WHERE conversation_id = ? "
                        "ORDER BY at"
                    ),
                    (conversation.decision_id,),
                )
                said = tuple((o, c, parse_time(at, "at")) for o, c, at in cur.fetchall())
        return ContactLog(contacts, responses, conversation, said)

    def lapsed_impressions(self, decided_before: datetime, limit: int) -> list[tuple[str, str]]:
        self._decisions_written()
        with self._read() as cur:
            cur.execute(
                self._q(
                    "SELECT r.decision_id, r.action_id FROM responses r "
                    "JOIN decisions d ON d.decision_id = r.decision_id "
                    "WHERE r.outcome = 'impression' AND r.at > ? AND d.at < ? AND NOT EXISTS ("
                    "SELECT 1 FROM responses o WHERE o.decision_id = r.decision_id "
                    "AND o.action_id = r.action_id AND o.outcome <> 'impression') "
                    "ORDER BY d.at, r.decision_id, r.action_id LIMIT ?"
                ),
                (format_time(decided_before - LAPSE_HORIZON), format_time(decided_before), limit),
            )
            return [(str(d), str(a)) for d, a in cur.fetchall()]

    # -- learner state ---------------------------------------------------------------------
    def save_learner(self, name: str, state: dict[str, Any], at: datetime) -> None:
        with self._write() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO learners (name, state, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                    "updated_at = excluded.updated_at"
                ),
                (name, dumps(state), format_time(at)),
            )

    def load_learner(self, name: str) -> dict[str, Any] | None:
        with self._read() as cur:
            cur.execute(self._q("SELECT state FROM learners WHERE name = ?"), (name,))
            row = cur.fetchone()
        if row is None:
            return None
        state: dict[str, Any] = orjson.loads(row[0])
        return state


_VALUES_TEXT_BODY = "(?, ?, ?, ?, ?, ?, ?)"
_VALUES_UTF8_BODY = "(?, ?, ?, ?, ?, ?, CAST(? AS TEXT))"
#: The start of an INSERT of decision rows; one ``_VALUES_…`` per row follows.
INSERT_DECISIONS = f"INSERT INTO decisions ({_DECISION_COLUMNS}) VALUES "
#: What :data:`INSERT_DECISIONS` does with a decision already logged, when it may be.
ALREADY_LOGGED = " ON CONFLICT (decision_id) DO NOTHING"


def _decision_row(record: DecisionRecord, utf8: bool = False) -> tuple[Any, ...]:
    """The row to insert; ``utf8``: the body as JSON bytes (see ``_body_as_utf8``)."""
    return (
        record.decision_id,
        record.subject,
        record.channel,
        format_time(record.at),
        dumps([list(c) for c in record.chosen]),
        record.conversation_id,
        orjson.dumps(record.body) if utf8 else dumps(record.body),
    )


class _Shown(NamedTuple):
    """A decision that showed something, as the contact log reads it."""

    decision_id: str
    channel: str
    at: str
    chosen: str
    conversation_id: str | None
    moment: datetime


def _opened(shown: _Shown, subject: str) -> DecisionRecord:
    """The decision that opened a conversation, without its body (one voice reads none)."""
    row = (shown.decision_id, subject, shown.channel, shown.at, shown.chosen)
    return _decision((*row, shown.conversation_id, "{}"))


def _decision(row: Sequence[Any]) -> DecisionRecord:
    decision_id, subject, channel, at, chosen, conversation_id, body = row
    return DecisionRecord(
        decision_id,
        subject,
        channel,
        parse_time(at, "at"),
        tuple((str(a), str(p)) for a, p in orjson.loads(chosen)),
        conversation_id,
        orjson.loads(body),
    )
