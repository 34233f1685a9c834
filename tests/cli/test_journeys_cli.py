"""``onevoice journeys``: tables and CSV over the database and over an export file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from onevoice.bootstrap import bootstrap
from onevoice.cli import main
from onevoice.config import Settings
from onevoice.journeys.frame import from_rows, row_of
from onevoice.sim.journey_world import journey_world


def _database(tmp_path: Path) -> str:
    url = str(tmp_path / "j.db")
    ov = bootstrap(Settings(database_url=url))
    try:
        ov.collector.collect(journey_world(40, seed=3).calls)
    finally:
        ov.close()
    return url


def test_map_csv_lists_the_transitions(tmp_path: Path) -> None:
    url = _database(tmp_path)
    result = CliRunner().invoke(main, ["journeys", "map", "--database", url, "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["source", "target", "count", "share", "median_seconds"]
    assert sum(int(r["count"]) for r in rows) > 0


def test_friction_and_gap_print_tables(tmp_path: Path) -> None:
    url = _database(tmp_path)
    runner = CliRunner()
    friction = runner.invoke(
        main, ["journeys", "friction", "--database", url, "--to", "2026-06-01"]
    )
    assert friction.exit_code == 0, friction.output
    assert "channel_hopping" in friction.stdout and "dead_end" in friction.stdout
    gap = runner.invoke(main, ["journeys", "gap", "--database", url, "--csv"])
    assert gap.exit_code == 0, gap.output
    signs = [r["sign"] for r in csv.DictReader(io.StringIO(gap.stdout))]
    assert signs[0] == "inconsistent_responses" and len(signs) == 5


def test_journeys_read_a_parquet_export(tmp_path: Path) -> None:
    world = journey_world(30, seed=5)
    frame = from_rows(
        row_of(c["userId"], {**c, "channel": c["context"]["channel"]}) for c in world.calls
    )
    path = tmp_path / "events.parquet"
    frame.write_parquet(path)
    result = CliRunner().invoke(
        main, ["journeys", "map", "--file", str(path), "--csv", "--part", "nodes"]
    )
    assert result.exit_code == 0, result.output
    nodes = pl.read_csv(io.StringIO(result.stdout))
    assert nodes.get_column("count").sum() == sum(len(s) for _u, s, _f in world.journeys)


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["journeys", "gap", "--file", str(tmp_path / "no.parquet")])
    assert result.exit_code == 2
    assert "error (file)" in result.output


def test_the_journey_gap_comes_from_the_setting_or_the_option(tmp_path: Path) -> None:
    url = _database(tmp_path)
    runner = CliRunner()

    def journeys(*extra: str, env: dict[str, str] | None = None) -> int:
        args = ["journeys", "map", "--database", url, "--csv", "--part", "ends", *extra]
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, result.output
        return int(pl.read_csv(io.StringIO(result.stdout)).get_column("journeys").sum())

    default = journeys()
    # repeat callers call again two days later: one journey each when the gap is 3 days
    assert journeys("--gap-hours", "72") < default
    assert journeys(env={"ONEVOICE_JOURNEY_GAP_HOURS": "72"}) == journeys("--gap-hours", "72")
