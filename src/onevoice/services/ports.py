"""The ports the use cases need; ``store/`` implements them for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from onevoice.domain.consent import ConsentChange
from onevoice.domain.events import Event
from onevoice.domain.identifiers import Identifier
from onevoice.domain.identity import Merge, Node, PersonIdentity, Refusal
from onevoice.domain.policy import Contact, Response
from onevoice.domain.profiles import ProfileState


class StaleBatch(Exception):
    """Another processor filed some events of a batch first; the batch was rolled back."""


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A person as stored: identity and computed state."""

    profile_id: str
    identifiers: tuple[Identifier, ...]
    state: ProfileState
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A merge as recorded, with when it happened and whether it was undone."""

    merge_id: int
    merge: Merge
    at: datetime
    undone_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key as stored (only its hash is kept)."""

    key_id: str
    kind: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(slots=True)
class ProcessedBatch:
    """Everything one processing step writes, in one transaction."""

    last_seq: int
    nodes: list[Node] = field(default_factory=list)
    people: list[PersonIdentity] = field(default_factory=list)
    states: dict[str, ProfileState] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    assignments: list[tuple[int, str]] = field(default_factory=list)
    at: datetime | None = None
    intents: dict[str, StoredIntents] = field(default_factory=dict)
    consents: list[tuple[str, ConsentChange]] = field(default_factory=list)


@dataclass(slots=True)
class UndoPlan:
    """The writes that undo one merge: who gets which identifiers, events and state."""

    merge_id: int
    at: datetime
    people: list[PersonIdentity]
    states: dict[str, ProfileState]
    node_moves: list[tuple[str, str]]
    event_moves: list[tuple[int, str]]


class Store(Protocol):
    """Persistence behind one interface. Every write is one transaction."""

    backend: str

    def close(self) -> None: ...

    def decides_without_waiting(self) -> bool:
        """Whether what a decide reads and writes here waits on nothing but this process:
        reads from a local file, the decision log queued for a background writer."""
        ...

    # events
    def append_events(self, events: Sequence[Event]) -> int:
        """Durably append; an already stored ``messageId`` is ignored. Returns how many were new."""
        ...

    def append_event_groups(self, groups: Sequence[Sequence[Event]]) -> list[int]:
        """Append several groups in one transaction (one durable commit for all of them);
        return the number of new events of each group (see ``services.group_commit``)."""
        ...

    def read_events(self, after_seq: int, limit: int) -> list[tuple[int, Event]]: ...
    def last_seq(self) -> int: ...
    def cursor(self, name: str) -> int: ...
    def count_events(self) -> int: ...

    # identity and profiles
    def load_identity(self, keys: Collection[str]) -> tuple[list[Node], list[PersonIdentity]]: ...
    def load_people(self, profile_ids: Collection[str]) -> list[PersonIdentity]: ...
    def load_states(self, profile_ids: Collection[str]) -> dict[str, ProfileState]: ...
    def commit_batch(self, batch: ProcessedBatch, cursor_name: str) -> None: ...
    def profile_id_for_key(self, key: str) -> str | None: ...
    def current_profile_id(self, profile_id: str) -> str | None: ...
    def get_profile(self, profile_id: str) -> StoredProfile | None: ...

    def profile_for_key(self, key: str) -> StoredProfile | None:
        """The profile a node key belongs to (``profile_id_for_key`` then ``get_profile``)."""
        ...

    def timeline(
        self, profile_id: str, limit: int, before: tuple[str, int] | None
    ) -> list[tuple[int, dict[str, Any]]]: ...
    def events_of(self, profile_id: str) -> list[tuple[int, Event]]: ...
    def nodes_of(self, profile_id: str) -> list[Node]: ...
    def count_profiles(self) -> int: ...

    # merges
    def merges_of(self, profile_id: str) -> list[MergeRecord]: ...
    def get_merge(self, merge_id: int) -> MergeRecord | None: ...
    def merge_tree(self, profile_id: str) -> dict[str, str]:
        """Active merge edges (loser → winner) of everything merged into ``profile_id``."""
        ...

    def apply_undo(self, plan: UndoPlan) -> None: ...

    # keys and settings
    def add_key(self, record: KeyRecord, key_hash: str) -> None: ...
    def find_key(self, key_hash: str) -> KeyRecord | None: ...
    def list_keys(self) -> list[KeyRecord]: ...
    def revoke_key(self, key_id: str, at: datetime) -> bool: ...
    def meta(self, name: str, default: str) -> str:
        """The stored setting ``name``; stores ``default`` first if there is none."""
        ...

    # deciding: the catalog, the decision log, responses, learner state
    def put_actions(self, actions: Sequence[tuple[str, dict[str, Any]]], at: datetime) -> None:
        """Add or replace actions (id, plain form) in one transaction."""
        ...

    def list_actions(self) -> list[dict[str, Any]]: ...
    def add_decision(self, record: DecisionRecord) -> None: ...
    def add_decision_groups(self, groups: Sequence[Sequence[DecisionRecord]]) -> list[int]:
        """Log several groups of decisions in one transaction (see ``services.group_commit``)."""
        ...

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...
    def add_response(self, record: ResponseRecord) -> bool:
        """Record a response; ``False`` when this (decision, action, outcome) already was."""
        ...

    def outcomes_of(self, decision_id: str, action_id: str) -> list[str]: ...
    def contact_log(
        self, subject: str, since: datetime, conversation_since: datetime
    ) -> ContactLog:
        """Contacts and responses after ``since``; the conversation opened after
        ``conversation_since``."""
        ...

    def lapsed_impressions(self, decided_before: datetime, limit: int) -> list[tuple[str, str]]:
        """``(decision_id, action_id)`` decided before ``decided_before`` whose only
        response so far is an impression (oldest first, at most ``limit``)."""
        ...

    def save_learner(self, name: str, state: dict[str, Any], at: datetime) -> None: ...
    def load_learner(self, name: str) -> dict[str, Any] | None: ...

    # journeys: the filed events, as stored records, oldest first, in chunks
    def event_records(
        self, since: datetime | None, until: datetime | None, *, chunk: int = 20_000
    ) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """(profile_id, Segment record) of filed events with ``since <= ts < until``."""
        ...

    def shown_actions(
        self, since: datetime | None, until: datetime | None
    ) -> list[tuple[str, str, str, str]]:
        """(conversation_id, subject, channel, action_id) of every action a decision in
        a conversation showed with ``since <= at < until``."""
        ...

    # intent: per-person state and scores (written by commit_batch), versioned models
    def load_intents(self, profile_ids: Collection[str]) -> dict[str, StoredIntents]: ...
    def put_intents(self, rows: dict[str, StoredIntents]) -> None:
        """Replace these people's intent rows (a rebuild after a merge is undone)."""
        ...

    def delete_intents(self, profile_ids: Collection[str]) -> int:
        """Forget these people's intent state and scores (erasure); returns rows deleted."""
        ...

    def add_intent_model(
        self, kind: str, body: dict[str, Any], metrics: dict[str, Any], at: datetime
    ) -> int:
        """Store a new version of the intent definitions (and models); returns its number."""
        ...

    def intent_model_version(self) -> int:
        """The newest version's number, 0 when none (cheap: polled by every process)."""
        ...

    def load_intent_model(self, version: int | None = None) -> IntentModelRecord | None: ...
    def processed_history(self, chunk: int = 20_000) -> Iterator[tuple[str, list[Event]]]:
        """Every person's processed events in time order, one person at a time."""
        ...

    # respect: the consent ledger, own budgets, tombstones, the audit log, erasure
    def consent_of(self, profile_id: str) -> list[ConsentChange]:
        """Every consent change of a person, oldest first."""
        ...

    def add_consent(self, profile_id: str, changes: Sequence[ConsentChange]) -> None: ...
    def set_budget(self, profile_id: str, budget: Budget) -> None: ...
    def budgets_of(self, profile_id: str) -> list[Budget]: ...
    def tombstoned(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` (tombstone hashes) belong to erased people."""
        ...

    def has_tombstones(self) -> bool: ...
    def lift_tombstones(self, keys: Collection[str]) -> int: ...
    def add_audit(self, entry: AuditEntry) -> None: ...
    def audit_log(self, limit: int, before: int | None) -> list[AuditEntry]: ...
    def decisions_of(self, subjects: Collection[str], limit: int) -> list[DecisionRecord]:
        """The latest decisions about ``subjects``, newest first."""
        ...

    def responses_of(self, subjects: Collection[str]) -> list[ResponseRecord]: ...
    def response_log(self) -> list[tuple[str, str, str, datetime]]:
        """Every response (decision, action, outcome, at) in the order they were recorded."""
        ...

    def features_of(self, decision_ids: Collection[str]) -> dict[str, dict[str, float]]: ...
    def erase(
        self, ids: Collection[str], tombstones: Collection[str], at: datetime
    ) -> dict[str, int]:
        """Delete every row tied to ``ids`` (profile ids and decision subjects) in every
        table that holds one, and record ``tombstones``, in one transaction; rows per table."""
        ...

    def identifiers_page(self, after: str, limit: int) -> list[tuple[str, list[tuple[str, str]]]]:
        """(profile id, raw identifiers) of up to ``limit`` people after ``after``, by id."""
        ...

    def rekey(
        self, moves: Sequence[tuple[str, str]], meta: Sequence[tuple[str, str]], uniques: bool
    ) -> int:
        """Move identity nodes from old to new keys and set ``meta``, in one transaction."""
        ...

    def scrub(self, thorough: bool = True) -> list[str]:
        """Make deleted rows unreadable in the raw files too (``thorough``: even where that
        means rewriting whole tables); say what was done."""
        ...

    # measuring: the decision log over a period and what followed
    def decision_facts_between(self, since: datetime, until: datetime) -> list[DecisionFact]:
        """What the reports read of each decision made in the period, in time order."""
        ...

    def responses_between(self, since: datetime, until: datetime) -> list[tuple[str, str, str]]:
        """(decision id, action id, outcome) of the responses recorded in the period."""
        ...

    def orders_of(
        self, profile_ids: Collection[str], names: Collection[str], since: datetime,
        until: datetime,
    ) -> list[tuple[str, datetime, dict[str, Any]]]:  # fmt: skip
        """(profile id, time, properties) of these people's track events named ``names``."""
        ...

    # the Studio: staff, their sessions, the edited contact policy, what reports read
    def add_staff(self, user: StaffUser, password_hash: str) -> None: ...
    def staff_by_name(self, name: str) -> tuple[StaffUser, str] | None:
        """The user and their password hash."""
        ...

    def get_staff(self, user_id: str) -> StaffUser | None: ...
    def list_staff(self) -> list[StaffUser]: ...
    def update_staff(
        self, user_id: str, *, role: str, disabled_at: datetime | None, password_hash: str | None
    ) -> bool: ...
    def add_staff_session(self, session: StaffSession, token_hash: str) -> None: ...
    def staff_session(self, token_hash: str) -> StaffSession | None: ...
    def end_staff_sessions(
        self, *, token_hash: str | None = None, user_id: str | None = None
    ) -> None:
        """End one session (by token hash) or every session of a user."""
        ...

    def add_policy_version(self, body: dict[str, Any], changed_by: str, at: datetime) -> int: ...
    def policy_versions(self, limit: int) -> list[PolicyVersion]:
        """The newest versions first."""
        ...

    def last_decision(self, subject: str, channel: str, since: datetime) -> DecisionRecord | None:
        """The customer's newest decision on ``channel`` after ``since`` that showed an action."""
        ...

    def consent_traits(self, limit: int) -> list[object]:
        """The ``consent`` trait value (or ``None``) of the ``limit`` most recently updated
        profiles: what the Studio counts reach from, without loading whole profiles."""
        ...

    def rule_errors(self, limit: int) -> dict[str, tuple[int, str]]:
        """Eligibility rules that failed at run time in the newest ``limit`` decisions that
        had failures: action id → (how many times, the latest message)."""
        ...

    def recent_profile_ids(self, limit: int) -> list[str]:
        """Profiles most recently updated first: the Studio's preview sample."""
        ...

    def contacts_between(
        self, since: datetime, until: datetime, delivery_events: Collection[str]
    ) -> list[tuple[str, Contact]]:
        """(profile or subject id, contact) for every marketing contact in the period: the
        decision log's chosen actions and delivery events (``Email Delivered``…) of the
        event log, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class DecisionFact:
    """The few fields of a logged decision the reports read (the store extracts them from
    the body, so a report never parses whole decisions): the chosen (action, purpose)
    pairs, whether the customer was in the holdout, the action a random control withheld,
    the component-experiment arm and the customer's lifecycle stage."""

    decision_id: str
    subject: str
    channel: str
    at: datetime
    chosen: tuple[tuple[str, str], ...]
    holdout: bool
    withheld: str | None
    component: str | None
    lifecycle: str | None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision as logged. ``chosen`` is ``(action_id, purpose)`` per action shown;
    ``conversation_id`` is the decision that opened its conversation (itself when it
    opened one); ``body`` holds everything else (candidates, scores, propensity…)."""

    decision_id: str
    subject: str
    channel: str
    at: datetime
    chosen: tuple[tuple[str, str], ...]
    conversation_id: str | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One outcome of one action of one decision."""

    decision_id: str
    action_id: str
    outcome: str
    subject: str
    channel: str
    conversation_id: str | None
    value: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ContactLog:
    """What policy and one voice need about a customer: recent contacts and responses,
    and the latest conversation still inside its window (its record without the body),
    with the responses to it."""

    contacts: tuple[Contact, ...]
    responses: tuple[Response, ...]
    conversation: DecisionRecord | None
    conversation_responses: tuple[tuple[str, str, datetime], ...]


@dataclass(frozen=True, slots=True)
class StoredIntents:
    """One person's intent state (plain record), scores ``(name, score, reasons)`` as of
    ``scored_at``, and the model version that scored them."""

    state: dict[str, Any]
    scores: tuple[tuple[str, float, tuple[str, ...]], ...]
    scored_at: datetime
    model_version: int


@dataclass(frozen=True, slots=True)
class IntentModelRecord:
    """A stored version of intent definitions and (kind ``trained``) their models."""

    version: int
    kind: str
    body: dict[str, Any]
    metrics: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Budget:
    """The customer's own cap: at most ``max_contacts`` marketing contacts per ``period``
    (day, week, month) on ``channel`` (``*``: all channels together)."""

    channel: str
    period: str
    max_contacts: int
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin or erasure action: who (key id or ``cli``), what, on what (never raw
    personal data: an erased person is named by a keyed hash)."""

    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    audit_id: int | None = None


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A person who logs in to the Studio (never a customer)."""

    user_id: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A Studio login; ``csrf_token`` must come back with every change it makes."""

    user_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """The contact policy as saved in the Studio, by whom and when."""

    version: int
    body: dict[str, Any]
    changed_by: str
    at: datetime
