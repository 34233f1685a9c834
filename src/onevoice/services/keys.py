"""API keys: per source, by kind, revocable. Only a hash of each key is stored."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from onevoice.domain.errors import InvalidInput, NotFound, Unauthorized
from onevoice.services.clock import Clock
from onevoice.services.ports import KeyRecord, Store

KINDS = ("write", "server", "admin")
#: What each kind may do; admin may do everything.
ALLOWED: dict[str, frozenset[str]] = {
    "write": frozenset({"write"}),
    "server": frozenset({"server"}),
    "admin": frozenset({"write", "server", "admin"}),
}


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Keys:
    """Creates, checks and revokes keys. Checks are cached for ``ttl`` seconds."""

    def __init__(self, store: Store, clock: Clock, *, ttl: float = 2.0) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._lock = threading.Lock()

    def create(self, kind: str, name: str) -> tuple[KeyRecord, str]:
        """Make a key; returns its record and the secret token (shown once)."""
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
        if not name.strip():
            raise InvalidInput("a key needs a name (the source it is for)", field="name")
        token = f"ov{kind[0]}_{secrets.token_urlsafe(24)}"
        record = KeyRecord(f"key_{secrets.token_hex(6)}", kind, name.strip(), self._clock(), None)
        self._store.add_key(record, hash_key(token))
        return record, token

    def revoke(self, key_id: str) -> None:
        if not self._store.revoke_key(key_id, self._clock()):
            raise NotFound(f"no active key {key_id!r}", field="key_id")
        with self._lock:
            self._cache.clear()

    def list(self) -> list[KeyRecord]:
        return self._store.list_keys()

    def check(self, token: str | None, need: str) -> KeyRecord:
        """The key's record if ``token`` is a live key allowed to do ``need``."""
        if not token:
            raise Unauthorized("an API key is required", field="authorization")
        digest = hash_key(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is None or hit[0] < now:
            record = self._store.find_key(digest)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (now + self._ttl, record)
        else:
            record = hit[1]
        return _allowed(record, need)

    def check_cached(self, token: str | None, need: str) -> KeyRecord | None:
        """``check`` when it needs no database read (raising as it would); None when the
        key must be looked up. The API calls it on its event loop, ``check`` in a thread."""
        if not token:
            raise Unauthorized("an API key is required", field="authorization")
        with self._lock:
            hit = self._cache.get(hash_key(token))
        if hit is None or hit[0] < time.monotonic():
            return None
        return _allowed(hit[1], need)


def _allowed(record: KeyRecord | None, need: str) -> KeyRecord:
    if record is None or record.revoked_at is not None:
        raise Unauthorized("unknown or revoked API key", field="authorization")
    if need not in ALLOWED[record.kind]:
        raise Unauthorized(
            f"a {record.kind} key cannot be used here; this needs a {need} key",
            field="authorization",
        )
    return record
