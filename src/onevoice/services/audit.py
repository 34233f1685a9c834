"""The audit log: who did which admin or erasure action, when, to what.

Entries never hold raw personal data: an erased person is named by the keyed hash of the
identifier asked for (see :mod:`onevoice.services.tombstones`).
"""

from __future__ import annotations

from typing import Any

from onevoice.domain.errors import InvalidInput
from onevoice.services.clock import Clock
from onevoice.services.ports import AuditEntry, Store

MAX_PAGE = 1000


class Audit:
    """Appends to and reads the audit log."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(self, actor: str, action: str, target: str, **detail: Any) -> None:
        self._store.add_audit(AuditEntry(self._clock(), actor, action, target, detail))

    def entries(self, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Newest first; ``before`` (an ``audit_id``) pages back."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        return self._store.audit_log(limit, before)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "audit_id": entry.audit_id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }
