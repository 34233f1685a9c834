"""Latent intents: how they start, how long they last and how they end, one day at a time.

Each (customer, intent) pair is a small renewal process: it starts with a daily hazard
(shaped by the customer's stage, proneness and grudges), lives for a drawn number of days,
and ends in its outcome — a sale, a resolution, a churn — with a daily hazard that actions
can raise (``state.boost``), or fades away when its time is up. All random numbers come in
as arrays drawn for every customer every day, so two policies run on the same seed face
the same draws and differ only where they acted (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim import truth as t
from onevoice.sim.population import Population
from onevoice.sim.rows import EventRows, concat, make_rows
from onevoice.sim.state import WorldState

START = np.array([i.start_per_day for i in cat.INTENTS])
MEAN_DAYS = np.array([i.mean_days for i in cat.INTENTS])
OUTCOME = np.array([i.outcome_per_day for i in cat.INTENTS])
KIND = np.array([i.kind for i in cat.INTENTS])
SALES = tuple(int(k) for k in np.flatnonzero(KIND == cat.SALE))
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
TZ_OFFSET = np.array([offset for _name, offset in cat.TIMEZONES], dtype=np.int64)


def start_hazard(state: WorldState, people: Population) -> NDArray[np.float64]:
    """(n, intents): today's chance that each intent starts, for those without it."""
    hazard = START * people.intent_proneness
    hazard[:, cat.LEAVING] *= 1.0 + 1.5 * state.grudge
    hazard[:, cat.CARD_PROBLEM] *= state.known
    hazard[state.owned] = 0.0  # nobody wants a second mortgage within the month
    result: NDArray[np.float64] = hazard * state.alive[:, None]
    return result


def outcome_hazard(state: WorldState, people: Population) -> NDArray[np.float64]:
    """(n, intents): today's chance of the outcome of each active intent."""
    hazard = OUTCOME * state.boost
    # price-sensitive customers take longer to commit to a sale
    hazard[:, SALES] *= (1.3 - 0.6 * people.price_sensitivity)[:, None]
    result: NDArray[np.float64] = np.minimum(hazard, 1.0)
    return result


def begin(
    state: WorldState,
    people: Population,
    recorder: t.TruthRecorder,
    *,
    day: int,
    day_start: int,
    u_start: NDArray[np.float64],
    u_days: NDArray[np.float64],
    occupancy: bool = False,
) -> None:
    """Start new intents. ``occupancy`` seeds day 0 with the intents already under way."""
    hazard = start_hazard(state, people)
    if occupancy:
        hazard = np.minimum(hazard * MEAN_DAYS, 0.9)
    new = ~state.active & state.alive[:, None] & (u_start < hazard)
    days = np.ceil(-MEAN_DAYS * np.log(np.maximum(u_days, 1e-12))).astype(np.int32)
    if occupancy:  # already part-way through
        elapsed = np.where(new, u_start / np.maximum(hazard, 1e-12), 1.0)
        days = np.maximum(1, (days * elapsed).astype(np.int32))
    customers, intents = np.nonzero(new)
    ids = np.arange(state.next_episode, state.next_episode + customers.size, dtype=np.int64)
    state.next_episode += customers.size
    state.active[new] = True
    state.days_left[new] = np.maximum(days[new], 1)
    state.boost[new] = 1.0
    state.episode[customers, intents] = ids
    state.attempts[new[:, cat.CARD_PROBLEM]] = 0
    recorder.started(ids, customers.astype(np.int32), intents.astype(np.int8), day_start)


@dataclass(frozen=True, slots=True)
class Settled:
    """What ended today and the events it caused."""

    rows: EventRows
    churned_at: NDArray[np.int64]  # per customer: when they left today, else max int


def end(
    state: WorldState,
    recorder: t.TruthRecorder,
    mask: NDArray[np.bool_],
    intent: int,
    at: NDArray[np.int64] | int,
    outcome: int,
) -> None:
    """End the episodes of ``intent`` for the customers in ``mask``."""
    at_array = np.broadcast_to(np.asarray(at, dtype=np.int64), mask.shape)
    recorder.ended(state.episode[mask, intent], at_array[mask], outcome)
    state.active[mask, intent] = False
    state.episode[mask, intent] = -1
    state.last_end[mask, intent] = state.day


def settle(
    state: WorldState,
    people: Population,
    recorder: t.TruthRecorder,
    *,
    day: int,
    day_start: int,
    u_outcome: NDArray[np.float64],
    u_time: NDArray[np.float64],  # (n, 3): hour, minute, channel
    resolved: NDArray[np.int64],
    last_event: NDArray[np.int64],
) -> Settled:
    """End today's intents: sales and churn by hazard, problems solved in a contact
    (``resolved`` holds the time of the solving contact, or -1), the rest when time is up.
    A customer leaves after the last thing they did today (``last_event``, -1 if nothing).
    """
    n = people.size
    never = np.iinfo(np.int64).max
    churned_at = np.full(n, never, dtype=np.int64)
    parts: list[EventRows] = []
    hazard = outcome_hazard(state, people)
    hour = (9 + 9 * u_time[:, 0]).astype(np.int64)  # business hours, local
    local_time = day_start + hour * HOUR_MS - TZ_OFFSET[people.timezone] * HOUR_MS
    local_time += (u_time[:, 1] * HOUR_MS).astype(np.int64)
    local_time = np.clip(local_time, day_start, day_start + DAY_MS - 1)
    for k in SALES:
        won = state.active[:, k] & state.alive & (u_outcome[:, k] < hazard[:, k])
        who = np.flatnonzero(won)
        if who.size:
            channel = _pick_channel(cat.INTENTS[k].outcome_channels, u_time[who, 2])
            revenue = np.round(cat.INTENTS[k].value * people.value[who], 2)
            parts.append(
                make_rows(who, local_time[who], channel, cat.ORDER, device=_device(channel),
                          action=int(k), amount=revenue)
            )  # fmt: skip
            state.owned[who, k] = True
            state.known[who] = True
        end(state, recorder, won, int(k), local_time, t.CONVERTED)
    # card problems solved in a contact today
    solved = state.active[:, cat.CARD_PROBLEM] & (resolved >= 0)
    end(state, recorder, solved, cat.CARD_PROBLEM, resolved, t.RESOLVED)
    state.attempts[solved] = 0
    # customers who leave produce no more events
    left = (
        state.active[:, cat.LEAVING]
        & state.alive
        & (u_outcome[:, cat.LEAVING] < hazard[:, cat.LEAVING])
    )
    who = np.flatnonzero(left)
    local_time[who] = np.minimum(
        np.maximum(local_time[who], last_event[who] + 60_000), day_start + DAY_MS - 1
    )
    if who.size:
        channel = _pick_channel(cat.INTENTS[cat.LEAVING].outcome_channels, u_time[who, 2])
        parts.append(make_rows(who, local_time[who], channel, cat.CLOSED, device=_device(channel)))
    end(state, recorder, left, cat.LEAVING, local_time, t.CHURNED)
    for k in range(cat.N_INTENTS):
        end(state, recorder, left & state.active[:, k], k, local_time, t.ABANDONED)
    churned_at[left] = local_time[left]
    state.alive[left] = False
    # the rest age; those out of time fade (or stay unsolved, or stay with us)
    state.days_left[state.active] -= 1
    expired = state.active & (state.days_left <= 0)
    for k in range(cat.N_INTENTS):
        kind = cat.INTENTS[k].kind
        outcome = {cat.SALE: t.FADED, cat.SERVICE: t.UNRESOLVED, cat.CHURN: t.RETAINED}[kind]
        if kind == cat.SERVICE:
            state.grudge[expired[:, k]] += 1.0
        end(state, recorder, expired[:, k], k, day_start + DAY_MS - 1, outcome)
    state.fatigue *= 0.8
    state.grudge *= 0.97
    return Settled(concat(parts), churned_at)


def _pick_channel(weights: dict[str, float], u: NDArray[np.float64]) -> NDArray[np.int8]:
    names = list(weights)
    cumulative = np.cumsum([weights[name] for name in names])
    pick = np.searchsorted(cumulative / cumulative[-1], u, side="right")
    codes = np.array([cat.CH[name] for name in names], dtype=np.int8)
    return codes[np.minimum(pick, len(names) - 1)]


def _device(channel: NDArray[np.int8]) -> NDArray[np.int8]:
    """Web conversions happen in the desktop browser, app ones in the app, others nowhere."""
    device = np.full(channel.shape, -1, dtype=np.int8)
    device[channel == cat.CH["web"]] = 0
    device[channel == cat.CH["app"]] = 1
    return device
