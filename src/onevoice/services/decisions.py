"""Deciding and learning as use cases: ``decide`` for a channel, ``respond`` with outcomes.

``decide`` reads the live profile, the customer's contact log and open conversation,
runs the domain's arbitration (:func:`onevoice.domain.decide.decide`) and logs the whole
decision. ``respond`` joins an outcome to its decision by ``decision_id`` (once: the same
response twice counts once), and when the customer has answered (accept, convert,
dismiss, complaint, unsubscribe) folds the decision's reward into the learner, whose
state is saved in the store so it survives a restart.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from onevoice.domain import profiles as profile_rules
from onevoice.domain.actions import EMPTY_CATALOG, TREATMENT_FIELDS, Catalog
from onevoice.domain.conversation import DEFAULT_WINDOW, FINAL_OUTCOMES, Conversation
from onevoice.domain.decide import (
    DEFAULT_ARBITRATION,
    Arbitration,
    Candidate,
    DecideRequest,
    Decision,
    decide,
)
from onevoice.domain.errors import InvalidInput, NotFound
from onevoice.domain.events import format_time
from onevoice.domain.learning.base import Features, Learner, decision_reward
from onevoice.domain.policy import DEFAULT_POLICY, OUTCOMES, Consent, ContactHistory, Policy
from onevoice.domain.profiles import ProfileRules, ProfileState
from onevoice.services.clock import Clock
from onevoice.services.ports import DecisionRecord, ResponseRecord, Store, StoredProfile
from onevoice.services.profiles import Profiles

#: Channels on which the customer is present when the channel asks (not interrupted).
INBOUND_CHANNELS = frozenset({"web", "app", "chat", "call_centre", "branch", "ivr", "social"})
MAX_K = 20
LEARNER_NAME = "default"
HOLDOUT_KEY_TYPES = ("userId", "crm_id")
_HISTORY = timedelta(days=31)


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
    ) -> None:
        self._store = store
        self._profiles = profiles
        self._clock = clock
        self._learner = learner
        self._catalog = catalog
        self._policy = policy
        self._arbitration = arbitration
        self._window = window
        self._rules = rules
        self._new_id = new_id
        self._lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def use_catalog(self, catalog: Catalog) -> None:
        """Decide with ``catalog`` from now on (after a load or a PUT)."""
        self._catalog = catalog

    @property
    def learner(self) -> Learner:
        return self._learner

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
        catalog: Catalog | None = None,
        record: bool = True,
    ) -> Decided:
        """Choose up to ``k`` actions for ``customer`` (``type:value``) on ``channel``.

        A preview (the Studio's "who would get this draft action") passes its own
        ``catalog`` and ``record=False``: the same decision, neither logged nor counted.
        """
        context = _check_request(customer, channel, context, k)
        now = self._clock()
        stored = self._profile(customer)
        if stored is None:
            digest = hashlib.sha256(customer.encode()).hexdigest()[:32]
            subject, state, id_types = f"ref:{digest}", ProfileState(), [customer.split(":")[0]]
            key = subject
        else:
            subject = stored.profile_id
            state, id_types = stored.state, [i.type for i in stored.identifiers]
            key = _holdout_key(stored)
        traits = {name: trait.value for name, trait in state.traits.items()}
        lifecycle = profile_rules.lifecycle_stage(state, id_types, now, self._rules)
        log = self._store.contact_log(
            subject, now - max(_HISTORY, self._policy.complaint_cooldown), now - self._window
        )
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
        features: dict[str, float] = {f"channel={channel}": 1.0, f"lifecycle={lifecycle}": 1.0}
        request = DecideRequest(
            decision_id=self._new_id(),
            customer_key=key,
            channel=channel,
            now=now,
            k=k,
            inbound=inbound if isinstance(inbound, bool) else channel in INBOUND_CHANNELS,
            timezone=_text(traits.get("timezone")),
            consent=Consent.from_traits(traits),
            history=ContactHistory(log.contacts, log.responses),
            activation={
                "profile": _profile_view(state, traits, lifecycle, id_types, now),
                "context": dict(context),
                "channel": channel,
            },
            features=features,
        )
        with self._lock:
            decision = decide(
                self._catalog if catalog is None else catalog,
                request,
                self._learner,
                policy=self._policy,
                settings=self._arbitration,
                conversation=conversation,
            )
        if record:
            self._store.add_decision(_record(decision, subject, context, k, features))
        return Decided(decision, subject, customer)

    def _profile(self, customer: str) -> StoredProfile | None:
        try:
            return self._profiles.get(customer)
        except NotFound:
            return None

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
            recorded = self._store.add_response(
                ResponseRecord(
                    decision_id,
                    action_id,
                    outcome,
                    record.subject,
                    record.channel,
                    record.conversation_id,
                    None if value is None else float(value),
                    now,
                )
            )
            reward = None
            learned = False
            if recorded and outcome in FINAL_OUTCOMES:
                outcomes = self._store.outcomes_of(decision_id, action_id)
                if sum(1 for o in outcomes if o in FINAL_OUTCOMES) == 1:
                    reward = decision_reward(outcomes)
                if reward is not None:
                    features: Features = record.body.get("features", {})
                    self._learner.learn_one(action_id, features, reward)
                    self._store.save_learner(LEARNER_NAME, self._learner.to_state(), now)
                    learned = True
        return Responded(decision_id, action_id, outcome, recorded, learned, reward)


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


def _profile_view(
    state: ProfileState,
    traits: Mapping[str, Any],
    lifecycle: str,
    id_types: list[str],
    now: datetime,
) -> dict[str, Any]:
    """What an eligibility rule reads as ``profile`` (times as days ago; unknowns absent)."""
    view: dict[str, Any] = {
        "traits": dict(traits),
        "lifecycle": lifecycle,
        "channels": sorted(state.channels),
        "lifetime_value": state.lifetime_value,
        "orders": state.orders,
        "event_count": state.event_count,
        "identifiers": sorted(set(id_types)),
        "known": state.event_count > 0,
    }
    for name, moment in (
        ("days_since_first_seen", state.first_seen),
        ("days_since_last_seen", state.last_seen),
        ("days_since_last_order", state.last_order_at),
    ):
        if moment is not None:
            view[name] = max(0.0, (now - moment).total_seconds() / 86400)
    return view


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


def _record(
    decision: Decision, subject: str, context: Mapping[str, Any], k: int, features: Features
) -> DecisionRecord:
    catalog_purpose = {c.action_id: c.purpose for c in decision.candidates}
    chosen = tuple((a.action_id, catalog_purpose.get(a.action_id, "")) for a in decision.actions)
    conversation = decision.honoured or (decision.decision_id if chosen else None)
    body = {
        "at": format_time(decision.at),
        "context": dict(context),
        "k": k,
        "features": dict(features),
        "actions": [
            {"action_id": a.action_id, "score": a.score, "reasons": list(a.reasons)}
            for a in decision.actions
        ],
        "reasons": list(decision.reasons),
        "candidates": [_candidate(c) for c in decision.candidates],
        "holdout": decision.holdout,
        "control": decision.control,
        "explored": decision.explored,
        "propensity": decision.propensity,
        "model_version": decision.model_version,
        "errors": [{"action_id": e.action_id, "message": e.message} for e in decision.errors],
        "honoured": decision.honoured,
    }
    return DecisionRecord(
        decision.decision_id, subject, decision.channel, decision.at, chosen, conversation, body
    )


def _candidate(c: Candidate) -> dict[str, Any]:
    """A candidate as logged: excluded (by which rule, why) or scored (dataclasses.asdict
    is ten times slower, and a decision logs every action of the catalog)."""
    if c.excluded_by is not None:
        return {"action_id": c.action_id, "excluded_by": c.excluded_by, "reasons": c.reasons}
    return {
        "action_id": c.action_id,
        "purpose": c.purpose,
        "reasons": c.reasons,
        "probability": c.probability,
        "expected_value": c.expected_value,
        "score": c.score,
        "chosen_probability": c.chosen_probability,
        "control": c.control,
    }
