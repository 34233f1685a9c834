"""What every part of the SQL store uses from the store that assembles them.

The store is one class, :class:`~onevoice.store.sql.SqlStore`, built from one mixin per
concern (deciding, intents, journeys, respect, reports, the Studio), each in its own
module. Each mixin derives from :class:`SqlPart`, which names what the assembled store
provides: a write transaction, a read cursor, ``?`` placeholders rewritten for the
backend, a list of placeholders, and which backend it is.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

if TYPE_CHECKING:
    from onevoice.store.sql import Cursor
    from onevoice.store.write_behind import DecisionQueue


class PreparedDecision(NamedTuple):
    """A decision's row, serialised and ready to insert, as the log's writer queues it."""

    decision_id: str
    subject: str
    row: tuple[Any, ...]


class SqlPart:
    """The assembled store's primitives, as the mixins see them (``SqlStore`` has them)."""

    backend: str
    #: the decision log's background writer when the log is written behind the answer
    _decisions_behind: DecisionQueue[PreparedDecision] | None = None

    def _write(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one write transaction, committed when the block ends."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Cursor]:
        """A cursor for reading (this thread's connection)."""
        raise NotImplementedError

    def _write_deferred(self) -> AbstractContextManager[Cursor]:
        """A write transaction whose disk flush may follow the commit within the store's
        bounded window (the decision log, when ``ONEVOICE_DECISION_LOG_FLUSH_MS`` > 0);
        otherwise exactly :meth:`_write`."""
        return self._write()

    def _decisions_written(
        self, *, subjects: Collection[str] | None = None, ids: Collection[str] | None = None
    ) -> None:
        """Call first in every method that reads or rewrites the decision log: it waits
        until the queued rows of ``subjects`` or ``ids`` (neither: all) are committed, so
        nothing this process logged is missed (free when the log is written first)."""
        if self._decisions_behind is not None:
            self._decisions_behind.written(subjects=subjects, ids=ids)

    def _q(self, sql: str) -> str:
        """``sql`` with ``?`` placeholders in the backend's own style."""
        raise NotImplementedError

    def _marks(self, n: int) -> str:
        """``n`` placeholders for an ``IN (…)`` list."""
        raise NotImplementedError


def dumps(value: Any) -> str:
    """Compact JSON text, as every JSON column is stored."""
    return orjson.dumps(value).decode()
