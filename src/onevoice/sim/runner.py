"""Run a world: day by day, customers act, the policy answers, outcomes follow.

``simulate(WorldConfig(customers=2000, days=28, seed=7), policy)`` returns a
:class:`World`: the population, every event as columns (see :mod:`.rows`) and the ground
truth. Everything random comes from ``numpy.random.default_rng([seed, stream, day])``, one
stream per purpose, so a world is a pure function of its config and policy, and two
policies on one seed face the same customers and the same draws.

>>> from datetime import datetime, timezone
>>> end = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> a = simulate(WorldConfig(customers=200, days=3, seed=1, end=end))
>>> b = simulate(WorldConfig(customers=200, days=3, seed=1, end=end))
>>> len(a.rows) == len(b.rows) and bool((a.rows.at == b.rows.at).all())
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim.behaviour import behave
from onevoice.sim.intents import DAY_MS, HOUR_MS, begin, settle
from onevoice.sim.play import N_UNIFORMS, play
from onevoice.sim.policies.base import SEND_SLOT, Decisions, Moments, Observing, Policy
from onevoice.sim.policies.nothing import Nothing
from onevoice.sim.population import Population, make_population
from onevoice.sim.response import Contacts
from onevoice.sim.rows import EventRows, chronological, concat
from onevoice.sim.segment import Identities, people_tag, row_calls, with_identifies, world_tag
from onevoice.sim.state import WorldState
from onevoice.sim.truth import GroundTruth, TruthRecorder
from onevoice.sim.view import Observer

# random streams, one per purpose (see the module docstring)
POPULATION, INTENTS, BEHAVIOUR, CONTACTS, OUTCOMES = range(5)
MAX_CUSTOMERS = 1_000_000


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """The size, seed and end of a world; ``end`` defaults to now (the run never reaches
    past it, because the collector rejects events from the future)."""

    customers: int = 2_000
    days: int = 28
    seed: int = 0
    end: datetime | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS:,}")
        if not 1 <= self.days <= 3_650:
            raise ValueError("days must be between 1 and 3650")
        if self.end is not None and self.end.tzinfo is None:
            raise ValueError("end must be timezone-aware")


@dataclass(frozen=True, slots=True)
class World:
    """A finished simulation: who, what they did (in time order) and the truth."""

    config: WorldConfig
    policy: str
    start: datetime
    end: datetime
    people: Population
    rows: EventRows
    truth: GroundTruth
    final: WorldState = field(repr=False)


def period(config: WorldConfig, now: Callable[[], datetime] | None = None) -> tuple[int, int]:
    """The simulated period in ms since the epoch, ending at ``config.end`` or now."""
    end = config.end or (now or (lambda: datetime.now(UTC)))()
    end_ms = int(end.timestamp() * 1000) // 60_000 * 60_000  # a whole minute
    return end_ms - config.days * DAY_MS, end_ms


def rng(seed: int, stream: int, day: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, day])


def simulate(
    config: WorldConfig,
    policy: Policy | None = None,
    *,
    on_day: Callable[[int], None] | None = None,
) -> World:
    """Simulate ``config`` under ``policy`` (default: doing nothing)."""
    policy = policy or Nothing()
    start_ms, end_ms = period(config)
    people = make_population(rng(config.seed, POPULATION), config.customers)
    state = WorldState.start(people)
    observer = Observer(people)
    recorder = TruthRecorder()
    parts: list[EventRows] = []
    n = people.size
    observing = policy if isinstance(policy, Observing) else None
    ids = Identities(people_tag(config.seed, config.customers))
    tag = world_tag(config.seed, config.customers, config.days, policy.name)
    if observing is not None:
        observing.begin(ids)
    for day in range(config.days):
        state.day = day
        day_start = start_ms + day * DAY_MS
        draws = rng(config.seed, INTENTS, day)
        begin(
            state, people, recorder, day=day, day_start=day_start,
            u_start=draws.random((n, cat.N_INTENTS)), u_days=draws.random((n, cat.N_INTENTS)),
            occupancy=day == 0,
        )  # fmt: skip
        sessions = behave(state, people, day_start=day_start, rng=rng(config.seed, BEHAVIOUR, day))
        moments, starts = _moments(day, sessions.customer, sessions.channel, sessions.at, observer)
        moments = replace(moments, start=day_start)
        decisions = policy.decide(moments, observer.view)
        uniforms = rng(config.seed, CONTACTS, day).random((n, 2, N_UNIFORMS))
        contacts = _contacts(moments, decisions, starts, state, people, day_start, uniforms)
        played = play(
            contacts, state, people, recorder, day_start=day_start, uniforms=uniforms,
            solved_in_session=sessions.resolved,
        )  # fmt: skip
        policy.learn(played.responses)
        last_event = np.full(n, -1, dtype=np.int64)
        for done in (sessions.rows, played.rows):
            np.maximum.at(last_event, done.customer, done.at)
        outcome_draws = rng(config.seed, OUTCOMES, day)
        settled = settle(
            state, people, recorder, day=day, day_start=day_start,
            u_outcome=outcome_draws.random((n, cat.N_INTENTS)),
            u_time=outcome_draws.random((n, 3)), resolved=sessions.resolved,
            last_event=last_event,
        )  # fmt: skip
        today = concat([sessions.rows, played.rows, settled.rows])
        # a safety net: nothing after a customer left, nothing past the end
        today = today.take((today.at <= settled.churned_at[today.customer]) & (today.at < end_ms))
        observer.see(day, today, played.sent_to)
        if observing is not None:
            seen = chronological(with_identifies(today, state.known))
            observing.observe(
                day, row_calls(ids, seen, people.timezone, people.has_phone, f"sim-{tag}-{day}-")
            )
        recorder.daily.append(_summary(day, day_start, today, contacts, state, people))
        parts.append(today)
        if on_day is not None:
            on_day(day)
    rows = chronological(with_identifies(concat(parts), state.known))
    return World(
        config=config,
        policy=policy.name,
        start=datetime.fromtimestamp(start_ms / 1000, UTC),
        end=datetime.fromtimestamp(end_ms / 1000, UTC),
        people=people,
        rows=rows,
        truth=recorder.finish(),
        final=state,
    )


def _moments(
    day: int,
    session_customer: NDArray[np.int64],
    session_channel: NDArray[np.int8],
    session_at: NDArray[np.int64],
    observer: Observer,
) -> tuple[Moments, NDArray[np.int64]]:
    """Each customer's first web or app session of the day, and a send slot for everyone
    the brand still has; with the session start of each moment (0 for send slots)."""
    order = np.lexsort((session_at, session_customer))
    _, first = np.unique(session_customer[order], return_index=True)
    sessions = order[first]
    open_ = np.flatnonzero(~observer.view.closed)
    customer = np.concatenate([session_customer[sessions], open_]).astype(np.int64)
    channel = np.concatenate(
        [session_channel[sessions], np.full(open_.size, SEND_SLOT, dtype=np.int8)]
    )
    starts = np.concatenate([session_at[sessions], np.zeros(open_.size, dtype=np.int64)])
    return Moments(day, customer, channel), starts


def _contacts(
    moments: Moments,
    decisions: Decisions,
    session_start: NDArray[np.int64],
    state: WorldState,
    people: Population,
    day_start: int,
    uniforms: NDArray[np.float64],
) -> Contacts:
    """Turn decisions into deliveries: in-session offers on the session's channel, sends
    only where the customer can be reached (the sender suppresses the rest)."""
    acting = decisions.action >= 0
    in_session = moments.in_session
    reach = state.contactable(people)
    channel = np.where(in_session, moments.channel, decisions.channel).astype(np.int64)
    outbound_ok = np.isin(channel, cat.OUTBOUND) & reach[moments.customer, np.maximum(channel, 0)]
    deliver = acting & state.alive[moments.customer] & (in_session | outbound_ok)
    who = moments.customer[deliver]
    minute = (uniforms[who, 1, 5] * HOUR_MS).astype(np.int64)
    send_at = day_start + decisions.hour[deliver].astype(np.int64) % 24 * HOUR_MS + minute
    at = np.where(in_session[deliver], session_start[deliver] + 5_000, send_at)
    return Contacts(
        customer=who,
        action=decisions.action[deliver].astype(np.int64),
        channel=channel[deliver],
        at=np.minimum(at, day_start + DAY_MS - 1),
        inbound=in_session[deliver],
    )


def _summary(
    day: int,
    day_start: int,
    rows: EventRows,
    contacts: Contacts,
    state: WorldState,
    people: Population,
) -> dict[str, float]:
    orders = rows.content == cat.ORDER
    reach = state.contactable(people)[:, list(cat.OUTBOUND)].any(axis=1)
    summary: dict[str, float] = {
        "day": day,
        "date": day_start,
        "events": len(rows),
        "conversions": int(orders.sum()),
        "revenue": float(rows.amount[orders].sum()),
        "sent": int((~contacts.inbound).sum()),
        "shown": int(contacts.inbound.sum()),
        "responses": int((rows.content == cat.CLICKED).sum()),
        "unsubscribes": int((rows.content == cat.UNSUBSCRIBED).sum()),
        "complaints": int((rows.content == cat.COMPLAINED).sum()),
        "churned": int((rows.content == cat.CLOSED).sum()),
        "customers": int(state.alive.sum()),
        "contactable": int(reach.sum()),
    }
    for k, intent in enumerate(cat.INTENTS):
        summary[f"active_{intent.name}"] = int(state.active[:, k].sum())
    return summary
