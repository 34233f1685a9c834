"""Decide benchmarks: latency in-process and over HTTP, and decisions per second.

* in-process — 100,000 profiles built through the Collector and Processor, a catalog of
  200 actions with CEL eligibility rules; ``ov.decisions.decide`` (profile look-up,
  contact log, arbitration, the decision log write) timed call by call: p50/p99, and the
  arbitration alone (the domain ``decide``) inside the same calls; with the garbage
  collector set as ``serve`` sets it (:mod:`onevoice.ops.heap`).
* HTTP — ``onevoice serve`` (one process) on that database; a client process sends
  ``POST /v1/decide`` open-loop at 500 per second: p50/p99 from each request's scheduled
  start; the same at :data:`LIGHT_RATE` per second, which one process keeps up with (the
  latency of one request without a queue). Then as fast as 8 connections allow:
  decisions/s of one process. Each phase asks for customers no earlier phase asked for
  (a customer decided a moment ago has an open conversation, honoured by a cheaper
  decide), and the server is left :data:`SETTLE_SECONDS` after it starts.

Each is measured with the default log, written behind the answer (a background writer
commits each ``ONEVOICE_DECISION_LOG_WRITE_MS`` window's decisions in one durable
transaction), and with the log written first (``ONEVOICE_DECISION_LOG_WRITE_MS=0``: each
decision on disk before the answer; concurrent ones share an fsync); in-process also with
the log written first and ``ONEVOICE_DECISION_LOG_FLUSH_MS`` = :data:`FLUSH_MS`
(committed before the answer, on disk within that window).

``--quick`` shrinks every size. Targets on the reference 2-core machine: in-process p99
≤ 1 ms, HTTP p99 ≤ 5 ms at 500 decisions/s.
"""

from __future__ import annotations

import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.bench_listening_post import ROOT, _machine, _row, _served
from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from onevoice.ops.heap import tune_long_running
from onevoice.services import decisions as decisions_module

Row = dict[str, Any]
CHANNELS = ("web", "app", "email", "call_centre")
RULES = (
    "profile.orders >= {a}",
    "'{channel}' in profile.channels",
    "profile.lifetime_value > {v}.0",
    "has(context.page) && context.page == 'p{a}'",
    "profile.lifecycle in ['customer', 'repeat']",
    "has(profile.traits.plan) && profile.traits.plan == '{plan}'",
    "",
)
PLANS = ("basic", "plus", "gold")
#: The deferred-flush window measured beside the log written first.
FLUSH_MS = 50
WRITTEN_FIRST = "log written first"
#: A request rate one process sustains on the reference machine (latency without queueing).
LIGHT_RATE = 50
#: Seconds a started server is left before it is measured: `serve` answers as soon as it
#: listens, while its processing child is still starting (~1 s of CPU in its first 1.5 s).
SETTLE_SECONDS = 3.0


def catalog(size: int, seed: int = 3) -> dict[str, Any]:
    """``size`` actions over four channels, rules drawn from :data:`RULES`."""
    rng = random.Random(seed)
    actions = []
    for n in range(size):
        rule = RULES[n % len(RULES)].format(
            a=rng.randint(0, 9),
            channel=rng.choice(("web", "app")),
            v=rng.randint(10, 300),
            plan=rng.choice(PLANS),
        )
        channels = CHANNELS if n % 3 else ("web", "app")
        treatments: dict[str, dict[str, str]] = {}
        for channel in channels:
            if channel == "email":
                treatments[channel] = {"subject": f"Offer {n}", "body": "…"}
            elif channel == "call_centre":
                treatments[channel] = {"script": f"Mention offer {n}"}
            else:
                treatments[channel] = {"title": f"Offer {n}", "body": "…"}
        actions.append(
            {
                "id": f"offer-{n:03d}",
                "purpose": "service" if n % 10 == 0 else "marketing",
                "value": rng.randint(5, 200),
                "cost": round(rng.uniform(0.01, 1.0), 2),
                "weight": rng.choice((0.5, 1.0, 1.0, 2.0)),
                "treatments": treatments,
                "eligibility": rule,
            }
        )
    return {"actions": actions}


def _people(count: int, seed: int = 11) -> list[list[dict[str, Any]]]:
    """Per person: an identify (consent, time zone, plan), some page views, some orders."""
    rng = random.Random(seed)
    zones = ("Europe/London", "America/New_York", "Asia/Tokyo", "UTC")
    people = []
    for n in range(count):
        user = f"d{n}"
        traits = {
            "consent": {"marketing": {"*": rng.random() < 0.8}},
            "timezone": rng.choice(zones),
            "plan": rng.choice(PLANS),
        }
        calls: list[dict[str, Any]] = [{"type": "identify", "userId": user, "traits": traits}]
        calls.append(
            {
                "type": "page",
                "userId": user,
                "name": f"p{rng.randint(0, 9)}",
                "context": {"channel": rng.choice(("web", "app"))},
            }
        )
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            calls.append(
                {
                    "type": "track",
                    "userId": user,
                    "event": "Order Completed",
                    "properties": {"revenue": rng.randint(5, 200)},
                }
            )
        people.append(calls)
    return people


def _load(database: str, people: int, actions: int) -> float:
    began = time.perf_counter()
    ov = bootstrap(Settings(database_url=database, sqlite_synchronous="OFF"))
    try:
        ov.actions.load(catalog(actions))
        everyone = _people(people)
        for start in range(0, people, 1000):
            chunk = [call for person in everyone[start : start + 1000] for call in person]
            result = ov.collector.collect(chunk, source="bench")
            if result.rejected:
                raise RuntimeError(f"the workload was rejected: {result.rejected[0]}")
            ov.processor.run_until_idle()
    finally:
        ov.close()
    return time.perf_counter() - began


def _on_disk(path: Path) -> None:
    """Flush a file just written, so that its write-back (~300 MB, built with
    ``synchronous=OFF`` or copied) does not run during the phase measured next."""
    with open(path, "rb+") as written:
        os.fsync(written.fileno())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _in_process(database: str, people: int, calls: int, **log: float) -> dict[str, Any]:
    """``log``: the decision log's settings (``decision_log_write_ms``, ``…_flush_ms``)."""
    core: list[float] = []
    arbitrate = decisions_module.decide

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return arbitrate(*args, **kwargs)
        finally:
            core.append(time.perf_counter() - began)

    ov = bootstrap(Settings(database_url=database, **log))  # type: ignore[arg-type]
    thresholds = gc.get_threshold()
    tune_long_running()  # the collector settings of `serve`, undone below
    rng = random.Random(5)
    total: list[float] = []
    chosen = 0
    decisions_module.decide = timed  # type: ignore[assignment]
    wall = cpu = 0.0
    try:
        for n in range(calls + 200):
            if n == 200:  # after the warm-up: the loop's time and CPU, every thread's
                wall, cpu = time.perf_counter(), _cpu()
            customer = f"userId:d{rng.randrange(people)}"
            began = time.perf_counter()
            decided = ov.decisions.decide(customer, CHANNELS[n % 4], {"page": f"p{n % 10}"})
            if n >= 200:
                total.append(time.perf_counter() - began)
                chosen += bool(decided.decision.actions)
    finally:
        decisions_module.decide = arbitrate  # type: ignore[assignment]
        ov.close()  # a log written behind is committed here: counted in rate and CPU
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    core = core[200:]
    return {
        "p50_ms": 1000 * _percentile(total, 0.5),
        "p99_ms": 1000 * _percentile(total, 0.99),
        "core_p50_ms": 1000 * _percentile(core, 0.5),
        "core_p99_ms": 1000 * _percentile(core, 0.99),
        "rate": len(total) / wall,
        "cpu_ms": 1000 * cpu / len(total),
        "chosen": chosen / len(total),
    }


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended — the decision
    log's process (``store/log_process.py``) is one, and ends when the store closes (so
    its CPU for the warm-up's decisions is counted too: a slight over-count)."""
    spent = os.times()
    return spent.user + spent.system + spent.children_user + spent.children_system


def _client(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench._decide_client", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench client failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return result


def decide(options: dict[str, Any]) -> list[Row]:
    quick = bool(options.get("quick"))
    people, actions, calls, seconds = (5_000, 200, 1_000, 3) if quick else (100_000, 200, 5_000, 10)
    rows: list[Row] = []
    deferred = f"log flushed within {FLUSH_MS} ms"
    with tempfile.TemporaryDirectory() as tmp:
        pristine = Path(tmp) / "decide.db"
        loaded = _load(str(pristine), people, actions)
        _on_disk(pristine)
        ov = bootstrap(Settings(database_url=str(pristine)))
        try:
            key = ov.keys.create("server", "bench")[1]
        finally:
            ov.close()
        copies = iter(range(1, 100))

        def fresh() -> str:
            """A copy of the loaded database: each phase starts with no decision logged.

            On disk before the phase begins: left in the page cache, its ~300 MB would be
            written back during the phase — all at once by the first checkpoint's fsync —
            slowing the log's own fsyncs, which a database in service does not pay."""
            copy = Path(tmp) / f"decide-{next(copies)}.db"
            shutil.copyfile(pristine, copy)
            _on_disk(copy)
            return str(copy)

        measured = _in_process(fresh(), people, calls)
        setup = (
            f"{people:,} profiles (built in {loaded:.0f} s), {actions} actions with CEL rules, "
            f"SQLite synchronous=FULL (the default); {measured['chosen']:.0%} of decisions "
            f"chose an action; {_machine()}"
        )
        rows.append(_row("decide in-process p50", f"{measured['p50_ms']:.2f} ms", "", setup))
        rows.append(
            _row(
                "decide in-process p99",
                f"{measured['p99_ms']:.2f} ms",
                "p99 ≤ 1 ms",
                f"whole use case: profile, contact log, arbitration, decision queued for the "
                f"log's writer (on disk within {Settings().decision_log_write_ms:g} ms); "
                f"arbitration alone p50 {measured['core_p50_ms']:.2f} ms, "
                f"p99 {measured['core_p99_ms']:.2f} ms",
            )
        )
        rows.append(
            _row(
                "decisions/s in-process (1 thread)",
                f"{measured['rate']:,.0f}",
                "",
                f"CPU {measured['cpu_ms']:.2f} ms per decision, the log's writer included",
            )
        )
        for label, log in (
            (WRITTEN_FIRST, {"decision_log_write_ms": 0}),
            (
                f"{WRITTEN_FIRST}, {deferred}",
                {"decision_log_write_ms": 0, "decision_log_flush_ms": FLUSH_MS},
            ),
        ):
            other = _in_process(fresh(), people, calls, **log)
            rows.append(
                _row(
                    f"decide in-process p50 / p99, {label}",
                    f"{other['p50_ms']:.2f} / {other['p99_ms']:.2f} ms",
                    "p99 ≤ 1 ms",
                    f"committed before the answer; arbitration alone p50 "
                    f"{other['core_p50_ms']:.2f} ms, p99 {other['core_p99_ms']:.2f} ms; "
                    f"{other['rate']:,.0f} decisions/s, CPU {other['cpu_ms']:.2f} ms each",
                )
            )
        # each phase asks for customers of its own: a customer decided a moment earlier has
        # an open conversation, which is honoured (a cheaper decide) rather than decided anew
        everyone = random.Random(9).sample(range(people), people)
        tenth = people // 10
        parts = {"light": (0, tenth), "paced": (tenth, 5 * tenth), "flood": (5 * tenth, people)}
        refs = {}
        for phase, (start, end) in parts.items():
            refs[phase] = Path(tmp) / f"refs-{phase}.txt"
            refs[phase].write_text("\n".join(f"userId:d{n}" for n in everyone[start:end]))
        served: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
        for label, extra in (
            ("", {}),
            (f", {WRITTEN_FIRST}", {"ONEVOICE_DECISION_LOG_WRITE_MS": "0"}),
        ):
            with _served(fresh(), env_extra=extra) as url:
                time.sleep(SETTLE_SECONDS)
                served[label] = (
                    _client("paced", url, key, str(refs["light"]), str(LIGHT_RATE), str(seconds)),
                    _client("paced", url, key, str(refs["paced"]), "500", str(seconds)),
                    _client("flood", url, key, str(refs["flood"]), "8", str(seconds)),
                )
    for label, (light, paced, flood) in served.items():
        rows.append(
            _row(
                f"decide HTTP p50 / p99 at {LIGHT_RATE}/s{label}",
                f"{light['p50_ms']:.2f} / {light['p99_ms']:.2f} ms",
                "",
                f"a rate one process keeps up with here: the latency of a request without a "
                f"queue; max {light['max_ms']:.1f} ms"
                + (f"; failures {light['failures']}" if light["failures"] else ""),
            )
        )
        rows.append(
            _row(
                f"decide HTTP p50 at 500/s{label}",
                f"{paced['p50_ms']:.2f} ms",
                "",
                f"{paced['requests']:,} open-loop POST /v1/decide from a client process, "
                f"achieved {paced['rate']:.0f}/s, max {paced['max_ms']:.1f} ms"
                + (f"; failures {paced['failures']}" if paced["failures"] else ""),
            )
        )
        rows.append(
            _row(f"decide HTTP p99 at 500/s{label}", f"{paced['p99_ms']:.2f} ms", "p99 ≤ 5 ms", "")
        )
        rows.append(
            _row(
                f"decisions/s over HTTP (one process){label}",
                f"{flood['rate']:,.0f}",
                "",
                f"8 connections for {seconds} s; p50 {flood['p50_ms']:.1f} ms, "
                f"p99 {flood['p99_ms']:.1f} ms"
                + (f"; failures {flood['failures']}" if flood["failures"] else ""),
            )
        )
    return rows


SUITES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {"decide": decide}
