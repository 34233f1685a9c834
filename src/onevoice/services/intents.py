"""Intent as a use case: fold each processed event into its person's intent state, keep
their scores current, serve them decayed to now, and swap in newer models as they land.

The processor calls :meth:`Intents.fold` once per batch; the result goes into the same
transaction as the batch's profiles. Every process polls the store's newest model version
(at most every ``poll_seconds``) and hot-swaps to it, so ``onevoice train intents`` in
one process reaches a running server without a restart. With no trained model the hand
rules of the definitions score (cold start); with no definitions there are no intents.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from onevoice.domain.events import Event
from onevoice.domain.intent import (
    Definitions,
    IntentModel,
    IntentScore,
    IntentState,
    LinearModel,
    decayed,
    fold,
    merge,
    parse_definitions,
)
from onevoice.services.clock import Clock
from onevoice.services.ports import IntentModelRecord, Store, StoredIntents

HOUR = 3600.0


def model_from_record(record: IntentModelRecord | None) -> IntentModel:
    """The domain model of a stored version (the empty model when there is none)."""
    if record is None:
        return IntentModel()
    definitions = parse_definitions(record.body["definitions"])
    models = {name: LinearModel.from_record(m) for name, m in record.body.get("models", {}).items()}
    return IntentModel(definitions, models, record.version)


class Intents:
    """Live intent scores for every person, from the newest stored definitions and model."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        poll_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._poll = poll_seconds
        self._monotonic = monotonic
        self._model = IntentModel()
        self._checked: float | None = None
        self._lock = threading.Lock()

    # -- the model in force --------------------------------------------------------------------
    @property
    def model(self) -> IntentModel:
        """The model in force, after a poll for a newer version if one is due."""
        self.refresh()
        return self._model

    def refresh(self, *, force: bool = False) -> bool:
        """Swap to the newest stored version if it changed; ``True`` when it did."""
        now = self._monotonic()
        if not force and self._checked is not None and now - self._checked < self._poll:
            return False
        with self._lock:
            self._checked = now
            newest = self._store.intent_model_version()
            if newest == self._model.version:
                return False
            self._model = model_from_record(self._store.load_intent_model(newest))
            return True

    def load_definitions(self, doc: object, *, keep_models: bool = False) -> int:
        """Store ``doc`` as the newest version (hand rules until trained); its number."""
        definitions = parse_definitions(doc)
        body: dict[str, Any] = {"definitions": definitions.to_record(), "models": {}}
        kind = "rules"
        if keep_models:
            current = self.model
            names = set(definitions.names())
            body["models"] = {n: m.to_record() for n, m in current.models.items() if n in names}
            kind = "trained" if body["models"] else "rules"
        version = self._store.add_intent_model(kind, body, {}, self._clock())
        self.refresh(force=True)
        return version

    def save_models(self, models: Mapping[str, LinearModel], metrics: dict[str, Any]) -> int:
        """Store trained ``models`` for the definitions in force as the newest version."""
        definitions = self.model.definitions
        body = {
            "definitions": definitions.to_record(),
            "models": {name: m.to_record() for name, m in models.items()},
        }
        kind = "trained" if models else "rules"
        version = self._store.add_intent_model(kind, body, metrics, self._clock())
        self.refresh(force=True)
        return version

    def definitions(self) -> Definitions:
        return self.model.definitions

    # -- processing ------------------------------------------------------------------------------
    def fold(
        self,
        touched: Collection[str],
        current: Callable[[str], str],
        events_of: Mapping[str, list[Event]],
    ) -> dict[str, StoredIntents]:
        """The new intent rows of a batch: stored states (merged people combined), each
        person's events folded in, scores at their latest event."""
        model = self.model
        if not model.definitions.intents:
            return {}
        half_lives = model.definitions.feature_half_lives
        states: dict[str, IntentState] = {}
        latest: dict[str, float] = {}
        for pid, stored in self._store.load_intents(touched).items():
            state = IntentState.from_record(stored.state)
            into = current(pid)
            states[into] = merge(states[into], state) if into in states else state
            if state.last_at is not None:
                latest[into] = max(latest.get(into, state.last_at), state.last_at)
        rows: dict[str, StoredIntents] = {}
        for pid, events in events_of.items():
            state = states.get(pid) or IntentState(half_lives)
            seen = fold(
                state, events, model.definitions.ignore_events, outcomes=model.definitions.intents
            )
            at = max(latest.get(pid, seen or 0.0), seen or 0.0)
            rows[pid] = _row(state, model.score(state, at), at, model.version)
        for pid, state in states.items():  # merged people without events of their own here
            if pid not in rows and state.last_at is not None:
                rows[pid] = _row(
                    state, model.score(state, state.last_at), state.last_at, model.version
                )
        return rows

    def rebuild(self, profile_ids: Collection[str]) -> None:
        """Recompute these people's intents from their events (after a merge is undone)."""
        model = self.model
        if not model.definitions.intents:
            return
        rows: dict[str, StoredIntents] = {}
        for pid in profile_ids:
            events = sorted(
                (e for _seq, e in self._store.events_of(pid)), key=lambda e: e.timestamp
            )
            state = IntentState(model.definitions.feature_half_lives)
            at = fold(
                state, events, model.definitions.ignore_events, outcomes=model.definitions.intents
            )
            if at is not None:
                rows[pid] = _row(state, model.score(state, at), at, model.version)
        self._store.delete_intents(list(profile_ids))
        if rows:
            self._store.put_intents(rows)

    # -- reading -----------------------------------------------------------------------------------
    def scores(self, profile_id: str, now: datetime | None = None) -> tuple[IntentScore, ...]:
        """The person's intents decayed to ``now`` (default: the clock), best first."""
        model = self.model
        if not model.definitions.intents:
            return ()
        stored = self._store.load_intents([profile_id]).get(profile_id)
        if stored is None:
            return tuple(IntentScore(d.name, 0.0) for d in model.definitions.intents)
        scored_at = stored.scored_at.timestamp() / HOUR
        if stored.model_version == model.version:
            raw = tuple(IntentScore(n, s, r) for n, s, r in stored.scores)
        else:  # scored by an older model: score the stored state again with this one
            raw = model.score(IntentState.from_record(stored.state), scored_at)
        hours = ((now or self._clock()).timestamp() / HOUR) - scored_at
        half_life = {d.name: d.half_life_hours for d in model.definitions.intents}
        known = [s for s in raw if s.name in half_life]
        missing = [IntentScore(n, 0.0) for n in half_life if n not in {s.name for s in known}]
        out = [
            IntentScore(s.name, round(decayed(s.score, hours, half_life[s.name]), 4), s.reasons)
            for s in known
        ]
        out.sort(key=lambda s: -s.score)
        return (*out, *missing)

    def view(self, profile_id: str) -> list[dict[str, Any]]:
        """What ``GET /v1/profiles/{id}`` shows as ``intents``."""
        return [
            {"name": s.name, "score": s.score, "reasons": list(s.reasons)}
            for s in self.scores(profile_id)
        ]

    def names(self) -> tuple[str, ...]:
        return self.model.definitions.names()


def _row(
    state: IntentState, scores: tuple[IntentScore, ...], at: float, version: int
) -> StoredIntents:
    return StoredIntents(
        state.to_record(),
        tuple((s.name, round(s.score, 6), s.reasons) for s in scores),
        datetime.fromtimestamp(at * HOUR, UTC),
        version,
    )
