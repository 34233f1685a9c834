"""Rotating ``ONEVOICE_SECRET_KEY``: re-hash every email and phone under the new key.

The identity graph matches email and phone by ``HMAC(secret, type:value)``. Rotation reads
each person's raw identifiers (kept in the profile for exactly this and for erasure),
computes the old and new keys, and moves the graph's nodes — plus the stored key
fingerprint, and the stored key itself when the database keeps it — in one transaction.

Two things cannot be re-hashed, because their raw values are gone by design: tombstones of
erased people and the decision-log subjects of customers asked about before they were
known. They stay valid while the old key is listed in ``ONEVOICE_PREVIOUS_SECRET_KEYS``.
Stop every onevoice process first: a running one still hashes with the old key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from typing import Any

from onevoice.domain.errors import InvalidInput
from onevoice.domain.identifiers import PERSONAL_TYPES, Identifier, match_key
from onevoice.services.ports import Store

_PAGE = 2000


def fingerprint(secret: bytes) -> str:
    return hmac.new(secret, b"onevoice secret fingerprint", hashlib.sha256).hexdigest()[:16]


def rotate(
    store: Store,
    old: bytes,
    new: bytes,
    *,
    unique_types: Collection[str],
    key_in_database: bool,
) -> dict[str, Any]:
    """Re-hash every personal identifier from ``old`` to ``new``; return what was done."""
    if len(new) < 16:
        raise InvalidInput("the new key must be at least 16 characters", field="new_key")
    if new == old:
        raise InvalidInput("the new key is the current key", field="new_key")
    moves: list[tuple[str, str]] = []
    people = 0
    after = ""
    while page := store.identifiers_page(after, _PAGE):
        people += len(page)
        after = page[-1][0]
        for _pid, identifiers in page:
            for id_type, value in identifiers:
                if id_type in PERSONAL_TYPES:
                    identifier = Identifier(id_type, value)
                    moves.append((match_key(identifier, old), match_key(identifier, new)))
    meta = [("secret_fingerprint", fingerprint(new))]
    if key_in_database:
        meta.append(("secret_key", new.decode()))
    moved = store.rekey(moves, meta, uniques=bool(PERSONAL_TYPES & set(unique_types)))
    return {
        "profiles": people,
        "identifiers_rehashed": len(moves),
        "nodes_moved": moved,
        "key_stored_in_database": key_in_database,
        "next": "start onevoice with the new ONEVOICE_SECRET_KEY and the old one in "
        "ONEVOICE_PREVIOUS_SECRET_KEYS (tombstones and old decision subjects use it)"
        if not key_in_database
        else "the database keeps the new key; keep the old one in "
        "ONEVOICE_PREVIOUS_SECRET_KEYS (tombstones and old decision subjects use it)",
    }
