"""Playing a day's actions: draw each response from the hidden truth and apply its effects.

A response is drawn against the customer's uniform for that slot of that day, so the
same customer at the same moment responds the same way under any policy that makes the
same contact (common random numbers: policy comparisons are paired, not just averaged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim import truth as t
from onevoice.sim.intents import DAY_MS, end
from onevoice.sim.policies.base import Responses
from onevoice.sim.population import Population
from onevoice.sim.response import ON_CLICK, TARGET, Contacts, odds, outcome_value
from onevoice.sim.rows import EventRows, concat, make_rows
from onevoice.sim.state import WorldState

# the columns of the per-slot uniforms
RESPOND, UNSUBSCRIBE, COMPLAIN, SETTLE, DELAY, MINUTE = range(6)
N_UNIFORMS = 6
MINUTE_MS = 60_000
_EMAIL, _WEB = cat.CH["email"], cat.CH["web"]
_HAZARD_BOOST = np.array([a.hazard_boost for a in cat.ACTIONS])
_KIND = np.array([cat.INTENTS[a.target].kind for a in cat.ACTIONS])


@dataclass(frozen=True, slots=True)
class Played:
    rows: EventRows
    responses: Responses
    sent_to: NDArray[np.int64]  # customers sent a message (not shown one in a session)


def play(
    contacts: Contacts,
    state: WorldState,
    people: Population,
    recorder: t.TruthRecorder,
    *,
    day_start: int,
    uniforms: NDArray[np.float64],
    solved_in_session: NDArray[np.int64],
) -> Played:
    """Deliver ``contacts``; ``uniforms`` is (customers, 2 slots, N_UNIFORMS)."""
    c, a, ch = contacts.customer, contacts.action, contacts.channel
    truth = odds(contacts, state, people)
    u = uniforms[c, (~contacts.inbound).astype(np.int64)]
    responded = u[:, RESPOND] < truth.response
    unsubscribed = u[:, UNSUBSCRIBE] < truth.unsubscribe
    complained = u[:, COMPLAIN] < truth.complaint
    settled = responded & truth.relevant & (u[:, SETTLE] < ON_CLICK[a])
    settled &= ~((_KIND[a] == cat.SERVICE) & (solved_in_session[c] >= 0))
    settled = _first_per_intent(settled, c, TARGET[a])
    last = day_start + DAY_MS - 1
    clicked_at = np.minimum(
        contacts.at + ((1 + 59 * u[:, DELAY]) * MINUTE_MS).astype(np.int64), last
    )
    later = np.minimum(contacts.at + ((5 + 240 * u[:, DELAY]) * MINUTE_MS).astype(np.int64), last)
    known = state.known[c]
    device = np.where(ch == _WEB, 0, np.where(ch == cat.CH["app"], 1, -1)).astype(np.int8)
    outbound = ~contacts.inbound
    landing_device = np.where(people.browsers[c] == 2, 2, 0).astype(np.int8)
    complaint_channel = np.where(ch == _EMAIL, _EMAIL, cat.CH["call_centre"])
    target = TARGET[a]
    sale = settled & (_KIND[a] == cat.SALE)
    order_channel = np.where(outbound, _WEB, ch)
    revenue = np.round(outcome_value(people, c, a), 2)
    parts = [
        make_rows(c, contacts.at, ch, cat.DELIVERED, device=device, login=known, action=a),
        _rows(responded, c, clicked_at, ch, cat.CLICKED, device, known, a),
        _rows(responded & outbound, c, clicked_at + 5_000, _WEB, cat.LANDING, landing_device,
              np.zeros_like(known), a),
        _rows(unsubscribed, c, later, ch, cat.UNSUBSCRIBED, device, known, a),
        _rows(complained, c, later + 1_000, complaint_channel, cat.COMPLAINED, device, known, a),
        _rows(sale, c, clicked_at + 600_000, order_channel,
              cat.ORDER, np.where(outbound, landing_device, device).astype(np.int8),
              np.ones_like(known), target, revenue),
    ]  # fmt: skip
    service = settled & (_KIND[a] == cat.SERVICE)
    parts.append(_rows(service, c, clicked_at + 300_000, ch, cat.RESOLVED, device, known, a))

    # effects on the world
    settle_at = np.minimum(clicked_at + 600_000, last)
    for k in range(cat.N_INTENTS):
        for mask, outcome in (
            (sale, t.CONVERTED),
            (service, t.RESOLVED),
            (settled & (_KIND[a] == cat.CHURN), t.RETAINED),
        ):
            hit = mask & (target == k) & state.active[c, target]
            if hit.any():
                whole = np.zeros(people.size, dtype=bool)
                whole[c[hit]] = True
                at = np.zeros(people.size, dtype=np.int64)
                at[c[hit]] = settle_at[hit]
                end(state, recorder, whole, k, at, outcome)
    state.owned[c[sale], target[sale]] = True
    state.known[c[sale]] = True
    state.attempts[c[service]] = 0
    nudged = responded & truth.relevant & ~settled
    state.boost[c[nudged], target[nudged]] *= _HAZARD_BOOST[a[nudged]]
    state.unsubscribed[c[unsubscribed], ch[unsubscribed]] = True
    spam = complained & (ch == _EMAIL)
    state.unsubscribed[c[spam], _EMAIL] = True
    np.add.at(state.grudge, c[complained], 0.5)
    annoying = ~truth.relevant | truth.expired
    np.add.at(state.fatigue, c, np.where(outbound, 1.0 + 0.5 * annoying, 0.3))

    recorder.contacted(
        {
            "customer": c.astype(np.int32),
            "at": contacts.at,
            "day": np.full(c.size, state.day, dtype=np.int32),
            "action": a.astype(np.int16),
            "channel": ch.astype(np.int8),
            "inbound": contacts.inbound,
            "relevant": truth.relevant,
            "expired": truth.expired,
            "fatigue": truth.fatigue,
            "p_response": truth.response,
            "p_unsubscribe": truth.unsubscribe,
            "p_complaint": truth.complaint,
            "p_outcome_without": truth.without,
            "p_outcome_with": truth.with_,
            "incremental_outcome": truth.incremental,
            "incremental_value": truth.incremental * outcome_value(people, c, a),
            "responded": responded,
            "unsubscribed": unsubscribed,
            "complained": complained,
            "settled": settled,
        }
    )
    responses = Responses(state.day, c, a, ch, responded, unsubscribed, complained)
    return Played(concat(parts), responses, np.unique(c[outbound]))


def _first_per_intent(
    settled: NDArray[np.bool_], customer: NDArray[np.int64], target: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """An intent settles once, even if two contacts the same day both settled it."""
    which = np.flatnonzero(settled)
    _keys, first = np.unique(customer[which] * cat.N_INTENTS + target[which], return_index=True)
    result = np.zeros_like(settled)
    result[which[first]] = True
    return result


def _rows(
    mask: NDArray[np.bool_],
    customer: NDArray[np.int64],
    at: NDArray[np.int64],
    channel: NDArray[np.int64] | int,
    content: int,
    device: NDArray[np.int8],
    login: NDArray[np.bool_],
    action: NDArray[np.int64],
    amount: NDArray[np.float64] | float = 0.0,
) -> EventRows:
    pick = np.flatnonzero(mask)
    channel_col = np.broadcast_to(channel, customer.shape)[pick]
    amount_col = np.broadcast_to(amount, customer.shape)[pick]
    return make_rows(
        customer[pick], at[pick], channel_col, content,
        device=device[pick], login=login[pick], action=action[pick], amount=amount_col,
    )  # fmt: skip
