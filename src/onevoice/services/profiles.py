"""Looking people up by any identifier, their timeline, and undoing a merge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onevoice.domain import identifiers as ids
from onevoice.domain import profiles
from onevoice.domain.errors import Conflict, InvalidInput, NotFound
from onevoice.domain.events import format_time
from onevoice.domain.identifiers import Identifier
from onevoice.domain.identity import IdentityRules, PersonIdentity, goes_back
from onevoice.domain.profiles import ProfileRules
from onevoice.services.clock import Clock
from onevoice.services.ports import MergeRecord, Store, StoredProfile, UndoPlan

PROFILE_ID_TYPES = ("profile", "profile_id", "profileId")


@dataclass(frozen=True, slots=True)
class TimelinePage:
    events: list[dict[str, Any]]
    next_cursor: str | None


class Profiles:
    """Read side of the listening post."""

    def __init__(
        self,
        store: Store,
        key_of: Callable[[Identifier], str],
        clock: Clock,
        *,
        sync: Callable[[], None] = lambda: None,
        profile_rules: ProfileRules = ProfileRules(),
        identity_rules: IdentityRules = IdentityRules(),
        lock: Any = None,
        intents: Callable[[str], list[dict[str, Any]]] = lambda _profile_id: [],
        on_undo: Callable[[list[str]], None] = lambda _profile_ids: None,
    ) -> None:
        self._store = store
        self._key_of = key_of
        self._clock = clock
        self._sync = sync
        self._rules = profile_rules
        self._identity_rules = identity_rules
        self._lock = lock
        self._intents = intents
        self._on_undo = on_undo

    def resolve(self, reference: str) -> str:
        """The current profile id for ``type:value`` (or ``profile:<id>``); NotFound if none."""
        self._sync()
        id_type, _sep, value = reference.partition(":")
        if id_type in PROFILE_ID_TYPES:
            found = self._store.current_profile_id(value)
        else:
            found = self._store.profile_id_for_key(self._key_of(ids.parse(reference)))
        if found is None:
            raise NotFound(f"no profile for {reference!r}", field="identifier")
        return found

    def get(self, reference: str) -> StoredProfile:
        if reference.partition(":")[0] in PROFILE_ID_TYPES:
            stored = self._store.get_profile(self.resolve(reference))
        else:  # by identifier: one read (each decide starts here)
            self._sync()
            stored = self._store.profile_for_key(self._key_of(ids.parse(reference)))
        if stored is None:
            raise NotFound(f"no profile for {reference!r}", field="identifier")
        return stored

    def view(self, reference: str) -> dict[str, Any]:
        """The profile as the API shows it."""
        stored = self.get(reference)
        state = stored.state
        when = self._clock()
        return {
            "profile_id": stored.profile_id,
            "identifiers": [{"type": i.type, "value": i.value} for i in stored.identifiers],
            "traits": {k: t.value for k, t in sorted(state.traits.items())},
            "trait_sources": {
                k: {"channel": t.channel, "at": format_time(t.at), "message_id": t.message_id}
                for k, t in sorted(state.traits.items())
            },
            "channels": sorted(state.channels),
            "channel_stats": {
                k: {
                    "events": c.count,
                    "first_seen": format_time(c.first_seen),
                    "last_seen": format_time(c.last_seen),
                }
                for k, c in sorted(state.channels.items())
            },
            "first_seen": _fmt(state.first_seen),
            "last_seen": _fmt(state.last_seen),
            "event_count": state.event_count,
            "orders": state.orders,
            "lifetime_value": state.lifetime_value,
            "last_order_at": _fmt(state.last_order_at),
            "lifecycle_stage": profiles.lifecycle_stage(
                state, (i.type for i in stored.identifiers), when, self._rules
            ),
            "intents": self._intents(stored.profile_id),
        }

    def timeline(self, reference: str, limit: int = 50, cursor: str | None = None) -> TimelinePage:
        """The person's events on every channel, newest first, ``limit`` at a time."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000", field="limit")
        before = _parse_cursor(cursor) if cursor else None
        profile_id = self.resolve(reference)
        rows = self._store.timeline(profile_id, limit + 1, before)
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            seq, record = page[-1]
            next_cursor = f"{record['timestamp']}|{seq}"
        return TimelinePage([record for _seq, record in page], next_cursor)

    def merges(self, reference: str) -> list[MergeRecord]:
        return self._store.merges_of(self.resolve(reference))

    def undo_merge(self, merge_id: int) -> tuple[str, str]:
        """Split a merge: the merged-away person gets back its identifiers and events.

        The two are then blocked from merging again automatically. Returns the ids of
        (the person that stays, the person restored).
        """
        if self._lock is None:
            return self._undo(merge_id)
        with self._lock:
            return self._undo(merge_id)

    def _undo(self, merge_id: int) -> tuple[str, str]:
        self._sync()
        if not 0 < merge_id < 2**63:  # beyond a 64-bit id: no such merge (found by fuzzing)
            raise NotFound(f"no merge {merge_id}", field="merge_id")
        record = self._store.get_merge(merge_id)
        if record is None:
            raise NotFound(f"no merge {merge_id}", field="merge_id")
        if record.undone_at is not None:
            raise Conflict(f"merge {merge_id} was already undone", field="merge_id")
        merge = record.merge
        current = self._store.current_profile_id(merge.winner)
        if current is None:
            raise NotFound(f"the person of merge {merge_id} no longer exists", field="merge_id")
        tree = self._store.merge_tree(current)
        nodes = self._store.nodes_of(current)
        leaving = {n.key for n in nodes if goes_back(n.origin_profile_id, tree, merge)}
        [person] = self._store.load_people([current])
        back = [i for i in person.identifiers if self._key_of(i) in leaving]
        stay = [i for i in person.identifiers if self._key_of(i) not in leaving]
        unique = self._identity_rules.unique_types
        people = [
            PersonIdentity(
                current,
                {i.type: self._key_of(i) for i in stay if i.type in unique},
                stay,
                person.blocked | {merge.loser},
            ),
            PersonIdentity(
                merge.loser,
                {i.type: self._key_of(i) for i in back if i.type in unique},
                back,
                set(person.blocked) | {current, merge.winner},
            ),
        ]
        known = {n.key for n in nodes}
        event_moves: list[tuple[int, str]] = []
        states = {current: profiles.EMPTY, merge.loser: profiles.EMPTY}
        for seq, event in self._store.events_of(current):
            keys = [self._key_of(i) for i in event.identifiers]
            strongest = next((k for k in keys if k in known), None)
            owner = merge.loser if strongest in leaving else current
            if owner != current:
                event_moves.append((seq, owner))
            states[owner] = profiles.apply(states[owner], event, self._rules)
        self._store.apply_undo(
            UndoPlan(
                merge_id=merge_id,
                at=self._clock(),
                people=people,
                states=states,
                node_moves=[(k, merge.loser) for k in sorted(leaving)],
                event_moves=event_moves,
            )
        )
        self._on_undo([current, merge.loser])
        return current, merge.loser


def _parse_cursor(cursor: str) -> tuple[str, int]:
    ts, _sep, seq = cursor.rpartition("|")
    if not ts or not seq.isdigit():
        raise InvalidInput(f"cursor {cursor!r} is not one this API issued", field="cursor")
    return ts, int(seq)


def _fmt(moment: Any) -> str | None:
    return None if moment is None else format_time(moment)
