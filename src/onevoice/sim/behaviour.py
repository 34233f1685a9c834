"""What customers do by themselves on a day: sessions on their channels, driven by intent.

Every customer has a background rate of everyday banking sessions; each active intent adds
sessions about its topic. A session's channel is drawn from the customer's preference times
the topic's pull (so mortgage seekers read rate pages and book branch appointments), and an
unsolved card problem pushes the next contact towards people — the app-to-call-centre hop —
and makes repeat contacts more likely. Every event carries only what a brand could see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim.intents import DAY_MS, HOUR_MS, TZ_OFFSET
from onevoice.sim.population import Population
from onevoice.sim.rows import EventRows, concat, make_rows
from onevoice.sim.state import WorldState

SESSIONS_PER_DAY = np.array([i.sessions_per_day for i in cat.INTENTS])
_WEB, _APP = cat.CH["web"], cat.CH["app"]
_PEOPLE_CHANNELS = np.array([cat.CH[c] for c in ("call_centre", "branch", "ivr")])


@dataclass(frozen=True, slots=True)
class Sessions:
    """One day of self-directed behaviour."""

    rows: EventRows
    resolved: NDArray[np.int64]  # per customer: when a contact solved their card problem, or -1
    seen: NDArray[np.int32]  # (n, topics): events of each topic, as a brand would count them
    customer: NDArray[np.int64]  # web and app sessions: the moments a page can show an offer
    channel: NDArray[np.int8]
    at: NDArray[np.int64]


def sample(weights: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Row-wise categorical draw: the column each uniform in ``u`` falls in."""
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1:]
    picked = (cumulative <= u[:, None] * total).sum(axis=1)
    result: NDArray[np.int64] = np.minimum(picked, weights.shape[1] - 1)
    return result


def behave(
    state: WorldState, people: Population, *, day_start: int, rng: np.random.Generator
) -> Sessions:
    """Draw today's sessions and the events in them."""
    n = people.size
    rate = np.zeros((n, cat.N_TOPICS))
    rate[:, 0] = people.activity
    rate[:, 1:] = state.active * SESSIONS_PER_DAY
    rate[:, 1 + cat.CARD_PROBLEM] *= 1.0 + 0.6 * state.attempts  # repeat contacts
    rate *= state.alive[:, None]
    count = rng.poisson(rate.sum(axis=1))
    customer = np.repeat(np.arange(n), count)
    topic = sample(rate[customer], rng.random(customer.size))
    weights = people.pref[customer] * cat.AFFINITY[topic]
    escalated = (topic == 1 + cat.CARD_PROBLEM) & (state.attempts[customer] > 0)
    weights[escalated] *= cat.ESCALATION
    stuck = weights.sum(axis=1) <= 0  # nothing of this topic where they like to be
    weights[stuck] = cat.AFFINITY[topic[stuck]]
    channel = sample(weights, rng.random(customer.size)).astype(np.int8)
    hour = sample(cat.HOUR_WEIGHTS[channel], rng.random(customer.size))
    local = hour * HOUR_MS + rng.integers(0, HOUR_MS, customer.size)
    start = day_start + (local - TZ_OFFSET[people.timezone[customer]] * HOUR_MS) % DAY_MS

    length = 1 + rng.poisson(cat.SESSION_LENGTH[channel] - 1.0)
    session = np.repeat(np.arange(customer.size), length)
    position = np.arange(session.size) - np.repeat(np.cumsum(length) - length, length)
    gap = rng.integers(15_000, 180_000, customer.size)
    at = np.minimum(start[session] + position * gap[session], day_start + DAY_MS - 1)
    pick = np.floor(rng.random(session.size) * cat.CONTENT_COUNT[topic, channel][session])
    content = cat.CONTENT_OFFSET[topic, channel][session] + pick.astype(np.int64)

    device = np.full(customer.size, -1, dtype=np.int8)
    on_web = channel == _WEB
    phone_browser = on_web & (people.browsers[customer] == 2) & (rng.random(customer.size) < 0.45)
    device[on_web] = 0
    device[phone_browser] = 2
    device[channel == _APP] = 1
    device[channel == cat.CH["chat"]] = 0  # the chat widget runs in their browser
    known = state.known[customer]
    login = known & (
        (channel == _APP)
        | np.isin(channel, _PEOPLE_CHANNELS)
        | (on_web & (rng.random(customer.size) < 0.55))
        | ((channel == cat.CH["chat"]) & (rng.random(customer.size) < 0.5))
    )
    rows = make_rows(
        customer[session], at, channel[session], content,
        device=device[session], login=login[session],
    )  # fmt: skip

    # a contact about a card problem may solve it; the rest are dead ends
    problem = topic == 1 + cat.CARD_PROBLEM
    solves = problem & (rng.random(customer.size) < cat.RESOLVE[channel])
    end = at[np.cumsum(length) - 1] if customer.size else np.zeros(0, dtype=np.int64)
    resolved = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(resolved, customer[solves], end[solves] + 30_000)
    np.add.at(state.attempts, customer[problem & ~solves], 1)
    first = np.flatnonzero(resolved < np.iinfo(np.int64).max)
    solved_rows = make_rows(
        first,
        np.minimum(resolved[first], day_start + DAY_MS - 1),
        _session_channel(first, customer, channel, solves, end, resolved),
        cat.RESOLVED,
        login=state.known[first],
    )
    resolved[resolved == np.iinfo(np.int64).max] = -1

    topics = cat.CONTENT_TOPIC[content].astype(np.int64)
    seen = np.bincount(rows.customer.astype(np.int64) * cat.N_TOPICS + topics,
                       minlength=n * cat.N_TOPICS).reshape(n, cat.N_TOPICS)  # fmt: skip
    in_session = on_web | (channel == _APP)
    return Sessions(
        rows=concat([rows, solved_rows]),
        resolved=resolved,
        seen=seen.astype(np.int32),
        customer=customer[in_session],
        channel=channel[in_session],
        at=start[in_session],
    )


def _session_channel(
    first: NDArray[np.int64],
    customer: NDArray[np.int64],
    channel: NDArray[np.int8],
    solves: NDArray[np.bool_],
    end: NDArray[np.int64],
    resolved: NDArray[np.int64],
) -> NDArray[np.int8]:
    """The channel of the session that solved each customer's problem."""
    result = np.zeros(first.size, dtype=np.int8)
    if not first.size:
        return result
    solving = np.flatnonzero(solves)
    hit = solving[end[solving] + 30_000 == resolved[customer[solving]]]
    owner = np.searchsorted(first, customer[hit])
    result[owner] = channel[hit]
    return result
