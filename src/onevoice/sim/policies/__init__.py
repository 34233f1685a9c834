"""Reference policies, by the name the command line and the benchmarks use."""

from __future__ import annotations

from collections.abc import Callable

from onevoice.sim.policies.base import Decisions, Moments, Observing, Policy, Responses
from onevoice.sim.policies.batch_blast import BatchAndBlast
from onevoice.sim.policies.nothing import Nothing
from onevoice.sim.policies.onevoice import OnevoicePolicy, PolicyUnavailable
from onevoice.sim.policies.static_rules import StaticRules

POLICIES: dict[str, Callable[[], Policy]] = {
    "nothing": Nothing,
    "batch-and-blast": BatchAndBlast,
    "static-rules": StaticRules,
    "onevoice": OnevoicePolicy,
}
#: Policies that exist by name but cannot run yet, and why (none since issue 4 landed).
PENDING: dict[str, str] = {}

__all__ = [
    "PENDING",
    "POLICIES",
    "BatchAndBlast",
    "Decisions",
    "Moments",
    "Nothing",
    "Observing",
    "OnevoicePolicy",
    "Policy",
    "PolicyUnavailable",
    "Responses",
    "StaticRules",
]
