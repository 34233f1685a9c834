"""Simulated events pass the real collector and become profiles, on every backend."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.cli import main
from onevoice.config import Settings
from onevoice.demo import load_demo, play_demo
from onevoice.sim import simulate
from onevoice.sim.export import write_events
from onevoice.sim.feed import feed, process
from onevoice.sim.policies import StaticRules
from onevoice.sim.segment import Identities, people_tag
from tests.sim.conftest import END, small


def test_a_world_is_collected_without_rejections_and_only_once(ov: Onevoice) -> None:
    world = simulate(small(customers=250, days=10), StaticRules())
    fed = feed(world, ov.collector, batch=700)
    assert (fed.rejected, fed.errors) == (0, [])
    assert fed.accepted == len(world.rows)
    assert process(ov.processor) == fed.accepted
    again = feed(world, ov.collector)
    assert (again.accepted, again.duplicates) == (0, len(world.rows))
    ids = Identities(people_tag(world.config.seed, world.config.customers))
    known = int(world.rows.customer[world.rows.login][0])
    profile = ov.profiles.get(f"userId:{ids.user_id(known)}")
    assert profile is not None


def test_the_demo_fills_an_empty_store_and_leaves_a_full_one(ov: Onevoice) -> None:
    lines: list[str] = []
    load_demo(ov, lines.append, config=small(customers=150, days=7))
    events = ov.store.count_events()
    assert events > 0 and any("demo world ready" in line for line in lines)
    assert len(ov.actions.list()) == 5  # decide has Harbour Bank's offers to choose from
    # the bank's consent register came in from its CRM: marketing may reach who agreed
    consents = [p.state.traits["consent"].value for p in _profiles(ov)]
    assert consents and any(c["marketing"]["email"] for c in consents)
    assert not all(c["marketing"]["email"] for c in consents)
    load_demo(ov, lines.append)
    assert ov.store.count_events() == events
    assert "not loading" in lines[-1]


def test_the_played_demo_leaves_profiles_a_learned_model_and_a_decision_log(
    database_url: str,
) -> None:
    """``serve --demo``: onevoice decided for the bank throughout, so the reports have a
    log to read and the engine that serves next starts from what was learned."""
    settings = Settings(database_url=database_url, secret_key="test-secret", processing="thread")
    lines: list[str] = []
    assert play_demo(settings, lines.append, config=small(customers=200, days=7))
    assert any("demo world ready" in line for line in lines)
    ov = bootstrap(settings)
    try:
        assert ov.store.count_profiles() > 150
        assert len(ov.actions.list()) == 5
        assert not ov.decisions.learner.version.endswith("@0")  # it learned from responses
        log = ov.reports.log(END - timedelta(days=8), END + timedelta(days=1))
        assert log.subject.size > 100  # the decisions made in the simulated week
        assert ov.reports.roi(END - timedelta(days=8), END + timedelta(days=1))
        decided = ov.decisions.decide(f"profile:{_profiles(ov)[0].profile_id}", "web")
        assert decided.decision.decision_id
    finally:
        ov.close()
    assert not play_demo(settings, lines.append, config=small(customers=200, days=7))
    assert "not loading" in lines[-1]


def test_simulate_writes_json_lines_and_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "events.jsonl", tmp_path / "truth"
    result = CliRunner().invoke(
        main,
        ["simulate", "--customers", "120", "--days", "5", "--seed", "3", "--end",
         "2026-03-01", "--out", str(out), "--truth", str(truth), "--truth-format", "csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first = orjson.loads(out.read_text().splitlines()[0])
    assert first["messageId"].startswith("sim-") and first["context"]["channel"]
    assert (truth / "episodes.csv").exists()


def test_simulate_refuses_an_end_in_the_future() -> None:
    result = CliRunner().invoke(main, ["simulate", "--end", "2999-01-01", "--out", "x.jsonl"])
    assert result.exit_code != 0 and "future" in result.output


def test_simulate_collects_into_a_database(tmp_path: Path) -> None:
    database = str(tmp_path / "sim.db")
    args = ["simulate", "--customers", "80", "--days", "3", "--database", database]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, args)
    assert "collected 0 new events" in again.output


def test_written_events_are_what_the_collector_accepts(tmp_path: Path) -> None:
    world = simulate(small(customers=100, days=4))
    path = tmp_path / "events.jsonl"
    assert write_events(world, path) == len(world.rows)
    from datetime import UTC, datetime

    from onevoice.domain.events import parse_event

    now = datetime.now(UTC)
    for line in path.read_text().splitlines():
        parse_event(orjson.loads(line), received_at=now)


def _profiles(ov: Onevoice) -> list[Any]:
    """Every stored profile (the demo world is small)."""
    with ov.store._read() as cur:  # type: ignore[attr-defined]
        cur.execute("SELECT profile_id FROM profiles")
        ids = [row[0] for row in cur.fetchall()]
    found = [ov.store.get_profile(i) for i in ids]
    return [p for p in found if p is not None and "consent" in p.state.traits]
