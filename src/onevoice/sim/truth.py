"""Ground truth: what really happened in the simulated world, beside the events.

Three tables, so lift and off-policy estimates can be checked against the truth:

- **episodes** — every latent intent a customer had: when it started, when and how it
  ended (``converted``, ``resolved``, ``churned``, ``retained``, ``faded``, ``unresolved``,
  ``abandoned`` when the customer left, ``ongoing`` at the end of the run);
- **contacts** — every action delivered, with the true probabilities of response,
  unsubscribe and complaint at that moment and its true incremental effect (the chance of
  the outcome with the action minus without it, and that times the value);
- **daily** — one row per day of world totals, for charts over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

OUTCOMES = (
    "ongoing", "converted", "resolved", "churned", "retained", "faded", "unresolved", "abandoned",
)  # fmt: skip
ONGOING, CONVERTED, RESOLVED, CHURNED, RETAINED, FADED, UNRESOLVED, ABANDONED = range(8)

Columns = dict[str, NDArray[Any]]

CONTACT_COLUMNS = (
    "customer", "at", "day", "action", "channel", "inbound", "relevant", "expired", "fatigue",
    "p_response", "p_unsubscribe", "p_complaint", "p_outcome_without", "p_outcome_with",
    "incremental_outcome", "incremental_value", "responded", "unsubscribed", "complained",
    "settled",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """The finished truth tables (columns of equal length)."""

    episodes: Columns
    contacts: Columns
    daily: list[dict[str, float]]


@dataclass(slots=True)
class TruthRecorder:
    """Collects the truth as the simulation runs, one day's arrays at a time."""

    _starts: list[tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.int8], int]] = field(
        default_factory=list
    )
    _ends: list[tuple[NDArray[np.int64], NDArray[np.int64], int]] = field(default_factory=list)
    _contacts: list[Columns] = field(default_factory=list)
    daily: list[dict[str, float]] = field(default_factory=list)

    def started(
        self,
        episodes: NDArray[np.int64],
        customers: NDArray[np.int32],
        intents: NDArray[np.int8],
        at: int,
    ) -> None:
        if episodes.size:
            self._starts.append((episodes, customers, intents, at))

    def ended(self, episodes: NDArray[np.int64], at: NDArray[np.int64], outcome: int) -> None:
        if episodes.size:
            self._ends.append((episodes, np.broadcast_to(at, episodes.shape).copy(), outcome))

    def contacted(self, columns: Columns) -> None:
        if columns["customer"].size:
            self._contacts.append(columns)

    def finish(self) -> GroundTruth:
        """Join starts and ends into one row per episode; open ones are ``ongoing``."""
        if self._starts:
            ids = np.concatenate([s[0] for s in self._starts])
            customer = np.concatenate([s[1] for s in self._starts])
            intent = np.concatenate([s[2] for s in self._starts])
            start = np.concatenate([np.full(s[0].size, s[3], dtype=np.int64) for s in self._starts])
        else:
            ids = customer = intent = start = np.zeros(0, dtype=np.int64)
        order = np.argsort(ids)
        ids, customer, intent, start = ids[order], customer[order], intent[order], start[order]
        end = np.full(ids.size, -1, dtype=np.int64)
        outcome = np.full(ids.size, ONGOING, dtype=np.int8)
        for episodes, at, code in self._ends:
            where = np.searchsorted(ids, episodes)
            end[where] = at
            outcome[where] = code
        episodes_table: Columns = {
            "episode": ids,
            "customer": customer.astype(np.int32),
            "intent": intent.astype(np.int8),
            "start": start,
            "end": end,
            "outcome": outcome,
        }
        if self._contacts:
            contacts = {c: np.concatenate([d[c] for d in self._contacts]) for c in CONTACT_COLUMNS}
        else:
            contacts = {c: np.zeros(0) for c in CONTACT_COLUMNS}
        return GroundTruth(episodes_table, contacts, self.daily)
