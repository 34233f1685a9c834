"""The hidden truth of how customers respond to an action, fatigue included.

A contact lands well when it is relevant to what the customer is trying to do right now,
on a channel they like, at a sensible hour, and when they have not been contacted much
lately. Every recent contact (``state.fatigue``) lowers the response and raises the chance
of unsubscribing and complaining; irrelevant and expired messages (an offer for something
they just bought or gave up on) raise them more.

The true incremental effect of a contact is the chance of its good outcome (a sale, a
solved problem, a customer kept) with the contact minus without it, over the intent's
remaining life, with nothing else done — what an unbiased lift estimate should recover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim.behaviour import SESSIONS_PER_DAY
from onevoice.sim.intents import HOUR_MS, TZ_OFFSET, outcome_hazard
from onevoice.sim.population import Population
from onevoice.sim.state import WorldState

TARGET = np.array([a.target for a in cat.ACTIONS])
BASE_LOGIT = np.array([a.base_logit for a in cat.ACTIONS])
ON_CLICK = np.array([a.on_click for a in cat.ACTIONS])
HAZARD_BOOST = np.array([a.hazard_boost for a in cat.ACTIONS])
VALUE = np.array([i.value for i in cat.INTENTS])
KIND = np.array([i.kind for i in cat.INTENTS])
#: Response log-odds by local hour: fine by day, worse early and late, bad at night.
HOUR_EFFECT = np.array([-1.5] * 6 + [-0.7, -0.3] + [0.0] * 13 + [-0.4, -0.8, -1.2])
QUIET = (np.arange(24) < 8) | (np.arange(24) >= 21)
IRRELEVANT_PENALTY = 2.8
FATIGUE_RESPONSE = 0.35
EXPIRED_DAYS = 30
_UNSUBSCRIBE_BASE = np.zeros(cat.N_CHANNELS)
_UNSUBSCRIBE_BASE[[cat.CH["email"], cat.CH["sms"], cat.CH["push"]]] = [-6.6, -6.0, -6.2]


@dataclass(frozen=True, slots=True)
class Contacts:
    """Actions about to reach customers."""

    customer: NDArray[np.int64]
    action: NDArray[np.int64]
    channel: NDArray[np.int64]
    at: NDArray[np.int64]
    inbound: NDArray[np.bool_]  # shown in a session (web/app) rather than sent


@dataclass(frozen=True, slots=True)
class Odds:
    """The truth about each contact at the moment it lands."""

    relevant: NDArray[np.bool_]
    expired: NDArray[np.bool_]
    fatigue: NDArray[np.float64]
    response: NDArray[np.float64]
    unsubscribe: NDArray[np.float64]
    complaint: NDArray[np.float64]
    without: NDArray[np.float64]  # chance of the good outcome if not contacted
    with_: NDArray[np.float64]  # … and if contacted

    @property
    def incremental(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = self.with_ - self.without
        return result


def sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return result


def odds(contacts: Contacts, state: WorldState, people: Population) -> Odds:
    """Evaluate the hidden response model for each contact."""
    c, a, ch = contacts.customer, contacts.action, contacts.channel
    target = TARGET[a]
    relevant = state.active[c, target]
    expired = ~relevant & (state.day - state.last_end[c, target] <= EXPIRED_DAYS)
    fatigue = state.fatigue[c]
    hour = (contacts.at // HOUR_MS + TZ_OFFSET[people.timezone[c]]) % 24
    quiet = QUIET[hour] & ~contacts.inbound
    price_offer = np.isin(target, (cat.MORTGAGE, cat.CARD, cat.SAVINGS))
    logit = (
        BASE_LOGIT[a]
        - IRRELEVANT_PENALTY * ~relevant
        - 1.0 * expired
        + people.response[c, ch]
        + HOUR_EFFECT[hour]
        - FATIGUE_RESPONSE * fatigue
        + 0.8 * (people.price_sensitivity[c] - 0.5) * price_offer
    )
    response = sigmoid(logit)
    annoying = ~relevant + expired.astype(np.float64)
    unsubscribe = (
        sigmoid(
            _UNSUBSCRIBE_BASE[ch]
            + people.unsubscribe_proneness[c]
            + 0.35 * fatigue
            + 0.9 * annoying
            + 0.8 * expired
            + 0.7 * quiet
        )
        * ~contacts.inbound
    )
    complaint = sigmoid(
        -8.0 + 0.5 * people.unsubscribe_proneness[c] + 0.45 * fatigue + 1.0 * annoying
        + 1.0 * expired + 1.2 * quiet - 2.0 * contacts.inbound
    )  # fmt: skip
    without, with_click = _outcome_chances(state, people, c, target, a)
    without = without * relevant
    with_ = without + response * relevant * (with_click - without)
    return Odds(relevant, expired, fatigue, response, unsubscribe, complaint, without, with_)


def outcome_value(
    people: Population, customer: NDArray[np.int64], action: NDArray[np.int64]
) -> NDArray[np.float64]:
    """What the good outcome of an action's intent is worth (service outcomes: 0)."""
    result: NDArray[np.float64] = VALUE[TARGET[action]] * people.value[customer]
    return result


def _outcome_chances(
    state: WorldState,
    people: Population,
    c: NDArray[np.int64],
    target: NDArray[np.int64],
    a: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Chance of the good outcome over the remaining days, without and with a click."""
    remaining = np.maximum(state.days_left[c, target], 1)
    hazard = outcome_hazard(state, people)[c, target]
    kind = KIND[target]
    boosted = np.minimum(hazard * HAZARD_BOOST[a], 1.0)
    happens = 1.0 - (1.0 - hazard) ** remaining
    happens_boosted = 1.0 - (1.0 - boosted) ** remaining
    settle = ON_CLICK[a]
    without = happens.copy()
    with_click = settle + (1.0 - settle) * happens_boosted
    leaving = kind == cat.CHURN  # the good outcome is *not* leaving
    without[leaving] = 1.0 - happens[leaving]
    with_click[leaving] = (1.0 - settle[leaving]) * (1.0 - happens_boosted[leaving]) + settle[
        leaving
    ]
    service = kind == cat.SERVICE
    if service.any():
        solved = 1.0 - (1.0 - _self_solve(state, people, c[service])) ** remaining[service]
        without[service] = solved
        with_click[service] = settle[service] + (1.0 - settle[service]) * solved
    return without, with_click


def _self_solve(state: WorldState, people: Population, c: NDArray[np.int64]) -> NDArray[np.float64]:
    """Daily chance a card problem gets solved without help, given how the customer hops."""
    topic = 1 + cat.CARD_PROBLEM
    weights = people.pref[c] * cat.AFFINITY[topic]
    weights[state.attempts[c] > 0] *= cat.ESCALATION
    empty = weights.sum(axis=1) <= 0
    weights[empty] = cat.AFFINITY[topic]
    per_session = (weights / weights.sum(axis=1, keepdims=True)) @ cat.RESOLVE
    sessions = SESSIONS_PER_DAY[cat.CARD_PROBLEM] * (1.0 + 0.6 * state.attempts[c])
    result: NDArray[np.float64] = 1.0 - np.exp(-sessions * per_session)
    return result
