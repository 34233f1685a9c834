"""Deciding and learning as use cases: ``decide`` for a channel, ``respond`` with outcomes.

``decide`` reads the live profile, the customer's contact log and open conversation,
runs the domain's arbitration (:func:`onevoice.domain.decide.decide`) and logs the whole
decision. ``respond`` joins an outcome to its decision by ``decision_id`` (once: the same
response twice counts once), and when the customer has answered (accept, convert,
dismiss, complaint, unsubscribe) folds the decision's reward into the learner, whose
state is saved in the store so it survives a restart. The same answer teaches the opt-out
model (when there is one): whether the message cost the channel — an unsubscribe or a
complaint — so that arbitration can price that risk per action and channel.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from onevoice.domain import consent as consent_ledger
from onevoice.domain import identifiers as ids
from onevoice.domain import learning
from onevoice.domain import profiles as profile_rules
from onevoice.domain.actions import EMPTY_CATALOG, TREATMENT_FIELDS, Catalog
from onevoice.domain.conversation import DEFAULT_WINDOW, FINAL_OUTCOMES, Conversation
from onevoice.domain.decide import (
    DEFAULT_ARBITRATION,
    Arbitration,
    DecideRequest,
    Decision,
    decide,
)
from onevoice.domain.errors import InvalidIdentifier, InvalidInput, NotFound, Unavailable
from onevoice.domain.expressions import Reads, narrowed
from onevoice.domain.learning.base import Features, Learner, Unlearner, decision_reward
from onevoice.domain.learning.features import decision_features
from onevoice.domain.policy import DEFAULT_POLICY, OUTCOMES, Consent, ContactHistory, Policy
from onevoice.domain.profiles import ProfileRules, ProfileState
from onevoice.services.clock import Clock
from onevoice.services.decision_log import decision_record
from onevoice.services.group_commit import GroupCommit
from onevoice.services.intents import Intents
from onevoice.services.ports import DecisionRecord, ResponseRecord, Store, StoredProfile
from onevoice.services.profiles import Profiles
from onevoice.services.shared_state import (
    ADMIT_TRIES,
    BLOCKED_REASON,
    RACED_REASON,
    SharedState,
    SharedView,
    merged,
    without_marketing,
)

#: Channels on which the customer is present when the channel asks (not interrupted).
INBOUND_CHANNELS = frozenset({"web", "app", "chat", "call_centre", "branch", "ivr", "social"})
MAX_K = 20
LEARNER_NAME = "default"
#: The store's name of the opt-out model.
OPTOUT_NAME = "optout"
#: Outcomes by which a message costs the brand the channel (or the customer's goodwill).
OPTOUT_OUTCOMES = frozenset({"unsubscribe", "complaint"})
HOLDOUT_KEY_TYPES = ("userId", "crm_id")
_HISTORY = timedelta(days=31)
#: The outcome recorded when a conversation's window closes on nothing but an impression.
NO_RESPONSE = "no_response"
#: Outcomes after which a decision's reward is known (the first of them is learned from).
_ANSWERS = FINAL_OUTCOMES | {NO_RESPONSE}


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision and whom it was for (``subject``: the profile id, or a hash of the
    reference when the customer is not known yet)."""

    decision: Decision
    subject: str
    customer: str


@dataclass(frozen=True, slots=True)
class Responded:
    """What a response did: stored (``False`` for a repeat), learned from, with which reward."""

    decision_id: str
    action_id: str
    outcome: str
    recorded: bool
    learned: bool
    reward: float | None


class Decisions:
    """The next best action for a customer on a channel, and learning from what follows."""

    def __init__(
        self,
        store: Store,
        profiles: Profiles,
        clock: Clock,
        learner: Learner,
        *,
        catalog: Catalog = EMPTY_CATALOG,
        policy: Policy = DEFAULT_POLICY,
        arbitration: Arbitration = DEFAULT_ARBITRATION,
        window: timedelta = DEFAULT_WINDOW,
        rules: ProfileRules = ProfileRules(),
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        intents: Intents | None = None,
        subject_key: bytes = b"",
        previous_subject_keys: Sequence[bytes] = (),
        shared: SharedState | None = None,
        optout: Learner | None = None,
    ) -> None:
        self._store = store
        self._optout = optout
        self._profiles = profiles
        self._clock = clock
        self._learner = learner
        self._catalog = catalog
        self._policy = policy
        self._arbitration = arbitration
        self._window = window
        self._rules = rules
        self._new_id = new_id
        self._intents = intents
        self._subject_key = subject_key
        self._previous_subject_keys = tuple(previous_subject_keys)
        self._lock = threading.Lock()
        # decisions asked for at once share one durable commit of the log
        self._log: GroupCommit[DecisionRecord] = GroupCommit(store.add_decision_groups)
        self._shared = shared
        self.on_shared_failure: Callable[[], None] = lambda: None

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def waits_only_for_cpu(self) -> bool:
        """Whether a decide waits on nothing but the processor: no network (PostgreSQL,
        shared state) and no disk (the log is written behind). A server may then run
        decides one after another where requests arrive, rather than hand each to a thread:
        threads cannot decide in parallel under one interpreter lock, and dozens of them
        contending for it cost more than the decides."""
        return self._shared is None and self._store.decides_without_waiting()

    def use_catalog(self, catalog: Catalog) -> None:
        """Decide with ``catalog`` from now on (after a load or a PUT)."""
        self._catalog = catalog

    @property
    def learner(self) -> Learner:
        return self._learner

    @property
    def optout(self) -> Learner | None:
        """The model of P(unsubscribe or complaint) per action and channel, if any."""
        return self._optout

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def arbitration(self) -> Arbitration:
        return self._arbitration

    def use_policy(self, policy: Policy, arbitration: Arbitration) -> None:
        """Decide under ``policy`` and ``arbitration`` from now on (edited in the Studio)."""
        self._policy, self._arbitration = policy, arbitration

    # -- decide ----------------------------------------------------------------------------
    def decide(
        self,
        customer: str,
        channel: str,
        context: Mapping[str, Any] | None = None,
        k: int = 1,
        *,
        _attempt: int = 0,
        catalog: Catalog | None = None,
        record: bool = True,
    ) -> Decided:
        """Choose up to ``k`` actions for ``customer`` (``type:value``) on ``channel``.

        With shared state, a decision another replica overtook is decided again (up to
        ``ADMIT_TRIES`` times); ``_attempt`` counts those rounds. A preview (the Studio's
        "who would get this draft action") passes its own ``catalog`` and ``record=False``:
        the same decision, neither logged nor counted.
        """
        context = _check_request(customer, channel, context, k)
        now = self._clock()
        stored = self._profile(customer)
        policy = self._policy
        if stored is None:
            subject = self.reference_subject(customer)
            state, id_types = ProfileState(), [customer.split(":")[0]]
            key = subject
            ledger: list[consent_ledger.ConsentChange] = []
        else:
            subject = stored.profile_id
            state, id_types = stored.state, [i.type for i in stored.identifiers]
            key = _holdout_key(stored)
            # consent and the customer's own budget as stored now: every replica reads them
            ledger = self._store.consent_of(subject)
            budgets = self._store.budgets_of(subject)
            if budgets:
                own: dict[str, dict[str, int]] = {}
                for b in budgets:
                    own.setdefault(b.channel, {})[b.period] = b.max_contacts
                policy = replace(policy, own_caps=own)
        traits = {name: trait.value for name, trait in state.traits.items()}
        lifecycle = profile_rules.lifecycle_stage(state, id_types, now, self._rules)
        log = self._store.contact_log(
            subject, now - max(_HISTORY, self._policy.complaint_cooldown), now - self._window
        )
        view, blocked = self._shared_view(subject, now, _attempt)
        if view is not None:
            log = merged(log, view)
        conversation = None
        if log.conversation is not None and log.conversation.chosen:
            opened = log.conversation
            conversation = Conversation(
                opened.decision_id,
                opened.chosen[0][0],
                opened.channel,
                opened.at,
                self._window,
                log.conversation_responses,
            )
        inbound = context.get("inbound")
        features = decision_features(channel, lifecycle, context)
        offered = self._catalog if catalog is None else catalog
        intent_scores, signals = _intents(self._intents, stored, now, features)
        request = DecideRequest(
            decision_id=self._new_id(),
            customer_key=key,
            channel=channel,
            now=now,
            k=k,
            inbound=inbound if isinstance(inbound, bool) else channel in INBOUND_CHANNELS,
            timezone=_text(traits.get("timezone")),
            consent=consent_ledger.in_force(traits, ledger)
            if ledger
            else Consent.from_traits(traits),
            history=ContactHistory(log.contacts, log.responses),
            activation=_activation(
                offered.reads,
                lambda fields: _profile_view(state, traits, lifecycle, id_types, now, fields),
                {"context": dict(context), "channel": channel, "intents": intent_scores},
            ),
            features=features,
            signals=signals,
        )
        with self._lock:
            decision = decide(
                without_marketing(offered) if blocked else offered,
                request,
                self._learner,
                policy=policy,
                settings=self._arbitration,
                conversation=conversation,
                optout=self._optout,
            )
        if blocked:
            decision = replace(decision, reasons=(blocked, *decision.reasons))
        if not record:
            return Decided(decision, subject, customer)
        logged = decision_record(decision, subject, context, k, features)
        if view is not None and logged.chosen and not self._admitted(subject, view, logged):
            return self.decide(customer, channel, context, k, _attempt=_attempt + 1)
        self._log.append([logged])
        return Decided(decision, subject, customer)

    def reference_subject(self, customer: str, key: bytes | None = None) -> str:
        """The decision subject of a customer not known yet: a keyed hash of the normalised
        reference asked (so the log holds no email, and erasure finds it again)."""
        with contextlib.suppress(InvalidIdentifier):
            customer = str(ids.parse(customer))
        key = self._subject_key if key is None else key
        digest = hmac.new(key, customer.encode(), hashlib.sha256).hexdigest()
        return f"ref:{digest[:32]}"

    def reference_subjects(self, customer: str) -> set[str]:
        """Its subject under the current key and every key used before a rotation."""
        keys = (self._subject_key, *self._previous_subject_keys)
        return {self.reference_subject(customer, key) for key in keys}

    def _shared_view(
        self, subject: str, now: datetime, attempt: int
    ) -> tuple[SharedView | None, str]:
        """The customer's shared state, or why marketing is blocked without it."""
        if self._shared is None:
            return None, ""
        if attempt >= ADMIT_TRIES:
            return None, RACED_REASON
        try:
            return self._shared.read(
                subject, now - max(_HISTORY, self._policy.complaint_cooldown)
            ), ""
        except Unavailable:
            self.on_shared_failure()
            return None, BLOCKED_REASON

    def _admitted(self, subject: str, view: SharedView, record: DecisionRecord) -> bool:
        """Whether the shared state took this decision's contacts (else: decide again)."""
        assert self._shared is not None
        try:
            return self._shared.admit(subject, view, record, self._window)
        except Unavailable:
            self.on_shared_failure()
            return False

    def _profile(self, customer: str) -> StoredProfile | None:
        try:
            return self._profiles.get(customer)
        except NotFound:
            return None

    def forget(
        self,
        rewards: Sequence[tuple[str, Features, float]],
        optouts: Sequence[tuple[str, Features, float]] = (),
    ) -> tuple[int, bool]:
        """Take rewards back out of the learner, and opt-out labels out of the opt-out
        model (erasure): (how many rewards, exactly or not).

        Count-based models take each back exactly; others cannot, and say so.
        """
        if not rewards and not optouts:
            return 0, True
        with self._lock:
            if not isinstance(self._learner, Unlearner):
                return 0, False
            optout = self._optout
            if optouts and optout is not None and not isinstance(optout, Unlearner):
                return 0, False
            taken = sum(1 for a, x, r in rewards if self._learner.unlearn_one(a, x, r))
            lost = 0
            if optout is not None and isinstance(optout, Unlearner):
                lost = sum(1 for a, x, y in optouts if optout.unlearn_one(a, x, y))
            self._save_models(self._clock())
        return taken, taken == len(rewards) and (optout is None or lost == len(optouts))

    def retrain(self) -> int:
        """Rebuild the learner from the decision log alone, replaying each reward where
        ``respond`` folded it in; return how many. After an erasure this is the model as if
        the person had never been there. Decisions wait meanwhile."""
        with self._lock:
            learner = _fresh(self._learner)
            log = self._store.response_log()
            rewards = replay_rewards(log)
            features = self._store.features_of({d for d, _a, _r in rewards})
            for decision_id, action_id, reward in rewards:
                learner.learn_one(action_id, features.get(decision_id, {}), reward)
            self._learner = learner
            self._store.save_learner(LEARNER_NAME, learner.to_state(), self._clock())
            if self._optout is not None:
                optout = _fresh(self._optout)
                for decision_id, action_id, lost in replay_optouts(log):
                    optout.learn_one(action_id, features.get(decision_id, {}), lost)
                self._optout = optout
                self._store.save_learner(OPTOUT_NAME, optout.to_state(), self._clock())
        return len(rewards)

    # -- respond ---------------------------------------------------------------------------
    def respond(
        self, decision_id: str, action_id: str, outcome: str, value: object = None
    ) -> Responded:
        """Record what the customer did with an action of a decision; learn when answered."""
        if outcome not in OUTCOMES:
            raise InvalidInput(
                f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}", field="outcome"
            )
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidInput("value must be a number", field="value")
        record = self._store.get_decision(decision_id)
        if record is None:
            raise NotFound(f"no decision {decision_id!r}", field="decision_id")
        if action_id not in {a for a, _purpose in record.chosen}:
            raise InvalidInput(
                f"decision {decision_id} did not show {action_id!r}", field="action_id"
            )
        now = self._clock()
        with self._lock:
            response = ResponseRecord(
                decision_id,
                action_id,
                outcome,
                record.subject,
                record.channel,
                record.conversation_id,
                None if value is None else float(value),
                now,
            )
            recorded = self._store.add_response(response)
            if recorded and self._shared is not None:
                self._tell_shared(response)
            reward = None
            learned = False
            if recorded and outcome in FINAL_OUTCOMES:
                with self._model_turn():
                    reward = self._learn(record, action_id)
                    if reward is not None:
                        self._save_models(now)
                if reward is not None:
                    learned = True
        return Responded(decision_id, action_id, outcome, recorded, learned, reward)

    def close_lapsed(self, limit: int = 10_000) -> int:
        """Score conversations whose window closed on an impression alone: a ``no_response``.

        Without this a learner hears only the customers who answered — clicks, accepts and
        the occasional complaint — and overrates every action. The window is the same one
        that keeps a conversation open (``ONEVOICE_CONVERSATION_WINDOW``), so an offer still
        in its conversation is never scored early. Recorded as a response like any other
        (once: a second sweep finds nothing); a late answer after it is kept but not
        learned from again. Returns how many were closed.
        """
        now = self._clock()
        closed = 0
        lapsed: list[tuple[DecisionRecord, str]] = []
        with self._lock:
            for decision_id, action_id in self._store.lapsed_impressions(now - self._window, limit):
                record = self._store.get_decision(decision_id)
                if record is None:
                    continue
                response = ResponseRecord(
                    decision_id,
                    action_id,
                    NO_RESPONSE,
                    record.subject,
                    record.channel,
                    record.conversation_id,
                    None,
                    now,
                )
                if self._store.add_response(response):
                    if self._shared is not None:
                        self._tell_shared(response)
                    closed += 1
                    lapsed.append((record, action_id))
            if lapsed:
                with self._model_turn():
                    for record, action_id in lapsed:
                        self._learn(record, action_id)
                    self._save_models(now)
        return closed

    def _learn(self, record: DecisionRecord, action_id: str) -> float | None:
        """Fold the decision's reward into the learner if this is its first answer."""
        outcomes = self._store.outcomes_of(record.decision_id, action_id)
        if sum(1 for o in outcomes if o in _ANSWERS) != 1:
            return None
        reward = decision_reward(outcomes)
        if reward is not None:
            features: Features = record.body.get("features", {})
            self._learner.learn_one(action_id, features, reward)
            if self._optout is not None:
                lost = 1.0 if OPTOUT_OUTCOMES.intersection(outcomes) else 0.0
                self._optout.learn_one(action_id, features, lost)
        return reward

    def _save_models(self, now: datetime) -> None:
        self._store.save_learner(LEARNER_NAME, self._learner.to_state(), now)
        if self._optout is not None:
            self._store.save_learner(OPTOUT_NAME, self._optout.to_state(), now)

    def _tell_shared(self, response: ResponseRecord) -> None:
        assert self._shared is not None
        try:
            self._shared.responded(response, self._window)
        except Unavailable:  # the database has it; the next decision reads it from there
            self.on_shared_failure()

    @contextlib.contextmanager
    def _model_turn(self) -> Iterator[None]:
        """Learn on the newest model and tell the other replicas (they reload it).

        With shared state the model is locked across replicas and reloaded first if another
        replica saved a newer one: no replica's update overwrites another's. Without it
        (or when Redis is out of reach) this replica learns on its own copy.
        """
        with contextlib.ExitStack() as stack:
            shared = self._shared
            try:
                newest = stack.enter_context(shared.model_turn(LEARNER_NAME)) if shared else None
            except Unavailable:
                self.on_shared_failure()
                shared = None
                newest = None
            if newest is not None and newest != self._learner.version:
                self.reload_learner()
            yield
            if shared is not None:
                try:
                    shared.model_saved(LEARNER_NAME, self._learner.version)
                except Unavailable:
                    self.on_shared_failure()

    def reload_learner(self) -> bool:
        """Load the model saved in the store if it differs from the one in use."""
        state = self._store.load_learner(LEARNER_NAME)
        if state is None or state.get("kind") != self._learner.to_state().get("kind"):
            return False
        fresh = learning.load(state)
        if fresh.version == self._learner.version:
            return False
        self._learner = fresh
        optout = self._store.load_learner(OPTOUT_NAME) if self._optout is not None else None
        if optout is not None and optout.get("kind") == self._optout_kind():
            self._optout = learning.load(optout)
        return True

    def _optout_kind(self) -> object:
        return None if self._optout is None else self._optout.to_state().get("kind")

    def newest_model(self) -> str | None:
        """The version the replicas last saved (shared state), for reloads."""
        if self._shared is None:
            return None
        try:
            return self._shared.model_version(LEARNER_NAME)
        except Unavailable:
            return None


def _check_request(
    customer: object, channel: object, context: object, k: object
) -> Mapping[str, Any]:
    if not isinstance(customer, str) or ":" not in customer:
        raise InvalidInput("customer must be an identifier like 'userId:u42'", field="customer")
    if channel not in TREATMENT_FIELDS:
        raise InvalidInput(
            f"channel must be one of {', '.join(TREATMENT_FIELDS)}, not {channel!r}",
            field="channel",
        )
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be a whole number from 1 to {MAX_K}", field="k")
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise InvalidInput("context must be an object", field="context")
    return context


def _activation(
    reads: Reads | None,
    profile: Callable[[Reads | None], dict[str, Any]],
    others: dict[str, object],
) -> dict[str, object]:
    """What eligibility rules read: of ``profile`` (built on demand) and ``others``, only
    what the offered catalog's rules can read (``reads``; all for ``None``). Converting an
    activation into CEL values costs about 2.5 µs a value, far more than running a rule."""
    if reads is None:
        return {"profile": profile(None), **others}
    activation = {
        name: narrowed(others[name], sub) for name, sub in reads.items() if name in others
    }
    if "profile" in reads:
        activation["profile"] = profile(reads["profile"])
    return activation


def _profile_view(
    state: ProfileState,
    traits: Mapping[str, Any],
    lifecycle: str,
    id_types: list[str],
    now: datetime,
    fields: Reads | None = None,
) -> dict[str, Any]:
    """What an eligibility rule reads as ``profile`` (times as days ago; unknowns absent):
    only ``fields`` of it when given (what the rules read: the rest is not even built)."""
    facts = _Facts(state, traits, lifecycle, id_types, now)
    if fields is None:
        return {
            name: value for name, build in _PROFILE.items() if (value := build(facts)) is not None
        }
    view: dict[str, Any] = {}
    for name, sub in fields.items():
        build = _PROFILE.get(name)
        value = None if build is None else build(facts)
        if value is not None:
            view[name] = narrowed(value, sub)
    return view


class _Facts(NamedTuple):
    """What a profile view is made of."""

    state: ProfileState
    traits: Mapping[str, Any]
    lifecycle: str
    id_types: list[str]
    now: datetime


def _days_ago(now: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds() / 86400)


#: The profile view's fields, in order, each from the facts (``None``: unknown, absent).
_PROFILE: dict[str, Callable[[_Facts], object]] = {
    "traits": lambda f: dict(f.traits),
    "lifecycle": lambda f: f.lifecycle,
    "channels": lambda f: sorted(f.state.channels),
    "lifetime_value": lambda f: f.state.lifetime_value,
    "orders": lambda f: f.state.orders,
    "event_count": lambda f: f.state.event_count,
    "identifiers": lambda f: sorted(set(f.id_types)),
    "known": lambda f: f.state.event_count > 0,
    "days_since_first_seen": lambda f: _days_ago(f.now, f.state.first_seen),
    "days_since_last_seen": lambda f: _days_ago(f.now, f.state.last_seen),
    "days_since_last_order": lambda f: _days_ago(f.now, f.state.last_order_at),
}


def _intents(
    intents: Intents | None,
    stored: StoredProfile | None,
    now: datetime,
    features: dict[str, float],
) -> tuple[dict[str, float], tuple[str, ...]]:
    """Intent scores as rules read them (``intents.<name>``, every defined intent, 0 when
    unknown), as learner features (``intent=<name>``: the score, when at least 0.1) and
    the top intent as a reason."""
    if intents is None:
        return {}, ()
    if stored is None:
        return {name: 0.0 for name in intents.names()}, ()
    scores = intents.scores(stored.profile_id, now)
    by_name = {s.name: s.score for s in scores}
    for s in scores:
        if s.score >= 0.1:
            features[f"intent={s.name}"] = s.score
    if not scores or scores[0].score < 0.1:
        return by_name, ()
    top = scores[0]
    why = f" ({'; '.join(top.reasons)})" if top.reasons else ""
    return by_name, (f"top intent: {top.name} {top.score:.2f}{why}",)


def _holdout_key(stored: StoredProfile) -> str:
    """The person's user id (else CRM id, else profile id): holdout membership stays put
    when profiles merge or the database is rebuilt from the event log."""
    for kind in HOLDOUT_KEY_TYPES:
        for identifier in stored.identifiers:
            if identifier.type == kind:
                return f"{kind}:{identifier.value}"
    return stored.profile_id


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def replay_rewards(log: Sequence[tuple[str, str, str, datetime]]) -> list[tuple[str, str, float]]:
    """(decision, action, reward) in the order ``respond`` learned them: at the first final
    outcome of each shown action, from the outcomes recorded up to then."""
    rewards = []
    for decision_id, action_id, outcomes in _first_answers(log):
        reward = decision_reward(outcomes)
        if reward is not None:
            rewards.append((decision_id, action_id, reward))
    return rewards


def replay_optouts(log: Sequence[tuple[str, str, str, datetime]]) -> list[tuple[str, str, float]]:
    """(decision, action, 1 if it cost the channel else 0), as :func:`replay_rewards`."""
    return [
        (decision_id, action_id, 1.0 if OPTOUT_OUTCOMES.intersection(outcomes) else 0.0)
        for decision_id, action_id, outcomes in _first_answers(log)
        if decision_reward(outcomes) is not None
    ]


def _first_answers(
    log: Sequence[tuple[str, str, str, datetime]],
) -> Iterator[tuple[str, str, list[str]]]:
    """Each shown action's outcomes up to its first final outcome, in the log's order."""
    seen: dict[tuple[str, str], list[str]] = {}
    done: set[tuple[str, str]] = set()
    for decision_id, action_id, outcome, _at in log:
        key = (decision_id, action_id)
        if key in done:
            continue
        seen.setdefault(key, []).append(outcome)
        if outcome in FINAL_OUTCOMES:
            done.add(key)
            yield decision_id, action_id, seen.pop(key)


def _fresh(learner: Learner) -> Learner:
    """A learner of the same kind and settings that has learned nothing."""
    built: Learner = type(learner)(**learner.to_state()["settings"])
    return built
