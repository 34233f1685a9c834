"""The demo world of ``onevoice serve --demo``: a small simulated bank.

Two thousand customers over three weeks, a fixed seed (the same world every time); a
database that already holds events is left alone. Two ways to fill it:

* :func:`play_demo` (what ``serve --demo`` does): onevoice itself decides for the bank
  throughout the three weeks — the real decide, respond and learning use cases on the
  serving database, in simulated time (:class:`~onevoice.sim.policies.onevoice.OnevoicePolicy`)
  — so the Studio opens on a real decision log: lift against the holdout and the control
  groups, ROI, what the contact policy refused, a learner that has learned. About thirty
  seconds on a laptop.
* :func:`load_demo`: the same customers played by batch and blast (what most brands do
  today: an engagement gap to show, no decisions), collected through the real collect path
  and processed into profiles, with the bank's consent register synced from its CRM. The
  Studio's browser tests stand on it, with a catalog of their own.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.intent_cli import harbour_bank_intents
from onevoice.sim import WorldConfig, simulate
from onevoice.sim.consent import consent_calls
from onevoice.sim.export import describe
from onevoice.sim.feed import feed, process
from onevoice.sim.policies import BatchAndBlast
from onevoice.sim.policies.onevoice import OnevoicePolicy, harbour_bank_catalog
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


def play_demo(
    settings: Settings, echo: Callable[[str], None], *, config: WorldConfig = DEMO
) -> bool:
    """Fill an empty database with a world onevoice decided for; False (and nothing
    done) when the database already holds events.

    The engine that plays is a second one on the same database, with the simulator's
    clock (decisions, caps and conversations happen in simulated time): open the serving
    engine *after* this returns, so it starts from the catalog, intents and learned
    models the run stored.
    """
    probe = bootstrap(settings)
    try:
        if probe.store.count_events():
            echo("the database already holds events; not loading the demo world")
            return False
    finally:
        probe.close()
    started = time.perf_counter()
    echo(
        f"simulating the demo world with onevoice deciding: {config.customers:,} customers, "
        f"{config.days} days…"
    )
    # the serving settings, with the simulator's speed-up (no fsync per commit: a demo
    # lost to a power cut is loaded again)
    fields = {**_fields(settings), "sqlite_synchronous": "OFF"}
    policy = OnevoicePolicy(database_url=settings.database_url, settings=fields, tag="demo")
    try:

        def day_done(day: int) -> None:
            if (day + 1) % 7 == 0 or day + 1 == config.days:
                echo(f"  day {day + 1}/{config.days}: {policy.decided:,} decisions so far")

        world = simulate(config, policy, on_day=day_done)
        echo(describe(world))
        policy.ov.collector.collect(survey_calls(world), source="survey")
        process(policy.ov.processor)
        events = policy.ov.store.count_events()
    except BaseException:  # Ctrl-C included: the days played so far are stored
        echo(
            f"the demo world did not finish loading: {settings.database_url} holds part of it, "
            "and a database with events is served as it is — delete it to load the whole world"
        )
        raise
    finally:
        policy.close()
    echo(
        f"demo world ready in {time.perf_counter() - started:.0f}s: {events:,} events, "
        f"{policy.decided:,} decisions, {policy.responded:,} actions delivered and their "
        "outcomes recorded; Harbour Bank's "
        "actions and intents loaded (try POST /v1/decide, and the Studio's dashboards)"
    )
    return True


def _fields(settings: Settings) -> dict[str, object]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


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
