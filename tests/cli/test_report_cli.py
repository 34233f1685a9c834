"""``onevoice report``: tables, CSV and an HTML chart from a real database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from onevoice.bootstrap import bootstrap
from onevoice.cli import main
from onevoice.config import Settings
from onevoice.domain.measure.reports import LiftRow

OFFER = {
    "id": "card-upgrade", "program": "cards", "purpose": "marketing", "value": 50,
    "cost": 0.1, "treatments": {"web": {"title": "Upgrade", "body": "More cashback"}},
}  # fmt: skip


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("ONEVOICE_SECRET_KEY", raising=False)
    for name in ("HOLDOUT_SHARE", "CONTROL_SHARE", "EXPLORE_SHARE"):
        monkeypatch.delenv(f"ONEVOICE_{name}", raising=False)
    url = str(tmp_path / "reports.db")
    settings = Settings(database_url=url, holdout_share=0.0, control_share=0.5, explore_share=0.0)
    ov = bootstrap(settings)
    try:
        ov.actions.load({"actions": [OFFER]})
        people = [f"c{n}" for n in range(40)]
        ov.collector.collect([{"type": "identify", "userId": u, "traits": {"consent": {
            "marketing": {"*": True}}}} for u in people], source="test")  # fmt: skip
        ov.processor.run_until_idle()
        shown = [u for u in people if ov.decisions.decide(f"userId:{u}", "web").decision.actions]
        orders = [{"type": "track", "userId": u, "event": "Order Completed",
                   "properties": {"revenue": 25}} for u in shown]  # fmt: skip
        ov.collector.collect(orders, source="test")
        ov.processor.run_until_idle()
    finally:
        ov.close()
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_report_lift_prints_a_table_and_csv_with_every_field(database: str) -> None:
    code, out, err = run("report", "lift", "--by", "program", "--database", database)
    assert code == 0, err
    header, _rule, *lines = out.splitlines()
    assert header.split()[:3] == ["key", "outcome", "treated"] and lines[0].startswith("cards")
    code, out, _err = run("report", "lift", "--csv", "--database", database)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(LiftRow.__dataclass_fields__)
    conversion = next(r for r in rows if r["outcome"] == "conversion")
    assert float(conversion["treated_mean"]) == 1.0 and float(conversion["control_mean"]) == 0.0


def test_every_kind_of_report_runs_and_writes_a_chart(database: str, tmp_path: Path) -> None:
    for kind in ("lift", "roi", "budget", "respect", "components"):
        chart = tmp_path / f"{kind}.html"
        code, _out, err = run("report", kind, "--html", str(chart), "--database", database)
        assert code == 0, err
        assert chart.read_text().startswith("<!doctype html>")
    assert "<circle" in (tmp_path / "roi.html").read_text()


def test_a_bad_option_is_one_line_naming_it(database: str) -> None:
    code, _out, err = run("report", "lift", "--since", "yesterday", "--database", database)
    assert code == 2 and "--since" in err
    code, _out, err = run("report", "lift", "--against", "holdout", "--by", "action",
                          "--database", database)  # fmt: skip
    assert code == 2 and "(by)" in err
