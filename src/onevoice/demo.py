"""The demo world loaded by ``onevoice serve --demo`` (replaced by the simulator's world)."""

from __future__ import annotations

from collections.abc import Callable

from onevoice.bootstrap import Onevoice


def load_demo(ov: Onevoice, echo: Callable[[str], None]) -> None:
    """Fill an empty database with demo customers; leave a non-empty one alone."""
    if ov.store.count_events():
        echo("the database already holds events; not loading the demo world")
        return
    echo("the demo world arrives with the simulator")
