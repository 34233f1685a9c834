"""The brand's consent register at the end of a simulated world, as CRM ``identify`` calls.

A simulated customer's events say what they did, not what they agreed to; a real brand
holds consent in its CRM and syncs it. Without that sync onevoice would (rightly) send no
marketing to anyone. One call per customer: marketing consent on email, SMS and push as
the world ended (given, not withdrawn by an unsubscribe, still a customer), on web and app
while still a customer, and the home time zone, so quiet hours are the customer's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onevoice.sim import catalog as cat
from onevoice.sim.runner import World
from onevoice.sim.segment import Identities, people_tag, world_tag

_OUTBOUND_NAMES = ("email", "sms", "push")


def consent_calls(world: World) -> list[dict[str, Any]]:
    """One ``identify`` per customer with a ``consent`` and ``timezone`` trait."""
    people, final = world.people, world.final
    contactable = final.contactable(people)
    ids = Identities(people_tag(world.config.seed, world.config.customers))
    tag = world_tag(world.config.seed, world.config.customers, world.config.days, world.policy)
    end_ms = int(world.end.timestamp() * 1000) - 1000
    stamp = np.datetime_as_string(np.datetime64(end_ms, "ms"), unit="ms") + "Z"
    calls: list[dict[str, Any]] = []
    for customer in range(people.size):
        live = bool(final.alive[customer])
        marketing = {name: bool(contactable[customer, cat.CH[name]]) for name in _OUTBOUND_NAMES}
        marketing |= {"web": live, "app": live}
        call: dict[str, Any] = {
            "type": "identify",
            "messageId": f"consent-{tag}-{customer}",
            "timestamp": stamp,
            "traits": {
                "consent": {"marketing": marketing},
                "timezone": cat.TIMEZONES[int(people.timezone[customer])][0],
            },
            "context": {"channel": "other"},
        }
        if final.known[customer]:
            call["userId"] = ids.user_id(customer)
        else:
            call["anonymousId"] = ids.anonymous_id(customer, 0)
        calls.append(call)
    return calls
