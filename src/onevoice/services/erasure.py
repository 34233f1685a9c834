"""Erasure: forget a person everywhere onevoice keeps them, and say what was removed.

One erasure, in order:

1. every event already collected is processed, so the person's events are all filed;
2. their profile, the profiles merged into it, every identifier, event, consent change,
   budget, decision and response is deleted — in every table listed in
   :data:`onevoice.store.sql_respect.PERSON_TABLES` — and tombstones (keyed hashes) of
   their identifiers are written, in one transaction; no event of theirs remains, so the
   identity graph cannot link them again from old events;
3. learned state: their rewards are taken back out of count-based models exactly; a model
   that keeps no per-person statistics is retrained from the decision log, which no longer
   holds them (the report says which was done);
4. the raw files are scrubbed (SQLite: ``secure_delete`` + WAL truncation; PostgreSQL:
   VACUUM of the touched tables) and in-memory caches of identifiers are dropped;
5. the action goes to the audit log, naming the person only by a keyed hash.

Only anonymous aggregates remain: learner posteriors, counts, the measure reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from onevoice.domain import identifiers as ids
from onevoice.domain.errors import InvalidInput, NotFound
from onevoice.domain.events import format_time
from onevoice.domain.learning.base import Features
from onevoice.services.audit import Audit
from onevoice.services.clock import Clock
from onevoice.services.decisions import Decisions, replay_optouts, replay_rewards
from onevoice.services.ports import Store
from onevoice.services.profiles import Profiles
from onevoice.services.tombstones import Tombstones

_ROUNDS = 3
#: full: rewrite touched tables (PostgreSQL VACUUM FULL); vacuum: plain VACUUM; off: none
SCRUB_MODES = ("full", "vacuum", "off")
_ALL = 10**7


class Erasure:
    """Erases people; each erasure returns its report (plain JSON-ready data)."""

    def __init__(
        self,
        store: Store,
        profiles: Profiles,
        decisions: Decisions,
        tombstones: Tombstones,
        audit: Audit,
        clock: Clock,
        *,
        lock: Any,
        process_pending: Callable[[], int] = lambda: 0,
        scrub: str = "full",
        forget_caches: Sequence[tuple[str, Callable[[], None]]] = (),
    ) -> None:
        self._store = store
        self._profiles = profiles
        self._decisions = decisions
        self._tombstones = tombstones
        self._audit = audit
        self._clock = clock
        self._lock = lock
        self._process_pending = process_pending
        if scrub not in SCRUB_MODES:
            raise InvalidInput(
                f"ONEVOICE_ERASE_SCRUB must be one of {', '.join(SCRUB_MODES)}",
                field="ONEVOICE_ERASE_SCRUB",
            )
        self._scrub = scrub
        self._forget_caches = list(forget_caches)

    def add_cache(self, name: str, forget: Callable[[], None]) -> None:
        """Another in-memory store of personal data (a stream backlog, a cache) to clear."""
        self._forget_caches.append((name, forget))

    def forget_caches(self) -> list[str]:
        """Clear every in-memory store of personal data; the names of those cleared."""
        for _name, forget in self._forget_caches:
            forget()
        return [name for name, _forget in self._forget_caches]

    def erase(self, reference: str, actor: str) -> dict[str, Any]:
        """Erase the person ``type:value`` names; NotFound if onevoice knows no one by it."""
        asked = ids.parse(reference)
        target = self._tombstones.of(asked)
        removed: Counter[str] = Counter()
        id_types: Counter[str] = Counter()
        profiles = 0
        tombstones: set[str] = set()
        rewards: list[tuple[str, Features, float]] = []
        optouts: list[tuple[str, Features, float]] = []
        with self._lock:
            # a person whose events arrive while we erase is found again and erased too
            for round_ in range(_ROUNDS):
                self._process_pending()
                try:
                    profile_id = self._profiles.resolve(str(asked))
                except NotFound:
                    if round_ == 0:
                        raise
                    break
                found = self._erase_one(profile_id)
                profiles += found["profiles"]
                removed.update(found["removed"])
                id_types.update(found["identifier_types"])
                tombstones |= found["tombstones"]
                rewards += found["rewards"]
                optouts += found["optouts"]
        self._tombstones.changed()
        taken, exact = self._decisions.forget(rewards, optouts)
        replayed = None if exact else self._decisions.retrain()
        caches = self.forget_caches()
        scrub = self._store.scrub(self._scrub == "full") if self._scrub != "off" else []
        at = self._clock()
        learner = self._decisions.learner.version.partition("@")[0]
        report: dict[str, Any] = {
            "erased": True,
            "reference": str(asked),
            "at": format_time(at),
            "profiles": profiles,
            "identifiers": dict(sorted(id_types.items())),
            "removed": dict(removed),
            "tombstones": len(tombstones),
            "learned_state": {
                "learner": learner,
                "rewards": len(rewards),
                "removed_exactly": taken,
                "exact": exact,
                "retrained": replayed is not None,
                "note": _learning_note(learner, len(rewards), taken, exact, replayed or 0),
            },
            "intent_models": _intent_note(self._store.intent_model_version()),
            "caches_cleared": caches,
            "scrub": scrub,
            "kept": "anonymous aggregates only: learner posteriors without this person's "
            "rewards where exact, counts in measure reports",
        }
        self._audit.record(
            actor,
            "profile.erase",
            target,
            profiles=profiles,
            removed=dict(removed),
            tombstones=len(tombstones),
            learned_exactly=exact,
            retrained=replayed is not None,
        )
        return report

    def _erase_one(self, profile_id: str) -> dict[str, Any]:
        tree = self._store.merge_tree(profile_id)
        profile_ids = {profile_id, *tree}
        stored = self._store.get_profile(profile_id)
        identifiers = list(stored.identifiers) if stored else []
        nodes = [n for pid in sorted(profile_ids) for n in self._store.nodes_of(pid)]
        tombstones = {self._tombstones.of_key(n.key) for n in nodes}
        tombstones |= {self._tombstones.of(i) for i in identifiers}
        # decisions asked before the person was known carry a hash of the reference asked
        subjects = profile_ids | {
            s for i in identifiers for s in self._decisions.reference_subjects(str(i))
        }
        rewards, optouts = self._rewards(subjects)
        removed = self._store.erase(subjects, tombstones, self._clock())
        types = Counter(n.type for n in nodes)
        return {
            "profiles": len(profile_ids),
            "removed": removed,
            "identifier_types": types,
            "tombstones": tombstones,
            "rewards": rewards,
            "optouts": optouts,
        }

    def _rewards(
        self, subjects: set[str]
    ) -> tuple[list[tuple[str, Features, float]], list[tuple[str, Features, float]]]:
        """The rewards this person gave the learner and the opt-out labels they gave the
        opt-out model, as ``respond`` folded them in."""
        responses = sorted(
            self._store.responses_of(subjects), key=lambda r: (r.at, r.decision_id, r.action_id)
        )
        log = [(r.decision_id, r.action_id, r.outcome, r.at) for r in responses]
        rewards = replay_rewards(log)
        optouts = replay_optouts(log)
        features = self._store.features_of({d for d, _a, _r in rewards})
        return (
            [(a, features.get(d, {}), r) for d, a, r in rewards],
            [(a, features.get(d, {}), lost) for d, a, lost in optouts],
        )


def _intent_note(version: int) -> dict[str, Any]:
    """Intent models are logistic weights over all people: none holds a row of this
    person's, and the next ``onevoice train intents`` learns from a history without them."""
    return {
        "version": version,
        "state_removed": True,
        "note": "this person's intent state and scores are deleted; trained intent models "
        "(weights over everyone) are not edited, and the next `onevoice train intents` "
        "excludes them, their events being gone"
        if version
        else "this person's intent state and scores are deleted; no trained intent model",
    }


def _learning_note(learner: str, rewards: int, taken: int, exact: bool, replayed: int) -> str:
    if rewards == 0:
        return "this person gave the learner no rewards"
    if exact:
        return f"{taken} rewards taken back exactly from the {learner} counts"
    return (
        f"{learner} keeps no per-person statistics: it was retrained from the decision log, "
        f"which no longer holds this person's {rewards} rewards ({replayed} rewards replayed)"
    )
