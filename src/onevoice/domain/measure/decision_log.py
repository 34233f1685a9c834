"""The decision log as columns: what every report reads, whatever it was read from.

One row per decision, numpy arrays of equal length, names as small integer codes (so ten
million decisions fit in a few hundred megabytes and every report is a handful of
vectorised passes). A row says *who* (``subject``), *when* (``at``, seconds), *which*
marketing action it is about (``action``: the one shown, or for a random control the one
withheld; −1 for none), on which ``channel`` and in which ``segment``, in which ``group``:

- ``TREATED``  a marketing action was shown;
- ``CONTROL``  a marketing action was chosen and withheld by the per-action random control;
- ``HOLDOUT``  the customer is in the universal holdout (no marketing at all);
- ``NONE``     nothing marketing was shown (nothing was worth it, or nothing eligible);

the ``component`` arm that decided it (0: the full engine, ``k``: ``components[k−1]``),
and what followed: ``converted`` (1 when the customer ordered within the attribution
window after the decision), ``revenue`` (what they ordered for in it), the contact
``cost`` (0 unless shown), ``unsubscribed`` and ``complained``; and, for the holdout
comparison (customers, from their first decision on), ``later_orders`` and
``later_revenue``: the customer's orders from the decision to the end of the period.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput

TREATED, CONTROL, HOLDOUT, NONE = 0, 1, 2, 3
GROUPS = ("treated", "control", "holdout", "none")
FULL_ENGINE = 0
#: Channels on which a contact is a message sent (not an offer shown in a visit).
MESSAGE_CHANNELS = frozenset({"email", "sms", "push"})
NO_PROGRAM = "(none)"


@dataclass(frozen=True)
class DecisionLog:
    """Columns of equal length, and the names their codes stand for (see the module)."""

    subject: NDArray[np.int64]
    at: NDArray[np.float64]
    action: NDArray[np.int32]
    channel: NDArray[np.int16]
    segment: NDArray[np.int16]
    group: NDArray[np.int8]
    component: NDArray[np.int8]
    converted: NDArray[np.float64]
    revenue: NDArray[np.float64]
    cost: NDArray[np.float64]
    unsubscribed: NDArray[np.bool_]
    complained: NDArray[np.bool_]
    later_orders: NDArray[np.float64]
    later_revenue: NDArray[np.float64]
    actions: tuple[str, ...]
    programs: tuple[str, ...]
    program_of: NDArray[np.int16]  # per action, an index into ``programs``
    channels: tuple[str, ...]
    segments: tuple[str, ...]
    components: tuple[str, ...]
    start: float
    end: float

    def __post_init__(self) -> None:
        n = len(self.subject)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and f.name != "program_of" and len(value) != n:
                raise InvalidInput(f"column {f.name} has {len(value)} rows, not {n}")
        if len(self.program_of) != len(self.actions):
            raise InvalidInput("program_of needs one program per action")
        if self.end < self.start:
            raise InvalidInput("the period ends before it starts", field="until")

    def __len__(self) -> int:
        return len(self.subject)

    @property
    def weeks(self) -> float:
        return max(self.end - self.start, 1.0) / (7 * 86400)

    @cached_property
    def first_decisions(self) -> NDArray[np.int64]:
        """The row of each customer's first decision (customers enter the holdout
        comparison there: membership is fixed, and nothing was done to them before);
        of two at the same moment, the earlier row. Linear, no sort of the whole log."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        earliest = np.full(int(self.subject.max()) + 1, np.inf)
        np.minimum.at(earliest, self.subject, self.at)
        candidates = np.flatnonzero(self.at == earliest[self.subject])
        _customers, first = np.unique(self.subject[candidates], return_index=True)
        rows: NDArray[np.int64] = candidates[first]
        return rows

    @property
    def program(self) -> NDArray[np.int16]:
        """Each decision's program (−1 where it is about no action)."""
        table = np.append(self.program_of, -1).astype(np.int16)
        result: NDArray[np.int16] = table[self.action]
        return result

    def dimension(self, by: str) -> tuple[NDArray[Any], tuple[str, ...]]:
        """The codes and names of a dimension: action, program, channel, segment or all."""
        if by == "action":
            return self.action, self.actions
        if by == "program":
            return self.program, self.programs
        if by == "channel":
            return self.channel, self.channels
        if by == "segment":
            return self.segment, self.segments
        if by == "all":
            return np.zeros(len(self), dtype=np.int8), ("all",)
        raise InvalidInput(
            f"by must be one of action, program, channel, segment, all, not {by!r}", field="by"
        )


def empty_log(start: float = 0.0, end: float = 0.0) -> DecisionLog:
    """A log without decisions (every report answers with no rows or "no data")."""
    return DecisionLog(
        subject=np.zeros(0, np.int64),
        at=np.zeros(0),
        action=np.zeros(0, np.int32),
        channel=np.zeros(0, np.int16),
        segment=np.zeros(0, np.int16),
        group=np.zeros(0, np.int8),
        component=np.zeros(0, np.int8),
        converted=np.zeros(0),
        revenue=np.zeros(0),
        cost=np.zeros(0),
        unsubscribed=np.zeros(0, bool),
        complained=np.zeros(0, bool),
        later_orders=np.zeros(0),
        later_revenue=np.zeros(0),
        actions=(),
        programs=(),
        program_of=np.zeros(0, np.int16),
        channels=(),
        segments=(),
        components=(),
        start=start,
        end=end,
    )
