"""What a learner sees of a decision: the channel, the lifecycle stage and the request context.

The channel and the stage are one-hot (``channel=web``, ``lifecycle=customer``). The
context a channel sends with ``decide`` is what the brand knows of the moment — interest
scores, what is in the basket, whether the customer already holds a product — so every
number or yes/no in it becomes a feature named by its path (``context.interest.mortgage``):
a learner with one posterior per action can then learn that a mortgage offer works for
customers who read about mortgages. Text values are left out (they are not amounts), and
large amounts are squashed with ``sign(x)·log(1 + |x|)`` so a basket of 2,000 does not
swamp a logistic model's other weights. At most ``limit`` context features are taken
(sorted by path), so a chatty client cannot grow the model without bound.

>>> features = decision_features("web", "customer", {"interest": {"mortgage": 1.5},
...                                                   "page": "home", "bought": {"card": True}})
>>> sorted(features.items())  # doctest: +NORMALIZE_WHITESPACE
[('channel=web', 1.0), ('context.bought.card', 1.0), ('context.interest.mortgage', 0.916),
 ('lifecycle=customer', 1.0)]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

#: How many context features one decision may carry.
CONTEXT_LIMIT = 32
_MAX_DEPTH = 4


def decision_features(
    channel: str, lifecycle: str, context: Mapping[str, Any], *, limit: int = CONTEXT_LIMIT
) -> dict[str, float]:
    """The features of one decision request (see the module docstring)."""
    features = {f"channel={channel}": 1.0, f"lifecycle={lifecycle}": 1.0}
    numbers = sorted(_numbers(context, "context", 0))[:limit]
    features.update((path, value) for path, value in numbers)
    return features


def _numbers(value: Any, path: str, depth: int) -> Iterator[tuple[str, float]]:
    if isinstance(value, bool):
        yield path, 1.0 if value else 0.0
    elif isinstance(value, (int, float)):
        if math.isfinite(value):
            yield path, _squash(float(value))
    elif isinstance(value, Mapping) and depth < _MAX_DEPTH:
        for key, inner in value.items():
            yield from _numbers(inner, f"{path}.{key}", depth + 1)


def _squash(x: float) -> float:
    return round(math.copysign(math.log1p(abs(x)), x), 3)
