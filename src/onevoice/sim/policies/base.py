"""The policy protocol: at each customer moment, what to do and on which channel.

The simulator hands a policy a batch of :class:`Moments` — today's web and app sessions
(where a page can show an offer) and one send slot per customer (where the brand may send
an email, SMS or push) — with the :class:`~onevoice.sim.view.CustomerView` of what the
brand knows. The policy answers with one :class:`Decisions` row per moment: an action or
``NO_ACTION``, the channel, and for sends the local hour. After the responses are played,
the simulator calls ``learn`` with what the brand would observe.

Batches rather than single moments because a world of 100,000 customers has millions of
moments; a policy that thinks one customer at a time can loop inside ``decide``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from onevoice.sim.catalog import NO_ACTION
from onevoice.sim.segment import Identities
from onevoice.sim.view import CustomerView

SEND_SLOT = -1  # the channel of a moment at which the brand may send (not a session)
DEFAULT_SEND_HOUR = 10  # UTC


@dataclass(frozen=True, slots=True)
class Moments:
    """Moments at which a policy may act (one row each)."""

    day: int
    customer: NDArray[np.int64]
    channel: NDArray[np.int8]  # web or app for a session, SEND_SLOT for a send slot
    start: int = 0  # the day's start, ms since the epoch (UTC)

    @property
    def size(self) -> int:
        return int(self.customer.shape[0])

    @property
    def in_session(self) -> NDArray[np.bool_]:
        result: NDArray[np.bool_] = self.channel != SEND_SLOT
        return result


@dataclass(frozen=True, slots=True)
class Decisions:
    """One answer per moment: ``action`` (or ``NO_ACTION``), ``channel`` and send ``hour``
    (UTC; ``view.utc_offset`` gives each customer's local time).

    In a session the channel must be the session's; at a send slot it must be email, sms
    or push. Decisions on a channel the customer cannot be reached on are not delivered.
    """

    action: NDArray[np.int16]
    channel: NDArray[np.int8]
    hour: NDArray[np.int8]

    @classmethod
    def nothing(cls, moments: Moments) -> Decisions:
        return cls(
            action=np.full(moments.size, NO_ACTION, dtype=np.int16),
            channel=moments.channel.copy(),
            hour=np.full(moments.size, DEFAULT_SEND_HOUR, dtype=np.int8),
        )


@dataclass(frozen=True, slots=True)
class Responses:
    """What the brand observes of its delivered actions, for learning policies."""

    day: int
    customer: NDArray[np.int64]
    action: NDArray[np.int64]
    channel: NDArray[np.int64]
    responded: NDArray[np.bool_]
    unsubscribed: NDArray[np.bool_]
    complained: NDArray[np.bool_]


@runtime_checkable
class Policy(Protocol):
    """Anything that decides at moments and may learn from responses."""

    name: str

    def decide(self, moments: Moments, view: CustomerView) -> Decisions: ...

    def learn(self, responses: Responses) -> None: ...


@runtime_checkable
class Observing(Protocol):
    """A policy that also reads the day's events as the brand's tracking sends them
    (Segment calls, after the day is played) — how the onevoice policy keeps its profiles
    live through the real collect path."""

    def begin(self, ids: Identities) -> None:
        """Called once before the first day with the brand's identifiers of its customers."""

    def observe(self, day: int, calls: list[dict[str, Any]]) -> None: ...
