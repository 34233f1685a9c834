"""The demo world loaded by ``onevoice serve --demo``: a small simulated bank.

Two thousand customers over three weeks, played by the batch-and-blast policy (what most
brands do today, so the Studio has an engagement gap to show), collected through the real
collect path and processed into profiles, with the bank's consent register synced from its
CRM (so marketing reaches those who agreed to it) — about twenty seconds on a laptop. A fixed seed
makes it the same world every time; a database that already holds events is left alone.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from onevoice.bootstrap import Onevoice
from onevoice.intent_cli import harbour_bank_intents
from onevoice.sim import WorldConfig, simulate
from onevoice.sim.consent import consent_calls
from onevoice.sim.export import describe
from onevoice.sim.feed import feed, process
from onevoice.sim.policies import BatchAndBlast
from onevoice.sim.policies.onevoice import harbour_bank_catalog
from onevoice.sim.surveys import survey_calls

DEMO = WorldConfig(customers=2_000, days=21, seed=2026)


def load_demo(ov: Onevoice, echo: Callable[[str], None], *, config: WorldConfig = DEMO) -> None:
    """Fill an empty database with demo customers; leave a non-empty one alone."""
    if ov.store.count_events():
        echo("the database already holds events; not loading the demo world")
        return
    started = time.perf_counter()
    echo(f"simulating the demo world: {config.customers:,} customers, {config.days} days…")
    world = simulate(config, BatchAndBlast())
    echo(describe(world))
    total = len(world.rows)
    done = [0]

    def collected(n: int) -> None:
        done[0] += n
        if done[0] == total or done[0] % 10_000 < n:
            echo(f"  collected {done[0]:,}/{total:,} events")

    if not ov.store.intent_model_version():  # intents scored as the events are processed
        ov.intents.load_definitions(harbour_bank_intents())
        echo("loaded Harbour Bank's intent definitions (hand rules until `onevoice train intents`)")
    fed = feed(world, ov.collector, on_batch=collected)
    fed.accepted += ov.collector.collect(survey_calls(world), source="survey").accepted
    fed.accepted += ov.collector.collect(consent_calls(world), source="crm").accepted
    echo(f"processing {fed.accepted:,} events into profiles…")
    processed = process(ov.processor)
    echo(
        f"demo world ready: {processed:,} events processed in {time.perf_counter() - started:.0f}s"
    )
    if not ov.actions.list():
        loaded = ov.actions.load(harbour_bank_catalog())
        echo(f"loaded Harbour Bank's action catalog: {len(loaded)} actions (try POST /v1/decide)")


DEMO_USER = "demo"


def demo_login(ov: Onevoice) -> tuple[str, str]:
    """A Studio login for the demo (an admin, to see every page); a new password each start."""
    password = secrets.token_urlsafe(12)
    found = [u for u in ov.staff.list() if u.name == DEMO_USER]
    if found:
        ov.staff.change(found[0].user_id, role="admin", disabled=False, password=password)
    else:
        ov.staff.add(DEMO_USER, "admin", password)
    return DEMO_USER, password
