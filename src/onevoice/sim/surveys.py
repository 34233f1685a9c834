"""Survey answers for a simulated world: after an intent ends, some customers answer an
``nps`` (0–10) and a ``ces`` (Customer Effort Score, 1–7) survey by email.

How they answer follows the hidden truth: a sale or a solved problem pleases, a problem
left unsolved does not, and every extra contact the customer needed on an assisted
channel (call centre, chat, branch, ivr) for it costs a point of NPS and adds a point of
effort. Only customers with an account answer (the survey goes to their ``userId``).

>>> from datetime import datetime, timezone
>>> from onevoice.sim import WorldConfig, simulate
>>> end = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> calls = survey_calls(simulate(WorldConfig(customers=300, days=14, seed=1, end=end)))
>>> {c["event"] for c in calls} <= {"nps", "ces"}
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onevoice.sim import catalog as cat
from onevoice.sim import truth as t
from onevoice.sim.runner import World
from onevoice.sim.segment import Identities, people_tag, world_tag

#: The NPS a customer gives after each outcome, before extra contacts.
NPS_AFTER = {t.CONVERTED: 9, t.RESOLVED: 9, t.RETAINED: 7, t.FADED: 7, t.UNRESOLVED: 3}
_ASSISTED = np.array([cat.CH[c] for c in ("call_centre", "chat", "branch", "ivr")])
_DELAY_MS = 2 * 3_600_000


def survey_calls(world: World, *, share: float = 0.3, seed: int = 0) -> list[dict[str, Any]]:
    """Segment ``track`` calls of the surveys answered after the world's ended intents."""
    episodes = world.truth.episodes
    rng = np.random.default_rng([world.config.seed, 99, seed])
    end_ms = int(world.end.timestamp() * 1000)
    customer = episodes["customer"].astype(np.int64)
    answered = (
        np.isin(episodes["outcome"], list(NPS_AFTER))
        & (episodes["end"] >= 0)
        & (episodes["end"] + _DELAY_MS < end_ms)
        & world.final.known[customer]
        & (rng.random(customer.size) < share)
    )
    noise = rng.integers(-1, 2, customer.size)
    rows = world.rows
    assisted = np.isin(rows.channel, _ASSISTED) & (rows.content < cat.N_BEHAVIOUR)
    contact_customer, contact_at = rows.customer[assisted], rows.at[assisted]
    order = np.lexsort((contact_at, contact_customer))
    contact_customer, contact_at = contact_customer[order], contact_at[order]
    ids = Identities(people_tag(world.config.seed, world.config.customers))
    tag = world_tag(world.config.seed, world.config.customers, world.config.days, world.policy)
    calls: list[dict[str, Any]] = []
    for n in np.flatnonzero(answered).tolist():
        who = int(customer[n])
        lo = np.searchsorted(contact_customer, who, side="left")
        hi = np.searchsorted(contact_customer, who, side="right")
        times = contact_at[lo:hi]
        contacts = int(((times >= episodes["start"][n]) & (times <= episodes["end"][n])).sum())
        extra = max(contacts - 1, 0)
        score = int(np.clip(NPS_AFTER[int(episodes["outcome"][n])] - extra + noise[n], 0, 10))
        effort = int(np.clip(1 + contacts + (episodes["outcome"][n] == t.UNRESOLVED), 1, 7))
        at = int(episodes["end"][n]) + _DELAY_MS
        for k, (survey, value) in enumerate((("nps", score), ("ces", effort))):
            stamp = np.datetime_as_string(np.datetime64(at + k * 1000, "ms"), unit="ms") + "Z"
            calls.append(
                {
                    "type": "track",
                    "messageId": f"survey-{tag}-{int(episodes['episode'][n])}-{k}",
                    "userId": ids.user_id(who),
                    "event": survey,
                    "timestamp": stamp,
                    "properties": {
                        "score": value,
                        "intent": cat.INTENTS[int(episodes["intent"][n])].name,
                    },
                    "context": {"channel": "email"},
                }
            )
    return calls
