"""Processing: file each collected event under one person and keep the profile live.

Events wait in the log until processed; one processing step takes a batch of them,
resolves identities on an in-memory slice of the graph, folds the events into profile
states and writes everything (and the events' profile ids, which mark them processed)
in one transaction — so a crash mid-step redoes the step and never counts twice.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from onevoice.domain import profiles
from onevoice.domain.consent import changes_of
from onevoice.domain.events import Event
from onevoice.domain.identifiers import ANONYMOUS_ID, USER_ID, Identifier, priority
from onevoice.domain.identity import ALIAS, SAME_EVENT, IdentityGraph, IdentityRules
from onevoice.domain.profiles import ProfileRules, ProfileState
from onevoice.ops.heap import collector_paused
from onevoice.services.clock import Clock
from onevoice.services.intents import Intents
from onevoice.services.ports import ProcessedBatch, StaleBatch, Store

CURSOR = "profiles"
_RETRIES = 20
#: The largest step, in batch sizes, while a backlog is worked off (``run_until_idle``).
CATCH_UP_STEPS = 2


def new_profile_id() -> str:
    """Time-ordered ids, so the older person's id is the one that survives a merge."""
    return f"p{time.time_ns() // 1_000_000:011x}{os.urandom(5).hex()}"


@dataclass(frozen=True, slots=True)
class StepResult:
    events: int
    merges: int
    new_profiles: int


class Processor:
    """Turns the event log into identities and profiles, one batch at a time."""

    def __init__(
        self,
        store: Store,
        key_of: Callable[[Identifier], str],
        clock: Clock,
        *,
        identity_rules: IdentityRules = IdentityRules(),
        profile_rules: ProfileRules = ProfileRules(),
        batch_size: int = 2000,
        new_id: Callable[[], str] = new_profile_id,
        intents: Intents | None = None,
    ) -> None:
        self._store = store
        self._key_of = key_of
        self._clock = clock
        self._identity_rules = identity_rules
        self._profile_rules = profile_rules
        self._batch_size = batch_size
        self._new_id = new_id
        self._intents = intents
        # re-entrant; a child process's processor shares a wider one (processing_child)
        self.lock: AbstractContextManager[object] = threading.RLock()

    def step(self, size: int | None = None) -> StepResult:
        """Process one batch of waiting events (``size``, default the batch size);
        ``events == 0`` when none wait."""
        with self.lock, collector_paused():
            for _attempt in range(_RETRIES):
                rows = self._store.read_events(0, size or self._batch_size)
                if not rows:
                    return StepResult(0, 0, 0)
                try:
                    return self._process(rows)
                except StaleBatch:  # another process filed some of them first: read again
                    continue
            raise StaleBatch(f"gave up after {_RETRIES} batches raced another processor")

    def run_until_idle(self) -> int:
        """Process until no event waits; return how many were processed."""
        return sum(self.catch_up())

    def catch_up(self) -> Iterator[int]:
        """Process until no event waits, yielding each step's count (for progress).

        A backlog deeper than one step is worked off in steps that double, up to
        :data:`CATCH_UP_STEPS` batch sizes: a person's state, identity and index pages are
        read, folded and written once per step, so a larger step costs less per event (the
        1M-event replay: 56 → 46 s with steps of 10,000 rather than 5,000). The first step,
        and every step once the backlog is gone, is the batch size. (``serve``'s processor
        process takes one batch-size step at a time, between which an undo or an erasure
        may take its turn.)
        """
        size = self._batch_size
        while (done := self.step(size).events) > 0:
            yield done
            full = done >= size
            size = min(2 * size, CATCH_UP_STEPS * self._batch_size) if full else self._batch_size

    def _process(self, rows: list[tuple[int, Event]]) -> StepResult:
        keys: set[str] = set()
        for _seq, event in rows:
            keys.update(self._key_of(i) for i in event.identifiers)
            if event.previous_id:
                keys.update(self._key_of(i) for i in _alias_candidates(event.previous_id))
        graph = IdentityGraph(self._identity_rules, self._new_id, self._key_of)
        graph.load(*self._store.load_identity(keys))
        assigned: list[tuple[int, Event, str]] = []
        created = 0
        for seq, event in rows:
            identifiers = list(event.identifiers)
            rule = SAME_EVENT
            if event.type == "alias" and event.previous_id:
                identifiers.append(_previous(graph, event.previous_id))
                identifiers.sort(key=lambda i: (priority(i), i.type, i.value))
                rule = ALIAS
            resolution = graph.resolve(identifiers, event.message_id, rule=rule)
            created += resolution.created
            assigned.append((seq, event, resolution.profile_id))
        changes = graph.take_changes()
        final = [(seq, event, graph.current(pid)) for seq, event, pid in assigned]
        touched = {pid for _s, _e, pid in final} | {m.loser for m in changes.merges}
        states: dict[str, ProfileState] = {}
        for pid, state in self._store.load_states(touched).items():
            current = graph.current(pid)
            states[current] = profiles.merge(states.get(current, profiles.EMPTY), state)
        events_of: dict[str, list[Event]] = {}
        for _seq, event, pid in final:
            events_of.setdefault(pid, []).append(event)
        for pid, events in events_of.items():
            states[pid] = profiles.apply_all(
                states.get(pid, profiles.EMPTY), events, self._profile_rules
            )
        batch = ProcessedBatch(
            last_seq=rows[-1][0],
            nodes=changes.nodes,
            people=changes.people,
            states=states,
            merges=changes.merges,
            refusals=changes.refusals,
            assignments=[(seq, pid) for seq, _e, pid in final],
            at=self._clock(),
            consents=[(pid, c) for _seq, event, pid in final for c in changes_of(event)],
        )
        if self._intents is not None:  # each person's intents, in the same transaction
            batch.intents = self._intents.fold(touched, graph.current, events_of)
        self._store.commit_batch(batch, CURSOR)
        return StepResult(len(rows), len(changes.merges), created)


def _alias_candidates(previous_id: str) -> list[Identifier]:
    return [Identifier(ANONYMOUS_ID, previous_id), Identifier(USER_ID, previous_id)]


def _previous(graph: IdentityGraph, previous_id: str) -> Identifier:
    """``previousId`` names a known userId if there is one, else an anonymousId."""
    as_user = Identifier(USER_ID, previous_id)
    as_anonymous = Identifier(ANONYMOUS_ID, previous_id)
    if graph.key(as_anonymous) not in graph.nodes and graph.key(as_user) in graph.nodes:
        return as_user
    return as_anonymous


class BackgroundProcessor:
    """Runs a :class:`Processor` on a thread, woken whenever events are appended."""

    def __init__(self, processor: Processor, *, idle_wait: float = 1.0) -> None:
        self.processor = processor
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle_wait = idle_wait
        self._thread: threading.Thread | None = None
        self.errors = 0
        # appends notified / appends known processed: a read waits only when they differ
        self._appended = 1  # events may wait from before this process started
        self._processed = 0
        self._gen_lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="onevoice-processor", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Events were appended: wake the thread, and make the next read catch up."""
        with self._gen_lock:
            self._appended += 1
        self._wake.set()

    def sync(self) -> None:
        """Read-your-writes: what this process appended is processed before a read answers.

        Free when nothing was appended since the last idle moment (the usual case for a
        read), so a profile look-up costs no queue query and no lock.
        """
        target = self._appended
        if self._processed >= target:
            return
        self._catch_up()

    def caught_up(self) -> bool:
        """Whether a read would find nothing of this process's appends still waiting."""
        return self._processed >= self._appended

    def _catch_up(self) -> None:
        target = self._appended
        self.processor.run_until_idle()
        with self._gen_lock:
            self._processed = max(self._processed, target)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        import logging

        log = logging.getLogger("onevoice.processing")
        while not self._stop.is_set():
            self._wake.wait(self._idle_wait)
            self._wake.clear()
            try:
                self._catch_up()
            except Exception:  # isolation point: log, count, retry on the next wake
                self.errors += 1
                log.exception("processing step failed; it will be retried")
                time.sleep(0.5)
