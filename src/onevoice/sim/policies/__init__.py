"""Reference policies, by the name the command line and the benchmarks use."""

from __future__ import annotations

from collections.abc import Callable

from onevoice.sim.policies.base import Decisions, Moments, Policy, Responses
from onevoice.sim.policies.batch_blast import BatchAndBlast
from onevoice.sim.policies.nothing import Nothing
from onevoice.sim.policies.onevoice import PENDING_REASON, OnevoicePolicy, PolicyUnavailable
from onevoice.sim.policies.static_rules import StaticRules

POLICIES: dict[str, Callable[[], Policy]] = {
    "nothing": Nothing,
    "batch-and-blast": BatchAndBlast,
    "static-rules": StaticRules,
}
#: Policies that exist by name but cannot run yet, and why.
PENDING: dict[str, str] = {"onevoice": PENDING_REASON}

__all__ = [
    "PENDING",
    "POLICIES",
    "BatchAndBlast",
    "Decisions",
    "Moments",
    "Nothing",
    "OnevoicePolicy",
    "Policy",
    "PolicyUnavailable",
    "Responses",
    "StaticRules",
]
