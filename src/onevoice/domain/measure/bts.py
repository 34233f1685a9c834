"""What a Bernoulli Thompson Sampling slate policy shows where, by Monte Carlo.

A context-free BTS policy filling ``slots`` positions draws one click rate per item from
its Beta(α, β) posterior and shows the items with the highest draws, best first. The
probability that item ``a`` lands in slot ``k`` has no closed form for many items, so it
is estimated by repeating the draw (``draws`` times, seeded) and counting — the way the
Open Bandit Pipeline computes the production BTS policy's action distribution from its
priors. With 100,000 draws each probability is within about ±0.003 (two standard
errors at worst, p = ½) and much closer for the rare items.

>>> dist = thompson_slate_distribution(
...     np.array([90.0, 50.0, 10.0]), np.array([10.0, 50.0, 90.0]), slots=2, draws=2_000
... )
>>> dist.shape, dist.sum(axis=0).round(6).tolist()
((3, 2), [1.0, 1.0])
>>> dist[0, 0] > 0.99, dist[2, 0] < 0.01
(np.True_, np.True_)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput

DRAWS = 100_000
_BATCH = 10_000


def thompson_slate_distribution(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    *,
    slots: int,
    draws: int = DRAWS,
    seed: int = 0,
) -> NDArray[np.float64]:
    """``P[item, slot]``: how often each item is shown in each slot (columns sum to 1)."""
    n_items = len(alpha)
    if len(beta) != n_items or n_items == 0:
        raise InvalidInput("alpha and beta need one value per item, and at least one item")
    if not 0 < slots <= n_items:
        raise InvalidInput(f"slots must be between 1 and the {n_items} items", field="slots")
    if draws < 1:
        raise InvalidInput("draws must be at least 1", field="draws")
    if np.any(alpha <= 0) or np.any(beta <= 0):
        raise InvalidInput("Beta parameters must be positive")
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_items, slots))
    done = 0
    while done < draws:
        size = min(_BATCH, draws - done)
        scores = rng.beta(alpha, beta, size=(size, n_items))
        top = np.argpartition(-scores, slots - 1, axis=1)[:, :slots]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        ranked = np.take_along_axis(top, order, axis=1)
        for slot in range(slots):
            counts[:, slot] += np.bincount(ranked[:, slot], minlength=n_items)
        done += size
    return counts / draws
