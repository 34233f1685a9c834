"""Adaptive models that learn from responses: one protocol, one learner per file.

Only the learners themselves and ``thompson`` (arbitration's array maths) use numpy;
importing the protocol (``base``) does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onevoice.domain.errors import InvalidInput
from onevoice.domain.learning.base import Learner


def load(state: Mapping[str, Any]) -> Learner:
    """Rebuild a learner from its ``to_state()`` (e.g. after a restart)."""
    from onevoice.domain.learning import beta, logistic

    kind = state.get("kind")
    if kind == beta.KIND:
        return beta.BetaBernoulli.from_state(state)
    if kind == logistic.KIND:
        return logistic.BayesianLogistic.from_state(state)
    raise InvalidInput(f"unknown learner kind {kind!r}", field="kind")
