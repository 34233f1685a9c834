"""A simulated bank and its customers, with ground truth: demo data and a decision bench.

``simulate(WorldConfig(customers=..., days=..., seed=...), policy)`` runs a deterministic
world; :func:`~onevoice.sim.segment.calls` turns it into Segment calls for the collector;
``world.truth`` holds what really happened. The modules, inside out: ``catalog`` (the
brand), ``population`` (who), ``intents`` (why), ``behaviour`` (what they do),
``response`` (how they answer actions), ``play`` and ``runner`` (the day loop), ``view``
(what a policy may know), ``policies`` (who decides), ``segment`` and ``export`` (out).
"""

from __future__ import annotations

from onevoice.sim.runner import World, WorldConfig, simulate

__all__ = ["World", "WorldConfig", "simulate"]
