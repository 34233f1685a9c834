"""Designed vs. real: how many journeys follow the journey the business drew, where they
leave it, and which undesigned paths carry the most customers.

A journey *enters* the design when it reaches the design's first step; from there on it
*follows* it when its steps are exactly the designed ones, in order, up to the last (a
step repeated in a row counts once); it *completes* it when the designed steps appear in
order, whatever came between. A journey that does not follow *leaves* after the last
designed step it reached in order, to the step it took instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from onevoice.domain.journeys import DesignedJourney
from onevoice.journeys.map import ARROW

ENDED = "(journey ended)"


@dataclass(frozen=True, slots=True)
class Conformance:
    design: DesignedJourney
    journeys: int  # all journeys looked at
    entered: int
    followed: int
    completed: int
    leaves: pl.DataFrame  # after_step, to_step, journeys
    undesigned: pl.DataFrame  # path, journeys, customers

    def to_json(self) -> dict[str, Any]:
        entered = max(self.entered, 1)
        return {
            "design": {
                "name": self.design.name,
                "steps": [
                    {"event": s.event, "channel": s.channel, "reason": s.reason}
                    for s in self.design.steps
                ],
            },
            "journeys": self.journeys,
            "entered": self.entered,
            "followed": self.followed,
            "completed": self.completed,
            "follow_share": round(self.followed / entered, 4),
            "complete_share": round(self.completed / entered, 4),
            "leaves": self.leaves.to_dicts(),
            "undesigned_paths": self.undesigned.to_dicts(),
        }


def _index(design: DesignedJourney) -> pl.Expr:
    expr: pl.Expr = pl.lit(-1, dtype=pl.Int32)
    for number, step in reversed(list(enumerate(design.steps))):
        condition = pl.col("event") == step.event
        if step.channel:
            condition &= pl.col("channel") == step.channel
        if step.reason:
            condition &= pl.col("reason") == step.reason
        expr = pl.when(condition.fill_null(False)).then(pl.lit(number, pl.Int32)).otherwise(expr)
    return expr.alias("designed")


def check(steps: pl.LazyFrame, design: DesignedJourney, *, top: int = 10) -> Conformance:
    """Conformance of the journeys in ``steps`` to ``design``."""
    last = len(design.steps) - 1
    per_journey = (
        steps.with_columns(_index(design))
        .group_by("journey", maintain_order=True)
        .agg(pl.col("customer").first(), pl.col("designed"), pl.col("step"))
        .collect()
    )
    total = per_journey.height
    entering = per_journey.filter(pl.col("designed").list.contains(0))
    followed = completed = 0
    leaves: Counter[tuple[str, str]] = Counter()
    undesigned: dict[str, tuple[int, set[Any]]] = {}
    names = [f"{s.channel + ':' if s.channel else ''}{s.event}" for s in design.steps]
    for customer, designed, labels in entering.select("customer", "designed", "step").iter_rows():
        begin = designed.index(0)
        seq, ids = _fold(designed[begin:], labels[begin:])
        strict, left_after, left_to, progress = _walk(seq, ids, last)
        if strict:
            followed += 1
        if progress >= last:
            completed += 1
        if not strict:
            leaves[(names[left_after], left_to or ENDED)] += 1
            path = ARROW.join(ids[:12]) + (ARROW + "…" if len(ids) > 12 else "")
            count, who = undesigned.get(path, (0, set()))
            who.add(customer)
            undesigned[path] = (count + 1, who)
    leave_rows = [
        {"after_step": after, "to_step": to, "journeys": n}
        for (after, to), n in leaves.most_common(top)
    ]
    ranked = sorted(undesigned.items(), key=lambda item: (-len(item[1][1]), -item[1][0], item[0]))
    path_rows = [
        {"path": path, "journeys": n, "customers": len(who)} for path, (n, who) in ranked[:top]
    ]
    return Conformance(
        design,
        total,
        entering.height,
        followed,
        completed,
        pl.DataFrame(
            leave_rows, schema={"after_step": pl.Utf8, "to_step": pl.Utf8, "journeys": pl.Int64}
        ),
        pl.DataFrame(
            path_rows, schema={"path": pl.Utf8, "journeys": pl.Int64, "customers": pl.Int64}
        ),
    )


def _fold(designed: list[int], labels: list[str]) -> tuple[list[int], list[str]]:
    """Consecutive steps that match the same designed step count once."""
    seq, ids = [designed[0]], [labels[0]]
    for idx, label in zip(designed[1:], labels[1:], strict=True):
        if idx >= 0 and idx == seq[-1]:
            continue
        seq.append(idx)
        ids.append(label)
    return seq, ids


def _walk(seq: list[int], ids: list[str], last: int) -> tuple[bool, int, str | None, int]:
    """(followed strictly, designed step it left after, step it left to, steps reached)."""
    progress, strict, left_after, left_to = 0, True, 0, None
    for idx, label in zip(seq[1:], ids[1:], strict=True):
        if progress == last:
            break
        if idx == progress + 1:
            progress += 1
        elif strict:
            strict, left_after, left_to = False, progress, label
    if strict and progress < last:
        strict, left_after = False, progress
    return strict, left_after, left_to, progress
