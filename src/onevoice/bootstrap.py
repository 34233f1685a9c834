"""The one place adapters are built from settings and wired to the use cases."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache, partial

from onevoice.config import Settings
from onevoice.domain import learning
from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import forget_cached_identifiers
from onevoice.domain.identifiers import match_key
from onevoice.domain.learning.beta import BetaBernoulli
from onevoice.domain.learning.logistic import BayesianLogistic
from onevoice.domain.learning.optout import KIND as OPTOUT_KIND
from onevoice.domain.learning.optout import optout_model
from onevoice.expressions.cel import CelEngine
from onevoice.fleet import Fleet, open_fleet
from onevoice.processing_child import ProcessingChild
from onevoice.services.actions import Actions
from onevoice.services.audit import Audit
from onevoice.services.clock import Clock, utc_now
from onevoice.services.collect import Collector
from onevoice.services.contact_policy import ContactPolicies
from onevoice.services.decisions import LEARNER_NAME, OPTOUT_NAME, Decisions
from onevoice.services.erasure import Erasure
from onevoice.services.intents import Intents
from onevoice.services.keys import Keys
from onevoice.services.me import Me, MeTokens
from onevoice.services.model_sync import ModelSync
from onevoice.services.ports import Store
from onevoice.services.processing import BackgroundProcessor, Processor
from onevoice.services.profiles import Profiles
from onevoice.services.ratelimit import RateLimiter
from onevoice.services.reports import Reports
from onevoice.services.staff import Staff
from onevoice.services.tombstones import Tombstones
from onevoice.store import open_store


@dataclass
class Onevoice:
    """Everything a front end (API, CLI, simulator) needs, built once."""

    settings: Settings
    store: Store
    collector: Collector
    processor: Processor
    background: BackgroundProcessor | ProcessingChild
    profiles: Profiles
    keys: Keys
    actions: Actions
    decisions: Decisions
    intents: Intents
    audit: Audit
    tombstones: Tombstones
    erasure: Erasure
    me: Me
    me_tokens: MeTokens
    limiter: RateLimiter
    reports: Reports
    staff: Staff
    contact_policies: ContactPolicies
    fleet: Fleet = field(default_factory=Fleet)

    def close(self) -> None:
        self.background.stop()
        self.fleet.close()
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
    injected = store is not None or clock is not utc_now  # a child could not share them
    store = store or open_store(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous.upper(),
        decision_log_flush=settings.decision_log_flush_ms / 1000,
        decision_log_write=settings.decision_log_write_ms / 1000,
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
    intents = Intents(store, clock, poll_seconds=settings.intent_model_poll_seconds)
    processor = Processor(
        store,
        key_of,
        clock,
        identity_rules=settings.identity_rules(),
        profile_rules=settings.profile_rules(),
        batch_size=settings.process_batch_size,
        intents=intents,
    )
    background: BackgroundProcessor | ProcessingChild = BackgroundProcessor(processor)
    if settings.processing == "process" and not injected and not _in_memory(settings):
        background = ProcessingChild(settings, processor)
    previous = [k.strip().encode() for k in settings.previous_secret_keys.split(",") if k.strip()]
    tombstones = Tombstones(store, key_of, secret, previous=previous)
    try:
        fleet = open_fleet(settings)
    except BaseException:
        store.close()
        raise
    streamed = fleet.publisher is not None  # workers process; reads see what they did
    collector = Collector(
        store,
        clock,
        max_future=settings.max_future,
        on_append=_nothing if streamed else background.notify,
        admit=tombstones.admit,
        publish=fleet.publish if streamed else None,
        on_stored=fleet.metrics.stored,
    )
    profiles = Profiles(
        store,
        key_of,
        clock,
        sync=_nothing if streamed else background.sync,
        profile_rules=settings.profile_rules(),
        identity_rules=settings.identity_rules(),
        lock=processor.lock,
        intents=intents.view,
        on_undo=intents.rebuild,
    )
    try:
        decisions, actions = _deciding(
            settings, store, profiles, clock, new_id, fleet, intents, secret, previous
        )
        contact_policies = ContactPolicies(
            store, clock, decisions, delivery_events=settings.delivery_events()
        )
        contact_policies.apply_stored()
    except BaseException:
        fleet.close()
        store.close()
        raise
    audit = Audit(store, clock)
    erasure = Erasure(
        store,
        profiles,
        decisions,
        tombstones,
        audit,
        clock,
        lock=processor.lock,
        process_pending=processor.run_until_idle,
        scrub=settings.erase_scrub,
        forget_caches=[
            ("identifier hashes", key_of.cache_clear),
            ("identifiers of events read back", forget_cached_identifiers),
        ],
    )
    if isinstance(background, ProcessingChild):
        erasure.add_cache("the processor process's caches", background.forget_caches)
    limiter = RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
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
        intents,
        audit,
        tombstones,
        erasure,
        Me(store, profiles, decisions, clock),
        MeTokens(secret, clock, ttl=timedelta(minutes=settings.me_token_minutes)),
        limiter,
        Reports(
            store,
            lambda: decisions.catalog,
            clock,
            rules=settings.profile_rules(),
            attribution=timedelta(days=settings.attribution_days),
        ),
        Staff(store, clock, session_lifetime=timedelta(hours=settings.studio_session_hours)),
        contact_policies,
        fleet,
    )


def _deciding(
    settings: Settings,
    store: Store,
    profiles: Profiles,
    clock: Clock,
    new_id: Callable[[], str] | None,
    fleet: Fleet,
    intents: Intents | None = None,
    secret: bytes = b"",
    previous: Sequence[bytes] = (),
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
    optout_state = store.load_learner(OPTOUT_NAME)
    optout = (
        learning.load(optout_state)
        if optout_state is not None and optout_state.get("kind") == OPTOUT_KIND
        else optout_model()
    )
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
        intents=intents,
        subject_key=_subject_key(secret),
        previous_subject_keys=[_subject_key(k) for k in previous],
        shared=fleet.shared,
        optout=optout,
    )
    decisions.on_shared_failure = fleet.metrics.shared_state_failures.inc
    actions = Actions(store, engine, clock, on_change=decisions.use_catalog)
    decisions.use_catalog(actions.stored())
    if fleet.shared is not None:  # several replicas: follow what the others change
        fleet.models = ModelSync(
            decisions,
            settings.model_reload_seconds,
            on_reload=fleet.metrics.model_reloads.inc,
            catalog=store.list_actions,
            use_catalog=lambda: decisions.use_catalog(actions.stored()),
        )
    return decisions, actions


def _subject_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"onevoice decision subjects", hashlib.sha256).digest()


def _in_memory(settings: Settings) -> bool:
    url = settings.database_url
    return url in (":memory:", "sqlite://", "sqlite:///:memory:") or "mode=memory" in url


def _nothing() -> None:
    return None


def _random_id() -> str:
    """A random UUID (version 4) in hex, as ``uuid.uuid4().hex`` gives it, at a fifth of
    the cost (one per decision): ``UUID`` checks its arguments in Python."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()
