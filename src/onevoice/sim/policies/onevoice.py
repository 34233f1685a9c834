"""The onevoice policy: the real decide and responses API, played in the simulated world.

NOT AVAILABLE YET. This policy must call the engine's own ``decide`` (eligibility, contact
policy, arbitration with "no action") at each moment and report each played response to
its ``responses`` API, so the comparison measures the real engine and nothing else. Those
APIs arrive with issue 4 ("Next best action with one voice: decide, respect, learn"); until
then there is deliberately no stand-in here — a hand-tuned imitation would flatter the
engine with numbers it did not earn. ``OnevoicePolicy()`` raises
:class:`PolicyUnavailable`, and ``onevoice bench policies`` lists the row as pending.

When issue 4 lands: build one decide request per moment from the customer's identifiers
(``onevoice.sim.segment.identity``) and the moment's channel, map the chosen action name
back to :data:`onevoice.sim.catalog.ACTION_INDEX`, and send ``Responses`` back in ``learn``.
"""

from __future__ import annotations

from onevoice.domain.errors import OnevoiceError

PENDING_REASON = "needs the decide and responses API of issue 4, which has not landed yet"


class PolicyUnavailable(OnevoiceError):
    """A policy that cannot run in this build, and why."""


class OnevoicePolicy:
    """Placeholder that refuses to run until the decide API exists (see module docstring)."""

    name = "onevoice"

    def __init__(self) -> None:
        raise PolicyUnavailable(f"the onevoice policy {PENDING_REASON}", field="policy")
