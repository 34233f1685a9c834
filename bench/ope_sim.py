"""Off-policy evaluation on the simulator: the value of a *random eligible action* policy,
estimated from the logs of the real engine (Thompson sampling, every decision's
propensity logged), against that policy's own value when it runs in the same world.

Run A: onevoice decides in the simulated world with exploration on (``explore_share`` 1,
no controls), logging each decision's propensity. Run B: the same world and seed with
every decision in the ``random_action`` component arm (``component_share`` 1): a uniform
choice among the eligible actions, whose on-policy value is its mean reward per decision
(1 when the customer accepted). From A alone, the evaluated policy's probability of the
action the engine showed is 1/(eligible actions) — IPS and SNIPS estimate B's value with
95% intervals (:mod:`onevoice.domain.measure.ope`). As with the Open Bandit Dataset, the
two runs see different customers' states (contacts change what follows), so the
on-policy value is that of a neighbouring world, not of A's very decisions.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from onevoice.domain.measure.ope import ips, snips
from onevoice.services.decision_log import logged_candidates
from onevoice.sim.policies.onevoice import OnevoicePolicy
from onevoice.sim.runner import WorldConfig, simulate

END = datetime(2026, 6, 1, tzinfo=UTC)
BASE = {"holdout_share": 0.0, "control_share": 0.0, "propensity_draws": 100}


def _run(config: WorldConfig, settings: dict[str, Any], folder: Path, name: str) -> Path:
    path = folder / f"{name}.db"
    policy = OnevoicePolicy(database_url=str(path), settings={**BASE, **settings}, seed=config.seed)
    try:
        simulate(config, policy)
    finally:
        policy.close()
    return path


def _log(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per decision: reward (accepted), logged propensity, evaluated policy's probability."""
    with sqlite3.connect(path) as db:
        accepted = {d for (d,) in db.execute(
            "SELECT decision_id FROM responses WHERE outcome = 'accept'")}  # fmt: skip
        rows = db.execute("SELECT decision_id, chosen, body FROM decisions").fetchall()
    reward, logged, target = [], [], []
    for decision_id, chosen, body in rows:
        record = orjson.loads(body)
        eligible = [c for c in logged_candidates(record) if "probability" in c]
        shown = orjson.loads(chosen)
        reward.append(1.0 if decision_id in accepted else 0.0)
        logged.append(float(record["propensity"]))
        if not eligible:
            target.append(1.0)  # nothing eligible: both policies do nothing
        else:
            target.append(1.0 / len(eligible) if shown else 0.0)
    return np.array(reward), np.array(logged), np.array(target)


def _value(path: Path) -> float:
    with sqlite3.connect(path) as db:
        (decisions,) = db.execute("SELECT COUNT(*) FROM decisions").fetchone()
        (accepted,) = db.execute(
            "SELECT COUNT(DISTINCT decision_id) FROM responses WHERE outcome = 'accept'"
        ).fetchone()
    return float(accepted) / max(int(decisions), 1)


def ope_rows(*, quick: bool = False) -> list[dict[str, Any]]:
    seeds, customers, days = (1, 1_000, 21) if quick else (4, 2_000, 28)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for seed in range(seeds):
            config = WorldConfig(customers=customers, days=days, seed=seed, end=END)
            logged_run = _run(config, {"explore_share": 1.0}, folder, f"a{seed}")
            everything_random = {"component_share": 1.0, "component_arms": "random_action"}
            random_run = _run(config, everything_random, folder, f"b{seed}")
            reward, logged, target = _log(logged_run)
            truth = _value(random_run)
            for estimate in (ips(reward, logged, target), snips(reward, logged, target)):
                covered = estimate.lower <= truth <= estimate.upper
                rows.append({
                    "benchmark": f"OPE on the simulator, seed {seed}: {estimate.estimator}",
                    "result": f"{estimate.value:.4f} [{estimate.lower:.4f}, {estimate.upper:.4f}]",
                    "target": f"on-policy {truth:.4f}",
                    "note": f"{'covers' if covered else 'misses'}; relative error "
                            f"{abs(estimate.value - truth) / truth:.0%}; {len(reward):,} logged "
                            f"decisions",
                })  # fmt: skip
    took = time.perf_counter() - started
    note = f"{customers:,} customers × {days} days per run"
    rows.append({"benchmark": "… time", "result": f"{took:.0f} s", "target": "", "note": note})
    return rows


if __name__ == "__main__":
    for row in ope_rows(quick=True):
        print(row)
