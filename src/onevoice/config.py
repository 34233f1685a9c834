"""Settings from ``ONEVOICE_*`` environment variables, each with a documented default.

``SETTINGS`` is the single list of them; the README's configuration table is checked
against it by a test, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import time, timedelta

from onevoice.domain.decide import COMPONENTS, Arbitration
from onevoice.domain.errors import InvalidInput
from onevoice.domain.identity import IdentityRules
from onevoice.domain.policy import Policy
from onevoice.domain.profiles import ProfileRules


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "onevoice.db"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    max_body_bytes: int = 512_000
    max_event_bytes: int = 32_000
    max_future_hours: float = 24.0
    shared_identifier_limit: int = 5
    max_identifiers_per_profile: int = 100
    unique_identifier_types: str = "userId,crm_id"
    order_events: str = "Order Completed,order_completed,Purchase,purchase,Order Placed"
    repeat_after_orders: int = 2
    lapsed_after_days: float = 90.0
    sqlite_synchronous: str = "FULL"
    decision_log_flush_ms: float = 0.0
    decision_log_write_ms: float = 10.0
    process_batch_size: int = 5000
    processing: str = "process"
    log_level: str = "info"
    conversation_window_hours: float = 72.0
    holdout_share: float = 0.05
    control_share: float = 0.10
    explore_share: float = 1.0
    propensity_draws: int = 200
    fatigue_cost: float = 0.05
    optout_cost: float = 50.0
    fatigue_budget: float = 8.0
    quiet_hours: str = "21:00-08:00"
    default_timezone: str = "UTC"
    complaint_cooldown_days: float = 30.0
    dismiss_cooldown_days: float = 14.0
    learner: str = "bayes-logistic"
    learner_prior_rate: float = 0.05
    journey_gap_hours: float = 24.0
    journey_end_events: str = "Order Completed,Case Resolved,Account Closed,Application Submitted"
    journey_start_events: str = ""
    journey_repeat_days: float = 7.0
    journey_long_wait_hours: float = 8.0
    intent_model_poll_seconds: float = 5.0
    me_token_minutes: float = 15.0
    rate_limit_per_second: float = 2000.0
    rate_limit_burst: int = 4000
    shed_lag_ms: float = 100.0
    max_traits: int = 200
    erase_scrub: str = "full"
    previous_secret_keys: str = ""
    component_share: float = 0.0
    component_arms: str = "random_action,propensity_only,no_fatigue,no_intent"
    attribution_days: float = 7.0
    stream_url: str = ""
    stream_prefix: str = "onevoice"
    stream_partitions: int = 16
    stream_dedupe_seconds: float = 120.0
    redis_url: str = ""
    redis_prefix: str = "onevoice"
    lease_seconds: float = 10.0
    model_reload_seconds: float = 2.0
    log_format: str = "text"
    metrics_port: int = 9100
    studio_secure_cookies: str = "auto"
    studio_session_hours: float = 12.0
    contact_events: str = (
        "Email Delivered,SMS Delivered,Push Notification Received,Promotion Viewed"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Read ``ONEVOICE_<NAME>`` for each field; ``overrides`` (CLI flags) win."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(f"ONEVOICE_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls(), f.name))
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise InvalidInput(
                    f"ONEVOICE_{f.name.upper()}={raw!r} is not a valid {kind.__name__}",
                    field=f"ONEVOICE_{f.name.upper()}",
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.processing not in ("process", "thread"):
            raise InvalidInput(
                "ONEVOICE_PROCESSING must be process or thread", field="ONEVOICE_PROCESSING"
            )
        if settings.sqlite_synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise InvalidInput(
                "ONEVOICE_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA",
                field="ONEVOICE_SQLITE_SYNCHRONOUS",
            )
        return settings

    @property
    def max_future(self) -> timedelta:
        return timedelta(hours=self.max_future_hours)

    def identity_rules(self) -> IdentityRules:
        return IdentityRules(
            unique_types=frozenset(_split(self.unique_identifier_types)),
            max_people_per_identifier=self.shared_identifier_limit,
            max_identifiers_per_profile=self.max_identifiers_per_profile,
        )

    @property
    def conversation_window(self) -> timedelta:
        return timedelta(hours=self.conversation_window_hours)

    def policy(self) -> Policy:
        """The contact policy; caps and fatigue points keep :class:`Policy`'s defaults."""
        start, end = _quiet_hours(self.quiet_hours)
        return Policy(
            quiet_start=start,
            quiet_end=end,
            default_timezone=self.default_timezone,
            complaint_cooldown=timedelta(days=self.complaint_cooldown_days),
            dismiss_cooldown=timedelta(days=self.dismiss_cooldown_days),
            fatigue_budget=self.fatigue_budget,
        )

    def arbitration(self) -> Arbitration:
        for name in ("holdout_share", "control_share", "explore_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInput(
                    f"ONEVOICE_{name.upper()} must be between 0 and 1",
                    field=f"ONEVOICE_{name.upper()}",
                )
        return Arbitration(
            holdout_share=self.holdout_share,
            control_share=self.control_share,
            explore_share=self.explore_share,
            propensity_draws=max(1, self.propensity_draws),
            fatigue_cost=self.fatigue_cost,
            optout_cost=self.optout_cost,
            component_share=self.component_share,
            components=self._component_arms(),
        )

    def _component_arms(self) -> tuple[str, ...]:
        """The component-experiment arms (issue 7): known names, a share that fits."""
        arms = tuple(_split(self.component_arms))
        unknown = sorted(set(arms) - set(COMPONENTS))
        if unknown:
            raise InvalidInput(
                f"ONEVOICE_COMPONENT_ARMS: unknown arm {unknown[0]!r}; "
                f"arms are {', '.join(COMPONENTS)}",
                field="ONEVOICE_COMPONENT_ARMS",
            )
        if not 0.0 <= self.component_share * len(arms) <= 1.0:
            raise InvalidInput(
                "ONEVOICE_COMPONENT_SHARE is per arm: all arms together take at most every "
                "decision",
                field="ONEVOICE_COMPONENT_SHARE",
            )
        return arms

    def delivery_events(self) -> list[str]:
        return _split(self.contact_events)

    def profile_rules(self) -> ProfileRules:
        return ProfileRules(
            order_events=frozenset(_split(self.order_events)),
            repeat_after_orders=self.repeat_after_orders,
            lapsed_after=timedelta(days=self.lapsed_after_days),
        )


def _quiet_hours(text: str) -> tuple[time, time]:
    start, _sep, end = text.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise InvalidInput(
            f"ONEVOICE_QUIET_HOURS={text!r} is not like 21:00-08:00", field="ONEVOICE_QUIET_HOURS"
        ) from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


#: What each setting does, for ``onevoice config`` and the README table.
DOCS: dict[str, str] = {
    "database_url": "SQLite file path (or `sqlite:///path`), or `postgresql://…` for PostgreSQL",
    "host": "address `onevoice serve` listens on",
    "port": "port `onevoice serve` listens on",
    "secret_key": "key for the keyed hashes of email and phone; empty: generated once and "
    "kept in the database (set it in production and keep it out of the database)",
    "max_body_bytes": "largest request body accepted (Segment's batch limit is 500 KB)",
    "max_event_bytes": "largest single event accepted (Segment's limit is 32 KB)",
    "max_future_hours": "how far in the future an event's timestamp may be",
    "shared_identifier_limit": "an identifier seen with more people than this is shared and "
    "stops merging",
    "max_identifiers_per_profile": "cap on identifiers one person may hold",
    "unique_identifier_types": "identifier types of which a person has one (never merged)",
    "order_events": "track events that count as orders (lifetime value, lifecycle)",
    "repeat_after_orders": "orders after which a customer is `repeat`",
    "lapsed_after_days": "days of silence after which a customer is `lapsed`",
    "sqlite_synchronous": "SQLite `synchronous` pragma; FULL makes each 2xx durable",
    "decision_log_flush_ms": "0: each commit of the decision log is on disk when it returns "
    "(written first: before decide answers, one fsync shared by the decisions made at once; "
    "written behind: one fsync per window). Above 0: a commit returns before the disk flush, "
    "which follows within this many ms, so an OS crash or power loss can lose that window's "
    "decisions too (PostgreSQL: the log commits with `synchronous_commit=off`, flushed within "
    "3 × `wal_writer_delay`)",
    "decision_log_write_ms": "above 0: decide answers before its decision is logged; a "
    "background writer commits the decisions of each window in one transaction, within this "
    "many ms (plus one commit), and anything in this process that reads the log (a response, "
    "the next decision for the customer, erasure, reports) waits for the rows it needs. A crash "
    "of the process or machine can lose the decisions of that last window. 0: each decision is "
    "committed before decide answers (then `ONEVOICE_DECISION_LOG_FLUSH_MS` applies)",
    "process_batch_size": "events per processing step (identity + profiles): larger steps "
    "cost less per event while a backlog is worked off, and hold the database's writer "
    "longer (an API append may wait for one step's commit)",
    "processing": "where `onevoice serve` files events under people: `process` (a child "
    "process, so ingest keeps the API's interpreter to itself) or `thread` (in the API process)",
    "log_level": "log level of the server",
    "conversation_window_hours": "how long a decision's conversation stays open: every channel "
    "gets the same action until the customer answers or the window ends (one voice)",
    "holdout_share": "share of customers in the universal holdout (no marketing; stable by "
    "hashed id)",
    "control_share": "share of chosen marketing actions withheld as a random control",
    "explore_share": "share of decisions ranked by a Thompson draw rather than the "
    "posterior mean (bounded exploration)",
    "propensity_draws": "posterior draws used to estimate the probability a choice was made",
    "fatigue_cost": "cost per fatigue point of a contact, growing with recent contacts",
    "optout_cost": "what losing a customer on an outbound channel (an unsubscribe or a "
    "complaint) costs, in the catalog's currency: priced by the learned opt-out rate of each "
    "action on each channel (0 turns it off)",
    "fatigue_budget": "fatigue points (decaying weekly) marketing may not push a customer past",
    "quiet_hours": "no outbound contact in these hours of the customer's own time zone",
    "default_timezone": "time zone of customers without a `timezone` trait",
    "complaint_cooldown_days": "days without marketing after a complaint",
    "dismiss_cooldown_days": "days an action is not shown again after a dismissal",
    "learner": "the adaptive model: `bayes-logistic` (features) or `beta-bernoulli`",
    "learner_prior_rate": "the response rate every new action starts from",
    "journey_gap_hours": "silence that ends a customer's journey",
    "journey_end_events": "events that reach a journey's goal and end it",
    "journey_start_events": "events that start a journey (empty: any event after the gap)",
    "journey_repeat_days": "a contact for the same reason within this many days is a repeat",
    "journey_long_wait_hours": "a wait between two steps of a journey longer than this is friction",
    "intent_model_poll_seconds": "how often a running process checks for a newer intent "
    "model version (`onevoice train intents`) and swaps to it",
    "me_token_minutes": "how long a customer token for `/v1/me` lives (at most a day)",
    "rate_limit_per_second": "requests a second each API key (and each customer token) may "
    "make on average, per API process; 0 turns the limit off",
    "shed_lag_ms": "while the API's event loop runs this many ms late and decides fill its "
    "time, new `POST /v1/decide` requests get 503 `overloaded` with `Retry-After: 1` rather "
    "than a place in a growing queue; 0 never sheds",
    "rate_limit_burst": "requests a key may make at once before the rate applies",
    "max_traits": "most traits (including `context.traits`) one event may carry",
    "erase_scrub": "after an erasure: `full` rewrites the touched PostgreSQL tables (VACUUM "
    "FULL: no deleted bytes left in the files; locks each table meanwhile), `vacuum` runs a "
    "plain VACUUM, `off` leaves it to autovacuum. SQLite always zeroes deleted content and "
    "truncates its WAL",
    "previous_secret_keys": "keys used before `onevoice privacy rotate-secret` (comma-separated): "
    "tombstones and old decision subjects made with them still count",
    "component_share": "share of decisions given to *each* component-experiment arm (0: "
    "off; e.g. 0.02), which switches one part of the engine off to measure its lift",
    "component_arms": "the component-experiment arms: `random_action`, `propensity_only`, "
    "`no_fatigue`, `no_intent`",
    "attribution_days": "days after a decision in which the customer's orders count as its "
    "outcome (lift, ROI and budget reports)",
    "stream_url": "`nats://host:4222` (comma-separated for a cluster): collectors publish to "
    "NATS JetStream and `onevoice worker`s process; empty: in-process",
    "stream_prefix": "JetStream stream name and subject prefix (`<prefix>.events.<partition>`)",
    "stream_partitions": "partitions of the event stream (by a hash of the customer); the most "
    "workers that can share the work. Fixed once the stream exists",
    "stream_dedupe_seconds": "JetStream duplicate window: a retried `messageId` inside it is "
    "dropped by NATS (after it, by the database)",
    "redis_url": "`redis://host:6379/0`: frequency caps, fatigue and open conversations shared "
    "by every API replica, and the workers' partition leases; empty: from the database alone "
    "(one replica)",
    "redis_prefix": "prefix of onevoice's Redis keys",
    "lease_seconds": "how long a worker's claim on a partition lasts without renewal (a killed "
    "worker's partitions move after this)",
    "model_reload_seconds": "how often a replica checks for a newer model saved by another",
    "log_format": "`text` or `json` (one JSON object per line, for log collectors)",
    "metrics_port": "port of `onevoice worker`'s Prometheus `/metrics` (0: none)",
    "studio_secure_cookies": "Studio cookies carry the `Secure` flag: `auto` (when the request "
    "came over https), `true` (always: behind a TLS proxy) or `false` (local http only)",
    "studio_session_hours": "how long a Studio login lasts",
    "contact_events": "track events that are marketing contacts sent by other systems (counted "
    "with the decision log when the Studio shows what a cap would have blocked)",
}
