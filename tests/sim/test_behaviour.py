"""Behaviour follows the hidden truth: intents drive visits, fatigue drives unsubscribes."""

from __future__ import annotations

import numpy as np

from onevoice.sim import World, simulate
from onevoice.sim import catalog as cat
from onevoice.sim.policies import Decisions, Moments, Responses
from onevoice.sim.view import CustomerView
from tests.sim.conftest import small

DAY_MS = 86_400_000


def _active_days(world: World, intent: int) -> np.ndarray:
    """(customers, days): was the intent really active that day."""
    days = world.config.days
    start_ms = int(world.start.timestamp() * 1000)
    active = np.zeros((world.people.size, days), dtype=bool)
    ep = world.truth.episodes
    end = np.where(ep["end"] < 0, start_ms + days * DAY_MS, ep["end"])
    for c, s, e in zip(
        ep["customer"][ep["intent"] == intent],
        ep["start"][ep["intent"] == intent],
        end[ep["intent"] == intent],
        strict=True,
    ):
        active[c, (s - start_ms) // DAY_MS : (e - start_ms) // DAY_MS + 1] = True
    return active


def test_customers_with_an_intent_visit_its_pages_far_more(blasted: World) -> None:
    rows = blasted.rows
    start_ms = int(blasted.start.timestamp() * 1000)
    for intent in (cat.MORTGAGE, cat.CARD_PROBLEM, cat.LEAVING):
        active = _active_days(blasted, intent)
        topic_rows = (rows.content < cat.N_BEHAVIOUR) & (
            cat.CONTENT_TOPIC[np.minimum(rows.content, cat.N_BEHAVIOUR - 1)] == 1 + intent
        )
        day = (rows.at[topic_rows] - start_ms) // DAY_MS
        on_active = active[rows.customer[topic_rows], np.clip(day, 0, active.shape[1] - 1)]
        rate_active = on_active.sum() / active.sum()
        rate_inactive = (~on_active).sum() / max((~active).sum(), 1)
        assert rate_active > 20 * rate_inactive, cat.INTENTS[intent].name


def test_mortgage_seekers_read_the_mortgage_pages() -> None:
    mortgage_pages = {cat.CONTENT[i].name for i in cat.topic_content(1 + cat.MORTGAGE, 0)}
    assert "Mortgage Rates" in mortgage_pages


class _Blast:
    """Sends the card offer by email to everyone reachable every ``every`` days."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.name = f"blast-every-{every}"

    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        decisions = Decisions.nothing(moments)
        if moments.day % self.every == 0:
            slot = ~moments.in_session & view.contactable[moments.customer, cat.CH["email"]]
            decisions.action[slot] = cat.ACTION_INDEX["card_offer"]
            decisions.channel[slot] = cat.CH["email"]
        return decisions

    def learn(self, responses: Responses) -> None:
        pass


def test_fatigue_raises_unsubscribes_per_message() -> None:
    config = small(customers=3_000, days=28)
    daily = simulate(config, _Blast(1)).truth.contacts
    weekly = simulate(config, _Blast(7)).truth.contacts
    assert daily["unsubscribed"].mean() > 1.5 * weekly["unsubscribed"].mean()
    assert daily["p_response"].mean() < weekly["p_response"].mean()
    # and within one run: the more tired, the likelier to leave the list
    tired = daily["fatigue"] > np.median(daily["fatigue"])
    assert daily["p_unsubscribe"][tired].mean() > daily["p_unsubscribe"][~tired].mean()


def test_relevant_messages_get_more_responses(ruled: World) -> None:
    contacts = ruled.truth.contacts
    relevant = contacts["relevant"].astype(bool)
    assert relevant.any() and (~relevant).any()
    assert contacts["responded"][relevant].mean() > 3 * contacts["responded"][~relevant].mean()


def test_expired_messages_annoy_more_than_merely_irrelevant_ones(blasted: World) -> None:
    contacts = blasted.truth.contacts
    expired = contacts["expired"].astype(bool)
    plain = ~contacts["relevant"].astype(bool) & ~expired
    assert expired.sum() > 10 and plain.sum() > 10
    assert contacts["p_unsubscribe"][expired].mean() > 2 * contacts["p_unsubscribe"][plain].mean()
    assert contacts["p_response"][expired].mean() < contacts["p_response"][plain].mean()


def test_some_customers_use_several_devices_and_some_hop_channels(blasted: World) -> None:
    rows = blasted.rows
    devices = np.unique(rows.customer[rows.device >= 0] * 4 + rows.device[rows.device >= 0])
    per_customer = np.bincount(devices // 4)
    assert (per_customer >= 2).sum() > 100
    channels = np.unique(rows.customer.astype(np.int64) * 16 + rows.channel)
    assert (np.bincount(channels // 16) >= 3).sum() > 100
