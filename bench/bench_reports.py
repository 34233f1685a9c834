"""Reports benchmark: every report over 10,000,000 logged decisions (target ≤ 30 s), and
the coverage of the lift and ROI intervals over repeated seeded worlds.

``reports``: the decision log is generated as columns (1,000,000 customers, 28 days, the
synthetic world of :mod:`onevoice.sim.decision_logs`), then each report is computed and
timed; a second row reads a real decision log out of SQLite (decisions made by the real
decide path) into columns, the step the API and CLI add before the same computation.

``coverage``: see :mod:`bench.coverage` (slow: it runs the simulator many times).
``ope-sim``: off-policy estimates against the evaluated policy's value, :mod:`bench.ope_sim`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from onevoice.domain.measure import budget, reports
from onevoice.sim.decision_logs import synthetic_log

Row = dict[str, Any]


def _timed(label: str, work: Callable[[], Any], timings: list[tuple[str, float]]) -> Any:
    started = time.perf_counter()
    result = work()
    timings.append((label, time.perf_counter() - started))
    return result


def bench_reports(options: dict[str, Any]) -> list[Row]:
    decisions = 1_000_000 if options.get("quick") else 10_000_000
    started = time.perf_counter()
    log = synthetic_log(decisions, customers=decisions // 10, days=28, seed=1)
    generated = time.perf_counter() - started
    timings: list[tuple[str, float]] = []
    for by in ("action", "program", "channel", "segment"):
        _timed(f"lift by {by}", lambda by=by: reports.lift_report(log, by=by), timings)
    for by in ("channel", "segment"):
        _timed(
            f"lift vs holdout by {by}",
            lambda by=by: reports.lift_report(log, by=by, against="holdout"),
            timings,
        )
    _timed("roi by program", lambda: reports.roi_report(log), timings)
    _timed("roi vs holdout", lambda: reports.roi_report(log, "all", "holdout"), timings)
    _timed("budget (4 programs, 200 bootstrap fits each)",
           lambda: budget.budget_report(log), timings)  # fmt: skip
    for by in ("action", "channel"):
        _timed(f"respect by {by}", lambda by=by: reports.respect_report(log, by=by), timings)
    _timed("components", lambda: reports.components_report(log), timings)
    total = sum(seconds for _label, seconds in timings)
    rows: list[Row] = [
        {
            "benchmark": f"reports over {decisions:,} logged decisions (all of them)",
            "result": f"{total:.1f} s",
            "target": "≤ 30 s" if decisions == 10_000_000 else "(quick size)",
            "note": f"columns generated in {generated:.1f} s; "
            + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in timings),
        }
    ]
    rows.append(_from_database(2_000 if options.get("quick") else 20_000))
    return rows


def _from_database(customers: int) -> Row:
    """Decide for ``customers`` through the real path into SQLite, then time reading the
    log back into columns (with their orders and responses)."""
    from onevoice.bootstrap import bootstrap
    from onevoice.config import Settings
    from onevoice.sim.policies.onevoice import harbour_bank_catalog

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"{folder}/bench.db", secret_key="bench",
                            sqlite_synchronous="OFF", propensity_draws=20)  # fmt: skip
        ov = bootstrap(settings)
        try:
            ov.actions.load(harbour_bank_catalog())
            consent = {"consent": {"marketing": {"*": True}}}
            calls = [{"type": "identify", "userId": f"b{n}", "traits": consent}
                     for n in range(customers)]  # fmt: skip
            for begin in range(0, len(calls), 2_000):
                ov.collector.collect(calls[begin : begin + 2_000], source="bench")
            ov.processor.run_until_idle()
            interest = {"mortgage": 1.0, "credit_card": 1.0, "savings": 1.0, "leaving": 1.0}
            bought = {"mortgage": False, "credit_card": False, "savings": False}
            context = {"interest": {**interest, "card_problem": 0.0}, "bought": bought}
            for n in range(customers):
                ov.decisions.decide(f"userId:b{n}", "web", context)
            now = ov.reports.period()[1]
            started = time.perf_counter()
            log = ov.reports.log(now - timedelta(days=1), now + timedelta(seconds=1))
            read = time.perf_counter() - started
        finally:
            ov.close()
    return {
        "benchmark": f"… reading {len(log):,} decisions from SQLite into columns",
        "result": f"{read:.2f} s ({len(log) / read:,.0f} decisions/s)",
        "target": "",
        "note": "fields extracted by SQLite's JSON functions: the API's reports add this",
    }


def bench_coverage(options: dict[str, Any]) -> list[Row]:
    from bench.coverage import coverage_rows

    return coverage_rows(quick=bool(options.get("quick")))


def bench_ope_sim(options: dict[str, Any]) -> list[Row]:
    from bench.ope_sim import ope_rows

    return ope_rows(quick=bool(options.get("quick")))


SUITES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "reports": bench_reports,
    "coverage": bench_coverage,
    "ope-sim": bench_ope_sim,
}
