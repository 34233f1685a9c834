"""Feeding a world through the real collect path, the way a brand's tracking would.

The simulator does not write to the store behind the collector's back: every call goes
through :meth:`Collector.collect` (validation, deduplication by ``messageId``, durable
append) and then the processor files it under a person, exactly as live traffic is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from onevoice.services.collect import Collector
from onevoice.services.processing import Processor
from onevoice.sim.runner import World
from onevoice.sim.segment import calls

SOURCE = "simulator"


@dataclass(slots=True)
class Fed:
    """What the collector made of a world."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)  # the first few rejections


def feed(
    world: World,
    collector: Collector,
    *,
    batch: int = 2_000,
    on_batch: Callable[[int], None] | None = None,
) -> Fed:
    """Collect every call of ``world`` in batches; nothing is processed yet."""
    fed = Fed()
    for chunk in calls(world, chunk=batch):
        result = collector.collect(chunk, source=SOURCE)
        fed.accepted += result.accepted
        fed.duplicates += result.duplicates
        fed.rejected += len(result.rejected)
        for rejection in result.rejected[: max(0, 5 - len(fed.errors))]:
            error = rejection.error
            fed.errors.append(f"{chunk[rejection.index]['messageId']}: {error.message}")
        if on_batch is not None:
            on_batch(len(chunk))
    return fed


def process(processor: Processor, *, on_step: Callable[[int], None] | None = None) -> int:
    """Process every waiting event, reporting each step's count."""
    total = 0
    while (done := processor.step().events) > 0:
        total += done
        if on_step is not None:
            on_step(done)
    return total
