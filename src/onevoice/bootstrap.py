"""The one place adapters are built from settings and wired to the use cases."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, partial

from onevoice.config import Settings
from onevoice.domain import learning
from onevoice.domain.errors import InvalidInput
from onevoice.domain.identifiers import match_key
from onevoice.domain.learning.beta import BetaBernoulli
from onevoice.domain.learning.logistic import BayesianLogistic
from onevoice.expressions.cel import CelEngine
from onevoice.services.actions import Actions
from onevoice.services.clock import Clock, utc_now
from onevoice.services.collect import Collector
from onevoice.services.contact_policy import ContactPolicies
from onevoice.services.decisions import LEARNER_NAME, Decisions
from onevoice.services.keys import Keys
from onevoice.services.ports import Store
from onevoice.services.processing import BackgroundProcessor, Processor
from onevoice.services.profiles import Profiles
from onevoice.services.staff import Staff
from onevoice.store import open_store


@dataclass
class Onevoice:
    """Everything a front end (API, CLI, simulator) needs, built once."""

    settings: Settings
    store: Store
    collector: Collector
    processor: Processor
    background: BackgroundProcessor
    profiles: Profiles
    keys: Keys
    actions: Actions
    decisions: Decisions
    staff: Staff
    contact_policies: ContactPolicies

    def close(self) -> None:
        self.background.stop()
        self.store.close()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    store: Store | None = None,
    new_id: Callable[[], str] | None = None,
) -> Onevoice:
    """Build onevoice. The background processor is not started; ``serve`` starts it.

    ``new_id`` names decisions (default: random); the simulator passes a counter so that a
    seeded run decides the same way twice (a decision's random draws are seeded by its id).
    """
    store = store or open_store(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous.upper()
    )
    secret = (settings.secret_key or store.meta("secret_key", secrets.token_hex(32))).encode()
    fingerprint = hmac.new(secret, b"onevoice secret fingerprint", hashlib.sha256).hexdigest()
    if store.meta("secret_fingerprint", fingerprint[:16]) != fingerprint[:16]:
        store.close()
        raise InvalidInput(
            "ONEVOICE_SECRET_KEY is not the key this database was built with; emails and "
            "phones would stop matching. Use the original key.",
            field="ONEVOICE_SECRET_KEY",
        )
    # the same identifiers recur in every batch; their keyed hashes are worth remembering
    key_of = lru_cache(maxsize=200_000)(partial(match_key, secret=secret))
    processor = Processor(
        store,
        key_of,
        clock,
        identity_rules=settings.identity_rules(),
        profile_rules=settings.profile_rules(),
        batch_size=settings.process_batch_size,
    )
    background = BackgroundProcessor(processor)
    collector = Collector(store, clock, max_future=settings.max_future, on_append=background.notify)
    profiles = Profiles(
        store,
        key_of,
        clock,
        sync=background.sync,
        profile_rules=settings.profile_rules(),
        identity_rules=settings.identity_rules(),
        lock=processor.lock,
    )
    try:
        decisions, actions = _deciding(settings, store, profiles, clock, new_id)
        contact_policies = ContactPolicies(
            store, clock, decisions, delivery_events=settings.delivery_events()
        )
        contact_policies.apply_stored()
    except BaseException:
        store.close()
        raise
    return Onevoice(
        settings,
        store,
        collector,
        processor,
        background,
        profiles,
        Keys(store, clock),
        actions,
        decisions,
        Staff(store, clock, session_lifetime=timedelta(hours=settings.studio_session_hours)),
        contact_policies,
    )


def _deciding(
    settings: Settings,
    store: Store,
    profiles: Profiles,
    clock: Clock,
    new_id: Callable[[], str] | None,
) -> tuple[Decisions, Actions]:
    """The catalog and the learner as stored (models survive a restart), wired to decide."""
    state = store.load_learner(LEARNER_NAME)
    if state is not None and state.get("kind") == settings.learner:
        learner = learning.load(state)
    elif settings.learner == "beta-bernoulli":
        learner = BetaBernoulli(prior_rate=settings.learner_prior_rate)
    elif settings.learner == "bayes-logistic":
        learner = BayesianLogistic(prior_rate=settings.learner_prior_rate)
    else:
        raise InvalidInput(
            f"ONEVOICE_LEARNER={settings.learner!r}: use bayes-logistic or beta-bernoulli",
            field="ONEVOICE_LEARNER",
        )
    engine = CelEngine()
    decisions = Decisions(
        store,
        profiles,
        clock,
        learner,
        policy=settings.policy(),
        arbitration=settings.arbitration(),
        window=settings.conversation_window,
        rules=settings.profile_rules(),
        new_id=new_id or _random_id,
    )
    actions = Actions(store, engine, clock, on_change=decisions.use_catalog)
    decisions.use_catalog(actions.stored())
    return decisions, actions


def _random_id() -> str:
    return uuid.uuid4().hex
