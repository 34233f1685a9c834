"""What arbitration saw of each action: an exclusion, or the numbers it was scored by.

A decision excludes most of a catalog with reasons that recur word for word, and scores
the rest; it keeps the scored actions as columns (:class:`Scores`) rather than an object
and a sentence per action, because a decide is paid for per eligible action and almost
no reader looks past the chosen one. :meth:`Scores.candidates` spells them out for those
who do (the Studio's preview, the log's readers), with the same story the chosen action
was explained by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


class Candidate(NamedTuple):
    """One action as arbitration saw it: excluded (by which rule, why) or scored.

    Immutable like the other records here, but a named tuple: a decision makes one per
    excluded action of the catalog, and a frozen dataclass costs three times as much.
    """

    action_id: str
    purpose: str
    excluded_by: str | None = None
    reasons: tuple[str, ...] = ()
    probability: float | None = None
    expected_value: float | None = None
    score: float | None = None
    chosen_probability: float | None = None
    control: bool = False


class Excluded(NamedTuple):
    """Actions one rule excluded for the same reasons — no treatment for the channel, a
    purpose refused there, a shared eligibility rule that does not match — kept as one
    group, as arbitration finds them (and as the log writes them)."""

    excluded_by: str
    reasons: tuple[str, ...]
    action_ids: tuple[str, ...]
    purposes: tuple[str, ...]

    def candidates(self) -> tuple[Candidate, ...]:
        """Each action of the group as a :class:`Candidate`."""
        return tuple(
            Candidate(action_id, purpose, self.excluded_by, self.reasons)
            for action_id, purpose in zip(self.action_ids, self.purposes, strict=True)
        )


def expected_value_story(
    probability: float,
    expected_value: float,
    value: float,
    weight: float,
    contact_cost: float,
    fatigue_risk: float,
    optout_risk: float = 0.0,
) -> str:
    """``expected value EV = P × value V × weight W − contact cost C − fatigue risk R``,
    and ``− opt-out risk O`` where the message may cost the channel.

    >>> expected_value_story(0.076, 23.18, 157, 2, 0.72, 0.03)
    'expected value 23.18 = 7.6% × value 157 × weight 2 − contact cost 0.72 − fatigue risk 0.03'
    """
    story = (
        f"expected value {expected_value:.2f} = {probability:.1%} × value {value:g}"
        f" × weight {weight:g} − contact cost {contact_cost:.2f} − fatigue risk {fatigue_risk:.2f}"
    )
    return f"{story} − opt-out risk {optout_risk:.2f}" if optout_risk > 0 else story


@dataclass(frozen=True, slots=True)
class Scores:
    """The eligible actions of one decision and their numbers, one column each, in
    catalog order (position ``n`` of every column is the same action).

    ``probability`` is the posterior mean of P(positive), ``score`` what the ranking used
    (a Thompson draw when the decision explored), ``chosen_probability`` the chance the
    action was ranked first under this policy; ``value``, ``weight``, ``contact_cost``,
    ``fatigue_risk`` and ``optout_risk`` are the terms of ``expected_value``;
    ``withheld`` the positions a random control held back.
    """

    action_ids: Sequence[str]
    purposes: Sequence[str]
    probability: Sequence[float]
    expected_value: Sequence[float]
    score: Sequence[float]
    chosen_probability: Sequence[float]
    value: Sequence[float]
    weight: Sequence[float]
    contact_cost: Sequence[float]
    optout_risk: Sequence[float]
    fatigue_risk: float
    withheld: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.action_ids)

    def story(self, n: int) -> str:
        """Why action ``n`` is worth what it is (its expected value, term by term)."""
        return expected_value_story(
            self.probability[n],
            self.expected_value[n],
            self.value[n],
            self.weight[n],
            self.contact_cost[n],
            self.fatigue_risk,
            self.optout_risk[n],
        )

    def position(self, action_id: str) -> int | None:
        """Where ``action_id`` is among the scored actions (None if it was not scored)."""
        try:
            return list(self.action_ids).index(action_id)
        except ValueError:
            return None

    def candidates(self) -> tuple[Candidate, ...]:
        """Every scored action as a :class:`Candidate`, its story as its reason."""
        return tuple(
            Candidate(
                self.action_ids[n],
                self.purposes[n],
                None,
                (self.story(n),),
                self.probability[n],
                self.expected_value[n],
                self.score[n],
                self.chosen_probability[n],
                n in self.withheld,
            )
            for n in range(len(self.action_ids))
        )
