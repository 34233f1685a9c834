"""Simulated events as columns, before they become Segment calls.

The simulator never builds a dict per event while it runs: each day appends a few numpy
columns (who, when, where, what) and :mod:`.segment` turns them into Segment-shaped calls
only when they are written, in chunks. That is what keeps 100,000 customers fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

NO_DEVICE = -1


@dataclass(frozen=True, slots=True)
class EventRows:
    """Events as columns; ``at`` is milliseconds since the Unix epoch (UTC)."""

    customer: NDArray[np.int32]
    at: NDArray[np.int64]
    channel: NDArray[np.int8]
    content: NDArray[np.int16]
    device: NDArray[np.int8]  # 0 desktop browser, 1 app, 2 phone browser, -1 none
    login: NDArray[np.bool_]  # carries the customer's userId
    action: NDArray[np.int16]  # the action a delivery event is about, else -1
    amount: NDArray[np.float64]  # order revenue, else 0

    def __len__(self) -> int:
        return int(self.customer.shape[0])

    def take(self, index: NDArray[np.int64] | NDArray[np.bool_]) -> EventRows:
        return EventRows(*(getattr(self, f)[index] for f in _FIELDS))


_FIELDS = ("customer", "at", "channel", "content", "device", "login", "action", "amount")


def make_rows(
    customer: NDArray[np.integer],
    at: NDArray[np.integer],
    channel: NDArray[np.integer] | int,
    content: NDArray[np.integer] | int,
    *,
    device: NDArray[np.integer] | int = NO_DEVICE,
    login: NDArray[np.bool_] | bool = True,
    action: NDArray[np.integer] | int = -1,
    amount: NDArray[np.floating] | float = 0.0,
) -> EventRows:
    """Build rows, broadcasting scalars to the length of ``customer``."""
    n = customer.shape[0]

    def col(value: object, dtype: type[np.generic]) -> NDArray[np.generic]:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

    return EventRows(
        customer=customer.astype(np.int32),
        at=at.astype(np.int64),
        channel=col(channel, np.int8).astype(np.int8),
        content=col(content, np.int16).astype(np.int16),
        device=col(device, np.int8).astype(np.int8),
        login=col(login, np.bool_).astype(np.bool_),
        action=col(action, np.int16).astype(np.int16),
        amount=col(amount, np.float64).astype(np.float64),
    )


def concat(parts: list[EventRows]) -> EventRows:
    """One table from many (an empty list gives an empty table)."""
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return make_rows(empty, empty, 0, 0)
    return EventRows(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def chronological(rows: EventRows) -> EventRows:
    """Sorted by time, then customer (stable, so a session keeps its order)."""
    order = np.lexsort((rows.customer, rows.at))
    return rows.take(order)
