"""Tombstones: keyed hashes of an erased person's identifiers.

Collect, import and the simulator all store events through the collector, which asks
:meth:`Tombstones.admit` first: an event carrying a tombstoned identifier is dropped
before it is stored — so an erased person is not collected or imported again — unless the
event itself gives consent again (an ``identify`` with a granted ``consent`` trait or a
``Consent Updated`` track with ``granted: true``), which lifts the tombstone.

A tombstone is ``HMAC(secret, "tombstone|" + match key)``: it names no one without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Collection, Sequence

from onevoice.domain.consent import grants_consent
from onevoice.domain.events import Event
from onevoice.domain.identifiers import ANONYMOUS_ID, USER_ID, Identifier, match_key
from onevoice.services.ports import Store


def tombstone_of(match_key: str, secret: bytes) -> str:
    digest = hmac.new(secret, f"tombstone|{match_key}".encode(), hashlib.sha256).hexdigest()
    return f"t:{digest[:48]}"


class Tombstones:
    """Checks events against the tombstones (cheap while there are none)."""

    def __init__(
        self,
        store: Store,
        key_of: Callable[[Identifier], str],
        secret: bytes,
        *,
        ttl: float = 2.0,
        previous: Collection[bytes] = (),
    ) -> None:
        self._store = store
        self._key_of = key_of
        self._secret = secret
        self._previous = tuple(previous)
        self._ttl = ttl
        self._any_until = 0.0
        self._any = True
        self._lock = threading.Lock()
        self.suppressed = 0

    def of_key(self, match_key: str) -> str:
        return tombstone_of(match_key, self._secret)

    def of(self, identifier: Identifier) -> str:
        return self.of_key(self._key_of(identifier))

    def changed(self) -> None:
        """A tombstone was added here: check the store on the next event."""
        with self._lock:
            self._any_until = 0.0

    def _maybe_any(self) -> bool:
        """Whether any tombstone exists (re-read every ``ttl`` seconds: an erasure on
        another replica reaches this one's collector within that time)."""
        now = time.monotonic()
        with self._lock:
            if now < self._any_until:
                return self._any
        found = self._store.has_tombstones()
        with self._lock:
            self._any, self._any_until = found, now + self._ttl
        return found

    def _keys(self, event: Event) -> set[str]:
        identifiers = list(event.identifiers)
        if event.previous_id:
            identifiers += [
                Identifier(ANONYMOUS_ID, event.previous_id),
                Identifier(USER_ID, event.previous_id),
            ]
        keys = {self.of(i) for i in identifiers}
        for old in self._previous:  # tombstones made before the key was rotated
            keys |= {tombstone_of(match_key(i, old), old) for i in identifiers}
        return keys

    def admit(self, events: Sequence[Event]) -> list[Event]:
        """The events that may be stored; a consent-giving event lifts its tombstones."""
        if not events or not self._maybe_any():
            return list(events)
        keys = [self._keys(e) for e in events]
        dead = self._store.tombstoned(set().union(*keys))
        if not dead:
            return list(events)
        kept: list[Event] = []
        lift: set[str] = set()
        for event, event_keys in zip(events, keys, strict=True):
            hit = event_keys & dead
            if not hit:
                kept.append(event)
            elif grants_consent(event):
                kept.append(event)
                lift |= hit
        if lift:
            self._store.lift_tombstones(lift)
        with self._lock:
            self.suppressed += len(events) - len(kept)
        return kept
